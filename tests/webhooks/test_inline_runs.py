"""Inline runs (Telegram, Twilio): stored once, done, when the handler only replied; stored
claimed before the handler's first effect otherwise, so a duplicate does nothing.
On SQLite and on the real Redis."""

from __future__ import annotations

from typing import Any

import pytest

from hub.deliveries import Tells
from hub.events import DONE, FAILED
from hub.router import Router
from hub.services import hub_of
from tests.auxil.events import load_event, telegram_request
from tests.conftest import SECRETS, post

SECRET = SECRETS["TELEGRAM_WEBHOOK_SECRET"]


@pytest.fixture(params=["sqlite", "redis"])
def store_config(request: pytest.FixtureRequest) -> dict[str, str]:
    return request.getfixturevalue("redis_config") if request.param == "redis" else {}


def update(text: str, update_id: int = 5001) -> dict[str, Any]:
    body = load_event("telegram", "message")
    body["update_id"] = update_id
    body["message"]["text"] = text
    return body


def test_a_run_that_only_replied_is_stored_done_with_its_one_attempt(make_app, store_config):
    app = make_app(store_config)
    hub = hub_of(app)

    response = post(app.test_client(), telegram_request(SECRET, update("/help")))

    assert response.status_code == 200 and "/help" in response.get_json()["text"]
    [event] = hub.store.events()
    assert (event.status, event.attempts, event.lease_until) == (DONE, 1, None)
    [attempt] = hub.store.history(event)
    assert (attempt.attempt, attempt.outcome) == (1, DONE)
    assert attempt.started_at == event.received_at and attempt.finished_at == event.updated_at
    assert hub.store.due() == []  # nothing left for the sweep


def test_a_duplicate_found_at_the_first_effect_stops_the_run_before_it(make_app, store_config):
    """Two deliveries of one update at once: the other instance stores it while this run
    is still replying; this run's first effect finds it stored, and does nothing."""
    router = Router()
    effects: list[str] = []
    first_delivery = update("/remember milk", update_id=5002)

    @router.command("remember")
    def remember(event, ctx):
        ctx.reply("noted")
        # The other instance's delivery of the same update is stored meanwhile:
        other = hub_of(app).store.record(event.with_changes(id="evt_" + "0" * 32), claim_lease=60)
        assert not other.duplicate
        ctx.store.kv_put("notes", str(ctx.event.message.address), {"text": "milk"})
        effects.append("kv_put")

    app = make_app(store_config, router=router)
    hub = hub_of(app)

    response = post(app.test_client(), telegram_request(SECRET, first_delivery))

    assert response.status_code == 200 and response.get_json() == {}  # a duplicate's answer
    assert effects == []
    assert hub.store.kv_get("notes", "123456789") is None
    [event] = hub.store.events()
    assert event.id == "evt_" + "0" * 32  # the other instance's, untouched


def test_a_run_with_an_effect_is_stored_claimed_before_it_and_finished_after(make_app, store_config):
    router = Router()
    seen: list[tuple[str, int]] = []

    @router.command("remember")
    def remember(event, ctx):
        ctx.store.kv_put("notes", "123456789", {"text": "milk"})
        stored = hub_of(app).store.get(event.id)  # by the time the effect ran, it was stored
        seen.append((stored.status, stored.attempts))
        ctx.reply("noted")

    app = make_app(store_config, router=router)
    hub = hub_of(app)

    response = post(app.test_client(), telegram_request(SECRET, update("/remember milk")))

    assert response.get_json()["text"] == "noted"
    assert seen == [("processing", 1)]
    [event] = hub.store.events()
    assert (event.status, event.attempts) == (DONE, 1)
    assert [a.outcome for a in hub.store.history(event)] == [DONE]
    assert hub.store.kv_get("notes", "123456789") == {"text": "milk"}


def test_a_run_that_failed_before_any_effect_is_stored_failed_and_retried(make_app, store_config):
    router = Router()

    @router.command("boom")
    def boom(event, ctx):
        raise RuntimeError("no effect yet")

    app = make_app({**store_config, "HUB_RETRY_BASE_SECONDS": "0"}, router=router)
    hub = hub_of(app)

    response = post(app.test_client(), telegram_request(SECRET, update("/boom")))

    assert response.status_code == 200
    [event] = hub.store.events()
    assert (event.status, event.attempts, event.last_error) == (FAILED, 1, "RuntimeError: no effect yet")
    assert hub.store.due() == [event.id]  # the sweep retries it


def test_a_page_of_deliveries_is_an_effect(make_app):
    """A big fan-out writes its deliveries a page at a time during the run: the first page
    waits for the event to be stored."""
    hub = hub_of(make_app())
    calls: list[int] = []

    def before_write() -> None:
        calls.append(len(calls))

    tells = Tells(hub.store, scope="s", event_id="evt_x", page=2, before_write=before_write)

    tells.add("telegram", "1", "a", {})
    assert calls == [] and tells.pending
    tells.add("telegram", "2", "b", {})  # the page is full: written
    tells.add("telegram", "3", "c", {})
    tells.add("telegram", "4", "d", {})

    assert calls == [0, 1]  # before each page written
    assert tells.recorded == 4
