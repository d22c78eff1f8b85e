"""Handler failures: retried with backoff, dead after N attempts, replayable."""

from __future__ import annotations

import random
import time

import pytest

from hub.router import Router
from hub.worker import retry_delay
from integrations.samples import stripe_event
from tests.conftest import post


class Clock:
    """The store's clock, moved by hand: starts at the real time, then only moves when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def flaky():
    """A router whose invoice.paid handler fails `failures` times, then succeeds."""
    router = Router()
    state = {"failures": 0, "runs": 0}

    @router.on("stripe", "invoice.paid")
    def handle(event, ctx):
        state["runs"] += 1
        if state["runs"] <= state["failures"]:
            raise RuntimeError(f"upstream down (run {state['runs']})")

    return router, state


def deliver(app, event_id="evt_flaky"):
    from hub.services import hub_of

    hub = hub_of(app)
    response = post(app.test_client(), stripe_event(hub.settings, "invoice.paid", event_id=event_id))
    assert response.status_code == 200
    return hub, hub.store.get(response.json["event_id"])


def advance_and_sweep(hub, clock, seconds):
    clock.now += seconds
    return hub.sweep()


def test_fails_twice_then_succeeds_ends_done_with_three_attempts(make_app, flaky):
    router, state = flaky
    state["failures"] = 2
    app = make_app({"HUB_RETRY_BASE_SECONDS": "10"}, router=router)
    hub, event = deliver(app)
    clock = Clock()
    hub.store.clock = clock

    event = hub.store.get(event.id)
    assert (event.status, event.attempts) == ("failed", 1)
    assert "upstream down (run 1)" in event.last_error

    assert advance_and_sweep(hub, clock, 0).ran == 0, "a retry must wait for its backoff"
    assert advance_and_sweep(hub, clock, 3600).failed == 1
    assert advance_and_sweep(hub, clock, 3600).done == 1

    event = hub.store.get(event.id)
    assert (event.status, event.attempts, event.last_error) == ("done", 3, "")


def test_always_failing_handler_ends_dead_and_replays(make_app, flaky, client, admin_headers):
    router, state = flaky
    state["failures"] = 10**6
    app = make_app({"HUB_MAX_ATTEMPTS": "3", "HUB_RETRY_BASE_SECONDS": "1"}, router=router)
    hub, event = deliver(app)
    clock = Clock()
    hub.store.clock = clock
    for _ in range(5):
        advance_and_sweep(hub, clock, 3600)
    event = hub.store.get(event.id)
    assert (event.status, event.attempts) == ("dead", 3)
    assert hub.store.due() == [], "a dead event is never picked up again by itself"

    state["failures"] = 0  # the operator fixed the cause
    admin = app.test_client()
    replayed = admin.post(f"/admin/api/events/{event.id}/replay", headers=admin_headers)
    assert replayed.status_code == 200
    assert (replayed.json["status"], replayed.json["attempts"]) == ("done", 4)


def test_replay_of_a_done_event_runs_it_again(make_app, flaky, admin_headers):
    router, state = flaky
    app = make_app(router=router)
    hub, event = deliver(app)
    assert state["runs"] == 1
    response = app.test_client().post(f"/admin/api/events/{event.id}/replay", headers=admin_headers)
    assert response.json["attempts"] == 2
    assert state["runs"] == 2


def test_redelivery_of_a_failed_event_does_not_run_it_again(make_app, flaky):
    router, state = flaky
    state["failures"] = 1
    app = make_app(router=router)
    deliver(app)
    deliver(app)
    assert state["runs"] == 1


def test_stuck_processing_event_is_recovered_after_its_lease(make_app, flaky):
    router, state = flaky
    app = make_app({"HUB_LEASE_SECONDS": "60"}, router=router)
    from hub.events import Event
    from hub.services import hub_of

    hub = hub_of(app)
    clock = Clock()
    hub.store.clock = clock
    hub.store.record(Event("stripe", "invoice.paid", "evt_crash", {}))
    stuck = hub.store.claim(hub.store.events()[0].id, lease_seconds=60)  # a worker that then died
    assert advance_and_sweep(hub, clock, 30).ran == 0, "the lease is still live"
    assert advance_and_sweep(hub, clock, 31).done == 1
    event = hub.store.get(stuck.id)
    assert (event.status, event.attempts, state["runs"]) == ("done", 2, 1)


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    delays = [retry_delay(n, base=10, cap=300, rng=rng) for n in range(1, 8)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(300, 10 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays), "jitter spreads retries"


BOT_TOKEN = "123456789:AAH-test-bot-token-0123456789abcdefgh"
WEATHER_KEY = "owm-test-key-0123456789abcdef"  # no known shape: only configuration names it


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_a_stored_error_holds_no_configured_secret_or_phone_number(make_app, request, backend):
    router = Router()

    @router.on("stripe", "invoice.paid")
    def handle(event, ctx):
        raise RuntimeError(f"weather call with {WEATHER_KEY} for +47 900 00 000 failed via bot{BOT_TOKEN}")

    config = {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "OPENWEATHER_API_KEY": WEATHER_KEY}
    if backend == "redis":
        config.update(request.getfixturevalue("redis_config"))
    hub, event = deliver(make_app(config, router=router))

    stored = hub.store.get(event.id).last_error
    assert hub.store.backend == backend
    assert stored == "RuntimeError: weather call with *** for [phone] failed via bot***"
