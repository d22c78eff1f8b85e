"""The settings that shape retries and retention are obeyed: HUB_RETRY_MAX_SECONDS caps the
backoff, and `hub sweep` forgets events after HUB_DEDUP_DAYS, so a later re-delivery is new."""

from __future__ import annotations

import time

import pytest

from hub.cli import main
from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event
from tests.conftest import post
from tests.store.conftest import Clock

DAY = 86400


@pytest.fixture
def runs() -> list[str]:
    return []


def router_that(runs: list[str], *, fails: bool) -> Router:
    router = Router()

    @router.on("stripe", "invoice.paid")
    def handle(event, ctx) -> None:  # noqa: ANN001
        runs.append(event.provider_id)
        if fails:
            raise RuntimeError("upstream down")

    return router


def deliver(app, event_id: str) -> dict:  # noqa: ANN001
    response = post(app.test_client(), stripe_event(hub_of(app).settings, "invoice.paid", event_id=event_id))
    assert response.status_code == 200
    return response.json


def test_the_backoff_never_exceeds_hub_retry_max_seconds(make_app, runs) -> None:  # noqa: ANN001
    config = {"HUB_RETRY_BASE_SECONDS": "1000", "HUB_RETRY_MAX_SECONDS": "40", "HUB_MAX_ATTEMPTS": "4"}
    app = make_app(config, router=router_that(runs, fails=True))
    hub = hub_of(app)
    hub.store.clock = clock = Clock(time.time())
    event_id = deliver(app, "evt_capped")["event_id"]
    for attempt in (1, 2, 3):
        event = hub.store.get(event_id)
        assert (event.status, event.attempts) == ("failed", attempt)
        delay = event.next_attempt_at - clock.now
        assert 20 <= delay <= 40, f"attempt {attempt}: retry in {delay:.0f} s, over the 40 s cap"
        clock.advance(41)
        hub.sweep()
    assert hub.store.get(event_id).status == "dead"
    assert len(runs) == 4


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_hub_sweep_forgets_events_after_hub_dedup_days(make_app, runs, request, backend) -> None:  # noqa: ANN001
    config = {"HUB_DEDUP_DAYS": "8"}
    if backend == "redis":
        config.update(request.getfixturevalue("redis_config"))
    app = make_app(config, router=router_that(runs, fails=False))
    hub = hub_of(app)
    hub.store.clock = clock = Clock(time.time())
    cli = app.test_cli_runner()
    first = deliver(app, "evt_old")
    assert first["duplicate"] is False

    clock.advance(7.5 * DAY)
    result = cli.invoke(main, ["sweep"])
    assert result.exit_code == 0 and "purged 0 old event(s)" in result.output
    assert deliver(app, "evt_old")["duplicate"] is True, "still remembered within 8 days"

    clock.advance(0.5 * DAY + 60)
    result = cli.invoke(main, ["sweep"])
    assert result.exit_code == 0 and "purged 1 old event(s)" in result.output
    assert hub.store.get(first["event_id"]) is None
    again = deliver(app, "evt_old")
    assert again["duplicate"] is False, "after the purge a re-delivery is a new event"
    assert runs == ["evt_old", "evt_old"]
