"""The `hub` command group, run as a user would (Click runner against a test app)."""

from __future__ import annotations

import json
import time

from hub.cli import main
from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event
from tests.auxil.server import serving
from tests.conftest import post


def invoke(app, *args):
    return app.test_cli_runner().invoke(main, list(args))


def failing_router(runs):
    router = Router()

    @router.on("stripe", "*")
    def handle(event, ctx):
        runs.append(event.id)
        if len(runs) == 1:
            raise RuntimeError("temporary")

    return router


def test_events_lists_what_arrived(app, client):
    result = invoke(app, "events")
    assert result.exit_code == 0
    assert "no events yet" in result.output
    post(client, stripe_event(hub_of(app).settings, "invoice.paid"))
    result = invoke(app, "events", "--source", "stripe")
    assert "invoice.paid" in result.output and "done" in result.output


def test_sweep_and_replay_from_the_command_line(make_app):
    runs = []
    app = make_app({"HUB_RETRY_BASE_SECONDS": "0"}, router=failing_router(runs))
    response = post(app.test_client(), stripe_event(hub_of(app).settings, "invoice.paid"))
    event_id = response.json["event_id"]

    result = invoke(app, "sweep")
    assert result.exit_code == 0
    assert "ran 1: 1 done" in result.output

    result = invoke(app, "replay", event_id)
    assert result.exit_code == 0
    assert f"{event_id}: done after 3 attempt(s)" in result.output

    result = invoke(app, "replay", "evt_missing")
    assert result.exit_code != 0
    assert "no event evt_missing" in result.output


def test_simulate_sends_a_signed_event_to_a_running_hub(make_app):
    runs = []
    app = make_app({"HUB_TASKS": "thread"}, router=failing_router(runs))
    with serving(app) as url:
        result = invoke(app, "simulate", "stripe", "checkout.session.completed", "--url", url)
        assert result.exit_code == 0, result.output
        assert "POST /webhooks/stripe -> 200" in result.output
        hub = hub_of(app)
        # Thread mode stores the event already claimed ("processing"): wait for the run's
        # outcome itself, while the server is still up (the handler fails its first run).
        deadline = time.monotonic() + 10
        while not (events := hub.store.events()) or events[0].status in ("received", "processing"):
            assert time.monotonic() < deadline, "the background task never finished"
            time.sleep(0.05)
        event = events[0]
        assert (event.source, event.type) == ("stripe", "checkout.session.completed")
        assert (event.status, event.attempts) == ("failed", 1)
        assert runs == [event.id]


def test_simulate_says_what_to_do_when_no_hub_answers(app):
    result = invoke(app, "simulate", "telegram", "message", "--url", "http://127.0.0.1:9")
    assert result.exit_code != 0
    assert "start one with: hub serve" in result.output


def test_simulate_unknown_source_is_refused(app):
    result = invoke(app, "simulate", "slack", "message")
    assert result.exit_code == 2


def test_events_shows_long_types_whole_and_cuts_longer_ones_with_an_ellipsis(app):
    hub = hub_of(app)
    long_type = "customer.subscription.pending_update_applied"  # 45 characters, past the old cut at 28
    too_long = "x." * 40 + "end"
    with app.app_context():
        hub.emit("schedule", long_type, "p1", {})
        hub.emit("schedule", too_long, "p2", {})

    lines = invoke(app, "events").output.splitlines()

    assert any(f" {long_type} " in line for line in lines)
    cut = next(line for line in lines if " x.x." in line)
    assert "…" in cut and too_long not in cut
    status_column = lines[0].index("STATUS")
    assert all(line[status_column:].startswith("unhandled") for line in lines[1:])  # columns line up


def test_events_says_unhandled_for_an_event_no_handler_took(app, client):
    post(client, stripe_event(hub_of(app).settings, "invoice.paid"))  # the test router handles it
    with app.app_context():
        hub_of(app).emit("schedule", "nobody.listens", "p1", {})

    rows = {line.split()[2]: line.split()[3] for line in invoke(app, "events").output.splitlines()[1:]}
    as_json = {e["type"]: e["handled"] for e in json.loads(invoke(app, "events", "--json").output)}

    assert rows == {"invoice.paid": "done", "nobody.listens": "unhandled"}
    assert as_json == {"invoice.paid": True, "nobody.listens": False}


def test_tick_reports_a_failed_run_with_its_error_and_retry_time(make_app):
    router = Router()

    @router.on("schedule", "weather.digest")
    def digest(event, ctx):
        raise RuntimeError("weather service down")

    app = make_app({"HUB_TASKS": "thread"}, router=router)

    result = invoke(app, "tick", "weather.digest")

    assert result.exit_code == 0, result.output
    first, error = result.output.splitlines()
    assert ": failed, retry at 20" in first and "processing" not in first
    assert error == "error: RuntimeError: weather service down"
