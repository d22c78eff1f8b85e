"""Fixtures for Telegram tests: a fake Bot API on 127.0.0.1 and live-mode apps pointed at it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.auxil.fake_telegram import FakeTelegram

TOKEN = "123:ABC"


@pytest.fixture
def fake(bot_api: FakeTelegram) -> FakeTelegram:
    return bot_api


@pytest.fixture
def live_app(make_app, fake) -> Callable[..., Flask]:  # noqa: ANN001
    """An app that really calls the (fake) Bot API: HUB_DRY_RUN=0."""

    def build(config: dict[str, Any] | None = None, **kwargs: Any) -> Flask:
        live = {"HUB_DRY_RUN": "0", "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.url}
        return make_app({**live, **(config or {})}, **kwargs)

    return build
