"""An unreachable store is reported as such: the app answers 503 so providers deliver again."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from flask import Flask

from hub.services import hub_of
from hub.store.redis import RedisStore
from integrations.samples import stripe_event
from tests.conftest import post
from tests.store.conftest import stripe_like


@pytest.fixture
def dead_redis_url() -> str:
    """A Redis URL on a local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/15"


def test_an_unreachable_redis_raises_an_unavailable_error(dead_redis_url: str) -> None:
    store = RedisStore(dead_redis_url)
    try:
        with pytest.raises(store.unavailable_errors):
            store.record(stripe_like())
        with pytest.raises(store.unavailable_errors):
            store.events()
        assert store.ping() is False
    finally:
        store.close()


def test_a_webhook_gets_503_when_redis_is_unreachable(
    make_app: Callable[..., Flask], dead_redis_url: str
) -> None:
    app = make_app({"REDIS_URL": dead_redis_url})
    signed = stripe_event(hub_of(app).settings, "invoice.paid")

    answer = post(app.test_client(), signed)

    assert answer.status_code == 503
    assert answer.get_json()["error"] and "Traceback" not in answer.get_data(as_text=True)
