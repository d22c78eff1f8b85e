"""Outbound calls a chat costs: Telegram commands answered in the webhook reply (target 0),
and upstream weather calls for 100 requests for one city within the cache lifetime (target 1).

    python -m bench.outbound

Live mode (HUB_DRY_RUN=0), so a call would really leave the process: Telegram's Bot API and
OpenWeatherMap are local fakes on 127.0.0.1 that count every request they get.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import SECRETS, git_revision
from hub import create_app
from hub.services import hub_of
from integrations.samples import telegram_message
from tests.auxil.fake_openweather import API_KEY, FakeOpenWeather
from tests.auxil.fake_telegram import fake_telegram

COMMANDS = ["/start", "/help", "hello there"]


def telegram_replies(folder: Path) -> tuple[int, int, int]:
    """(webhooks sent, replies carried in responses, Bot API requests made)."""
    with fake_telegram() as api:
        live = {"HUB_DRY_RUN": "0", "TELEGRAM_BOT_TOKEN": "123456:BENCH", "TELEGRAM_API_URL": api.url}
        config = {**SECRETS, "HUB_INSTANCE_PATH": str(folder / "tg"), "HUB_TASKS": "inline", **live}
        app = create_app(config)
        client, hub = app.test_client(), hub_of(app)
        replies = 0
        for i in range(100):
            signed = telegram_message(hub.settings, COMMANDS[i % len(COMMANDS)])
            response = client.post(signed.path, data=signed.body, headers=signed.headers)
            replies += response.json.get("method") == "sendMessage"
        return 100, replies, len(api.calls) + len(hub.store.outbox())


def weather_calls(folder: Path) -> tuple[int, int]:
    """(requests, upstream calls) for 100 `/weather London`."""
    with FakeOpenWeather() as owm:
        config = {
            **SECRETS,
            "HUB_INSTANCE_PATH": str(folder / "wx"),
            "HUB_TASKS": "inline",
            "OPENWEATHER_API_KEY": API_KEY,
            "OPENWEATHER_API_URL": owm.url,
        }
        app = create_app(config)
        client, hub = app.test_client(), hub_of(app)
        for _ in range(100):
            signed = telegram_message(hub.settings, "/weather London")
            assert client.post(signed.path, data=signed.body, headers=signed.headers).status_code == 200
        return 100, len(owm.requests)


def main() -> None:
    print(f"# bench.outbound  rev {git_revision()}")
    with tempfile.TemporaryDirectory() as tmp:
        sent, replies, calls = telegram_replies(Path(tmp))
        print(
            f"telegram: {sent} commands, {replies} answered in the webhook reply, "
            f"{calls} outbound calls (target 0)"
        )
        requests, upstream = weather_calls(Path(tmp))
        print(f"weather: {requests} requests for one city, {upstream} upstream calls (target 1)")


if __name__ == "__main__":
    main()
