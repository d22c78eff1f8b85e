"""`hub simulate`: a real sample for every handled type, usage errors for unknown ones, and
`--fail`, which only a dry-run hub honours."""

from __future__ import annotations

import pytest

from handlers import router as default_router
from handlers.calendar import KINDS as CALENDAR_KINDS
from hub.cli import main
from hub.faults import FAIL_FIELD, planned_failures
from hub.router import Router
from hub.services import hub_of
from hub.simulate import build, load_sample, simulate_types, sources
from infra.commands import tick
from integrations.samples import stripe_event, twilio_sms
from tests.auxil.server import serving
from tests.conftest import post

LOCAL = "http://localhost"
# What a calendar.push sync finds becomes these events (handlers/calendar.py): no webhook.
EMITTED_BY_HANDLERS = {("google", f"google.calendar.{kind}") for kind in CALENDAR_KINDS}
# Stripe's `object` for each type's family: a sample of the wrong kind would not be real.
STRIPE_OBJECTS = {
    "checkout.session": "checkout.session",
    "customer.subscription": "subscription",
    "invoice": "invoice",
}


def invoke(app, *args):
    return app.test_cli_runner().invoke(main, list(args))


def handled_types(source: str) -> list[str]:
    return sorted(t for s, t in default_router.registrations() if s == source)


def test_every_handled_webhook_type_has_a_sample_to_simulate():
    for source, type in default_router.registrations():
        if source not in sources() or (source, type) in EMITTED_BY_HANDLERS:
            continue  # internal events, emitted by hub itself: see the next test for schedules
        sample = load_sample(source, type)  # Google's push states share calendar.push
        assert sample, (source, type)
        if source != "google":
            assert type in simulate_types(source)


def test_every_handled_schedule_type_can_be_ticked():
    assert set(handled_types("schedule")) <= set(tick.params[0].type.choices)


@pytest.mark.parametrize("type", handled_types("stripe"))
def test_every_stripe_sample_carries_a_real_object_of_its_kind(type):
    sample = load_sample("stripe", type)
    obj = sample["data"]["object"]
    family = type.rsplit(".", 1)[0]

    assert sample["type"] == type
    assert obj["object"] == STRIPE_OBJECTS[family]
    assert obj["id"] and obj["metadata"]["telegram_chat_id"]


def test_the_subscription_deleted_sample_says_goodbye_to_its_chat(app, client):
    post(client, stripe_event(hub_of(app).settings, "customer.subscription.deleted"))

    calls = hub_of(app).store.outbox()
    assert [(c.integration, c.payload["chat_id"]) for c in calls] == [("telegram", "1001")]
    assert "subscription has ended" in calls[0].payload["text"]


@pytest.mark.parametrize("source", sources())
def test_every_simulated_type_is_verified_and_reaches_a_handler(app, client, source):
    hub = hub_of(app)
    for type in simulate_types(source):
        response = post(client, build(hub.settings, source, type, LOCAL))
        assert response.status_code in (200, 204), (type, response.data)
        event = hub.store.events(limit=1)[0]
        assert event.status == "done", (type, event.last_error)
        assert hub.router.resolve(event) is not None, type


def test_simulate_help_lists_each_sources_types(app):
    result = invoke(app, "simulate", "--help")

    assert result.exit_code == 0
    listing = result.output.split("Sample types:", 1)[1]
    for source in sources():
        assert source in listing
        for type in simulate_types(source):
            assert type in listing.replace("\n", " ").replace("  ", " ")


def test_an_unknown_type_is_a_usage_error_naming_the_known_ones(app):
    result = invoke(app, "simulate", "stripe", "nonsense.type", "--url", "http://127.0.0.1:9")

    assert result.exit_code == 2
    assert "'nonsense.type' is not a stripe sample" in result.output
    assert "customer.subscription.deleted" in result.output and "invoice.paid" in result.output
    assert hub_of(app).store.events() == []  # nothing was sent, so nothing recorded


def test_an_unknown_google_state_is_a_usage_error_too(app):
    result = invoke(app, "simulate", "google", "nonsense")

    assert result.exit_code == 2
    assert "exists, not_exists, sync" in result.output


# -- --fail: practise retries, dead letters and replay in dry-run -------------------------


def test_fail_n_fails_the_first_n_attempts_then_a_retry_succeeds(make_app):
    app = make_app({"HUB_RETRY_BASE_SECONDS": "0"})
    hub = hub_of(app)
    event_id = post(app.test_client(), stripe_event(hub.settings, "invoice.paid", fail=2)).json["event_id"]

    first = hub.store.get(event_id)
    assert (first.status, first.attempts) == ("failed", 1)
    assert "SimulatedFailure" in first.last_error and "hub simulate --fail" in first.last_error
    assert hub.store.outbox() == []  # it failed before the handler did anything

    assert "ran 1: 0 done, 1 failed" in invoke(app, "sweep").output
    assert "ran 1: 1 done" in invoke(app, "sweep").output
    assert hub.store.get(event_id).attempts == 3
    assert len(hub.store.outbox()) == 1  # the thank-you went out once, on the run that passed


def test_a_bare_fail_goes_dead_and_replay_then_runs_it(make_app):
    app = make_app({"HUB_RETRY_BASE_SECONDS": "0", "HUB_MAX_ATTEMPTS": "3"})
    hub = hub_of(app)
    with serving(app) as url:
        result = invoke(app, "simulate", "stripe", "invoice.paid", "--fail", "--url", url)
    assert result.exit_code == 0, result.output
    assert "its 3 attempts fail on purpose" in result.output
    event = hub.store.events()[0]
    assert f"replay {event.id}" in result.output
    assert event.payload[FAIL_FIELD] == 3

    invoke(app, "sweep")
    invoke(app, "sweep")
    assert hub.store.get(event.id).status == "dead"

    replayed = invoke(app, "replay", event.id)
    assert f"{event.id}: done after 4 attempt(s)" in replayed.output


def test_fail_works_on_sms_too(make_app):
    app = make_app()
    hub = hub_of(app)
    post(app.test_client(), twilio_sms(hub.settings, LOCAL, "HELP", fail=1))

    event = hub.store.events()[0]
    assert event.payload[FAIL_FIELD] == "1"  # a form field: text
    assert (event.status, event.attempts) == ("failed", 1)


def test_fail_is_refused_for_a_live_configuration(make_app):
    app = make_app({"HUB_DRY_RUN": "0"})

    result = invoke(app, "simulate", "stripe", "invoice.paid", "--fail", "2", "--url", "http://127.0.0.1:9")

    assert result.exit_code == 2
    assert "--fail works only against a dry-run hub" in result.output
    assert "POST" not in result.output and "no hub answered" not in result.output


def test_a_live_hub_ignores_the_mark(make_app):
    runs = []
    router = Router()
    router.on("stripe", "*")(lambda event, ctx: runs.append(event.id))
    app = make_app({"HUB_DRY_RUN": "0"}, router=router)
    hub = hub_of(app)

    response = post(app.test_client(), stripe_event(hub.settings, "invoice.paid", fail=5))

    event = hub.store.get(response.json["event_id"])
    assert event.payload[FAIL_FIELD] == 5  # the mark arrived, signed
    assert (event.status, event.attempts, runs) == ("done", 1, [event.id])


def test_fail_on_a_google_push_is_a_usage_error(app):
    result = invoke(app, "simulate", "google", "exists", "--fail", "2")

    assert result.exit_code == 2
    assert "--fail needs a sample with a body" in result.output


@pytest.mark.parametrize("value", [True, None, -1, "x", "²", 3.5, [2]])
def test_an_odd_mark_asks_for_no_failure(value):
    assert planned_failures({FAIL_FIELD: value}) == 0


def test_fail_needs_a_positive_count(app):
    assert invoke(app, "simulate", "stripe", "invoice.paid", "--fail", "0").exit_code == 2
