"""2,000 deliveries from one alert reach every recipient despite a worker SIGKILLed
mid-fan-out, a Redis restart mid-run and a burst of 429s: nobody is missed, and the only
second copies are those the outbox flags `possible_duplicate` (sends cut off by the kill)."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from handlers.subscriptions import WEATHER_SUBSCRIPTIONS
from hub.events import Event
from hub.services import hub_of
from tests.conftest import SECRETS
from tests.deliveries.fake_bot import TelegramLike, serve
from tests.faults.private_redis import PrivateRedis

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 2000


def spawn(module: str, config: dict[str, str]) -> subprocess.Popen:
    """Run `module` in a child process configured by `config` alone (none of this process's
    HUB_/Redis/Telegram settings leak in); its first line of output tells it is up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "REDIS_URL", "TELEGRAM_"))}
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env={**env, **config},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def start_worker(config: dict[str, str]) -> subprocess.Popen:
    worker = spawn("tests.deliveries.sweeper", config)
    assert worker.stdout.readline().strip() == "ready"
    return worker


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.kill()
        worker.wait(timeout=10)
    worker.stdout.close()


def wait_until(condition, seconds: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_thousand_deliveries_survive_a_kill_a_redis_restart_and_429s(make_app, tmp_path) -> None:  # noqa: ANN001
    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    workers: list[subprocess.Popen] = []
    try:
        with serve(TelegramLike()) as bot:
            config = {
                **SECRETS,
                "REDIS_URL": redis_server.url,
                "HUB_REDIS_PREFIX": "{fanout}:",
                "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
                "HUB_TASKS": "inline",
                "HUB_DRY_RUN": "0",
                "TELEGRAM_BOT_TOKEN": "123:fanout",
                "TELEGRAM_API_URL": bot.url,
                "HUB_TELEGRAM_PER_SECOND": "5000",  # the limiter has its own tests; here: faults
                "HUB_DELIVERY_LEASE_SECONDS": "4",
                "HUB_DELIVERY_RUN_SECONDS": "2",
                "HUB_RETRY_BASE_SECONDS": "0.2",
                "HUB_RETRY_MAX_SECONDS": "1",
                "HUB_MAX_ATTEMPTS": "20",
            }
            hub = hub_of(make_app(config))
            for chat in range(1, RECIPIENTS + 1):
                hub.store.kv_put(
                    WEATHER_SUBSCRIPTIONS,
                    f"telegram:{chat}",
                    {"channel": "telegram", "address": str(chat), "city": "oslo"},
                )
            alert = Event("weather", "weather.alert", "oslo:storm:today", {"city": "oslo", "text": "Storm!"})
            hub.store.record(alert, attention_after=0)  # due now: the worker's sweep runs it

            # GIVEN a worker fanning out, WHEN it is SIGKILLed with sends in flight
            workers.append(start_worker(config))
            wait_until(lambda: len(bot.sent()) >= 400, 60, "the first 400 messages")
            bot.hold()
            assert bot.arrived.wait(10)
            time.sleep(0.3)  # the other sends of the batch reach the fake and hang there too
            workers[0].kill()
            workers[0].wait(timeout=10)
            bot.release()  # the cut-off sends arrive: their outcome is unknown to hub
            cut_off = len(bot.sent())
            wait_until(lambda: len(bot.sent()) > cut_off, 10, "the cut-off sends to land")
            time.sleep(0.3)

            # AND Telegram answers a burst of 429s, AND Redis restarts mid-run
            bot.fail("sendMessage", 429, retry_after=1, times=30)
            workers.append(start_worker(config))
            wait_until(lambda: len(bot.sent()) >= 1200, 90, "1200 messages")
            redis_server.kill()
            time.sleep(1.0)
            redis_server.start()

            # THEN every recipient is reached
            wait_until(lambda: len(bot.delivered()) == RECIPIENTS, 120, "every recipient")
            time.sleep(1.0)  # nothing else arrives late
        counts = bot.delivered()
        assert set(counts) == {str(c) for c in range(1, RECIPIENTS + 1)}, "nobody is missed"
        assert bot.rejected == 0 and sum(1 for c in bot.calls if c.status == 429) == 30, "the 429s were met"
        flagged = collections.Counter(
            str(e.payload["chat_id"]) for e in hub.store.outbox(limit=RECIPIENTS * 2) if e.possible_duplicate
        )
        twice = {chat for chat, n in counts.items() if n > 1}
        assert all(n <= 2 for n in counts.values())
        assert twice <= set(flagged), f"unflagged duplicates: {sorted(twice - set(flagged))[:10]}"
        assert twice, "the sends the kill cut off reached Telegram and were sent again"
        assert len(flagged) <= 16, "only sends cut off by the kill (at most two batches) are in doubt"
        statuses = collections.Counter(d.status for d in hub.store.deliveries(limit=RECIPIENTS + 10))
        assert statuses == {"sent": RECIPIENTS}
    finally:
        for worker in workers:
            stop(worker)
        redis_server.kill()
