"""HUB_TASKS=lambda: a fan-out goes on across asynchronous invocations, each stopping at its
time budget and invoking the next (Lambda's Invoke API served by a local fake)."""

from __future__ import annotations

import importlib
import time

import pytest

from handlers.subscriptions import WEATHER_SUBSCRIPTIONS
from hub.services import hub_of
from tests.auxil.fake_lambda import fake_lambda
from tests.deliveries.fake_bot import TelegramLike, serve

RECIPIENTS = 300
BUDGET = 0.6


@pytest.fixture
def on_lambda(monkeypatch):  # noqa: ANN001, ANN201
    with fake_lambda() as fake:
        for key, value in fake.environ("hub-test").items():
            monkeypatch.setenv(key, value)
        yield fake


def play(app, message: dict) -> float:  # noqa: ANN001
    """Run one invocation's task as zappa's handler would; its duration in seconds."""
    module, _, name = message["task_path"].rpartition(".")
    started = time.monotonic()
    with app.app_context():
        getattr(importlib.import_module(module), name)(*message["args"])
    return time.monotonic() - started


def test_a_fan_out_continues_across_invocations(make_app, on_lambda) -> None:  # noqa: ANN001
    with serve(TelegramLike(latency=0.01)) as bot:
        app = make_app(
            {
                "HUB_TASKS": "lambda",
                "HUB_DRY_RUN": "0",
                "TELEGRAM_BOT_TOKEN": "123:lambda",
                "TELEGRAM_API_URL": bot.url,
                "HUB_TELEGRAM_PER_SECOND": "200",
                "HUB_DELIVERY_RUN_SECONDS": str(BUDGET),
            }
        )
        hub = hub_of(app)
        assert not hub.tasks.runs_in_process
        for chat in range(1, RECIPIENTS + 1):
            hub.store.kv_put(
                WEATHER_SUBSCRIPTIONS,
                f"telegram:{chat}",
                {"channel": "telegram", "address": str(chat), "city": "bergen"},
            )
        with app.app_context():
            hub.emit("weather", "weather.alert", "bergen:storm", {"city": "bergen", "text": "Storm"})
        assert [m["task_path"] for m in on_lambda.messages] == ["hub.tasks.process_event"]
        assert bot.sent() == [], "the webhook's invocation only queued the event"

        importlib.import_module("integrations.telegram_bot")  # a warm instance: PTB loaded (~1 s cold)
        runs: list[tuple[str, float]] = []
        while on_lambda.messages and len(runs) < 100:
            message = on_lambda.messages.pop(0)
            runs.append((message["task_path"], play(app, message)))

    paths = [path for path, _ in runs]
    assert paths[0] == "hub.tasks.process_event"
    assert paths.count("hub.tasks.process_deliveries") >= 3, f"one long run instead of a chain: {paths}"
    assert sorted(bot.delivered().values()) == [1] * RECIPIENTS, "everyone once"
    longest = max(seconds for path, seconds in runs if path == "hub.tasks.process_deliveries")
    assert longest < BUDGET + 0.5, f"a delivery invocation ran {longest:.2f} s (budget {BUDGET} s)"
    assert on_lambda.bad_signatures == 0
