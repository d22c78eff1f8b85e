"""Fixtures: a fresh app per test on its own SQLite file, handlers run inline."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub import create_app
from hub.logs import LOGGER_TREES
from hub.services import Hub, hub_of
from hub.simulate import SignedRequest
from tests.auxil.fake_telegram import FakeTelegram, fake_telegram
from tests.auxil.redis import drop_prefix, require_redis, unique_prefix

ADMIN_TOKEN = "test-admin-token-0123456789"
SECRETS = {
    "HUB_ADMIN_TOKEN": ADMIN_TOKEN,
    "TELEGRAM_WEBHOOK_SECRET": "test-telegram-secret",
    "STRIPE_WEBHOOK_SECRET": "whsec_test_primary",
    "TWILIO_AUTH_TOKEN": "test-twilio-auth-token",
    "GOOGLE_CHANNEL_TOKEN": "test-google-channel-token",
}


@pytest.fixture(autouse=True)
def _hub_loggers_propagate() -> Iterator[None]:
    """An app built as on Lambda leaves hub's loggers not propagating (hub.logs). pytest hangs
    its capture directly on a logger that does not propagate when a test phase starts, ahead
    of hub's scrubbing handler: each test starts and ends with them propagating again."""
    for name in LOGGER_TREES:
        logging.getLogger(name).propagate = True
    yield
    for name in LOGGER_TREES:
        logging.getLogger(name).propagate = True


@pytest.fixture
def make_app(tmp_path) -> Iterator[Callable[..., Flask]]:  # noqa: ANN001
    """Build apps on this test's instance folder; extra config keys override the defaults."""
    apps: list[Flask] = []

    def build(config: dict[str, Any] | None = None, **kwargs: Any) -> Flask:
        base = {"HUB_INSTANCE_PATH": str(tmp_path / "instance"), "HUB_TASKS": "inline", **SECRETS}
        app = create_app({**base, **(config or {})}, **kwargs)
        app.testing = True
        apps.append(app)
        return app

    yield build
    for app in apps:
        hub_of(app).tasks.drain()
        hub_of(app).store.close()


@pytest.fixture
def app(make_app) -> Flask:  # noqa: ANN001
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def hub(app: Flask) -> Hub:
    return hub_of(app)


@pytest.fixture
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def redis_config(redis_url: str) -> Iterator[dict[str, str]]:
    """Config keys for an app on the real Redis, under a key prefix of this test's own,
    deleted afterwards (so a rerun, or a second suite on the same Redis, starts clean)."""
    prefix = unique_prefix()
    yield {"REDIS_URL": redis_url, "HUB_REDIS_PREFIX": prefix}
    drop_prefix(redis_url, prefix)


@pytest.fixture
def bot_api() -> Iterator[FakeTelegram]:
    """A fake Telegram Bot API on 127.0.0.1; point TELEGRAM_API_URL at `.url`."""
    from integrations import telegram_bot

    with fake_telegram() as server:
        yield server
        telegram_bot.close_all()  # the process-wide Bot's connections point at this server


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def post(client: FlaskClient, signed: SignedRequest, **kwargs: Any):  # noqa: ANN201
    """POST a `SignedRequest` through the Flask test client."""
    return client.post(signed.path, data=signed.body, headers=signed.headers, **kwargs)
