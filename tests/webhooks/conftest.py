"""Webhook fixtures: an app whose handlers only record that they ran, and rejection checks."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from hub.events import Event
from hub.router import Router
from hub.services import Hub, hub_of
from tests.conftest import SECRETS

SOURCES = ("telegram", "stripe", "twilio", "google")


class Runs(list):
    """Every event a handler ran for, in order."""

    def ids(self) -> list[str]:
        return [event.provider_id for event in self]


@pytest.fixture
def runs() -> Runs:
    return Runs()


@pytest.fixture
def spy_router(runs: Runs) -> Router:
    """Any event of any source is handled by appending it to `runs` (and replying on chats)."""
    router = Router()

    def handle(event: Event, ctx: Any) -> None:
        runs.append(event)
        if event.message is not None:
            ctx.reply(f"you said: {event.message.text}")

    for source in SOURCES:
        router.add_handler(source, "*", handle)
    return router


@pytest.fixture
def spy_app(make_app, spy_router: Router) -> Flask:  # noqa: ANN001
    return make_app(router=spy_router)


@pytest.fixture
def spy_hub(spy_app: Flask) -> Hub:
    return hub_of(spy_app)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, str]:
    """A JSON error body of exactly {"error", "message"}: no trace, no secret."""
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error", "message"}
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["error"] == code
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    for secret in SECRETS.values():
        assert secret not in text
    return body


def assert_nothing_recorded(hub: Hub, runs: Runs | None = None) -> None:
    assert hub.store.events() == []
    assert hub.store.outbox() == []
    if runs is not None:
        assert runs == []


def assert_rejected(response: Any, hub: Hub, runs: Runs, status: int, code: str | None = None) -> None:
    assert_error(response, status, code)
    assert_nothing_recorded(hub, runs)
