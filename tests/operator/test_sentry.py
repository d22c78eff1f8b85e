"""Sentry: on only with SENTRY_DSN; a transaction per webhook, spans, one report per failed
attempt with the event's tags, and nothing secret or personal in what is sent."""

from __future__ import annotations

import logging

import pytest
import sentry_sdk

from hub.observability import Scrubber, sentry_enabled
from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event, twilio_sms
from tests.conftest import post
from tests.operator.sentry_transport import MemoryTransport, reset_sentry

DSN = "https://0123456789abcdef0123456789abcdef@o0.ingest.sentry.io/1"
PLANTED = {
    "STRIPE_API_KEY": "sk_test_PLANTEDstripeKEY000111222",
    "TELEGRAM_BOT_TOKEN": "123456789:AAplantedBotTokenValue_abcdefghijklmn",
    "OPENWEATHER_API_KEY": "plantedOpenWeatherKey987654321",
}
PHONE = "+447700900123"
EMAIL = "alice.planted@example.com"
# Shapes the scrubber must catch although hub was never configured with them.
STRANGER_KEY = "sk_live_someoneElsesKey12345678"
STRANGER_BOT = "987654321:AAsomeoneElsesBotToken_zyxwvutsrqponm"


@pytest.fixture
def transport():
    transport = MemoryTransport()
    yield transport
    reset_sentry()


@pytest.fixture
def failing_router():
    """Handlers that fail with secrets in their message and in their local variables."""
    router = Router()

    @router.on("stripe", "invoice.paid")
    def paid(event, ctx):
        api_key = ctx.settings.stripe_api_key  # a local the stack trace would show
        ctx.call("stripe", "invoices.retrieve", {"id": "in_1"}, lambda: {"ok": True})
        raise RuntimeError(f"stripe refused {api_key} for {PHONE} / {EMAIL} ({STRANGER_KEY}, {STRANGER_BOT})")

    @router.on("twilio", "sms.received")
    def sms(event, ctx):
        raise ValueError(f"cannot answer {event.message.address} with {ctx.settings.telegram_bot_token}")

    return router


def sentry_app(make_app, transport, router, **config):
    return make_app(
        {
            "SENTRY_DSN": DSN,
            "SENTRY_TRANSPORT": transport,
            "SENTRY_TRACES_SAMPLE_RATE": "1.0",
            "HUB_MAX_ATTEMPTS": "2",
            **PLANTED,
            **config,
        },
        router=router,
    )


def test_sentry_stays_off_without_a_dsn(make_app, failing_router):
    app = make_app(router=failing_router)
    assert not sentry_enabled()
    assert hub_of(app).failure_reporters == []
    response = post(app.test_client(), stripe_event(hub_of(app).settings, "invoice.paid"))
    assert response.status_code == 200  # failing handler, no Sentry, still acknowledged


def test_each_failed_attempt_is_reported_once_with_the_event_tags(
    make_app, transport, failing_router, admin_headers
):
    app = sentry_app(make_app, transport, failing_router)
    client = app.test_client()
    response = post(client, stripe_event(hub_of(app).settings, "invoice.paid", event_id="evt_sentry_1"))
    event_id = response.json["event_id"]
    assert client.post(f"/admin/api/events/{event_id}/replay", headers=admin_headers).status_code == 200

    assert not sentry_sdk.get_client().should_send_default_pii()
    errors = transport.errors()
    assert len(errors) == 2, "attempt 1 (failed) and attempt 2 (dead): one report each, no log duplicate"
    for attempt, error in enumerate(errors, start=1):
        assert error["tags"]["source"] == "stripe"
        assert error["tags"]["event_type"] == "invoice.paid"
        assert error["tags"]["event_id"] == event_id
        assert error["contexts"]["hub_event"]["attempts"] == attempt
        assert error["exception"]["values"][-1]["type"] == "RuntimeError"
    assert hub_of(app).store.get(event_id).status == "dead"


def test_a_webhook_is_a_transaction_with_handler_and_outbound_spans(make_app, transport, failing_router):
    app = sentry_app(make_app, transport, failing_router)
    response = post(app.test_client(), stripe_event(hub_of(app).settings, "invoice.paid"))
    event_id = response.json["event_id"]

    transactions = [t for t in transport.items("transaction") if t["transaction"] == "webhooks.stripe"]
    assert len(transactions) == 1
    transaction = transactions[0]
    assert transaction["tags"]["event_id"] == event_id
    assert transaction["tags"]["source"] == "stripe"
    spans = {span["op"]: span for span in transaction["spans"]}
    assert spans["hub.handler"]["description"] == "stripe/invoice.paid"
    assert spans["hub.handler"]["tags"]["event_id"] == event_id
    assert spans["hub.outbound"]["description"] == "stripe.invoices.retrieve"
    assert spans["hub.outbound"]["parent_span_id"] == spans["hub.handler"]["span_id"]


def test_a_queued_run_gets_its_own_transaction(make_app, transport, failing_router):
    app = sentry_app(make_app, transport, failing_router, HUB_TASKS="thread")
    post(app.test_client(), stripe_event(hub_of(app).settings, "invoice.paid"))
    hub_of(app).tasks.drain()
    tasks = [t for t in transport.items("transaction") if t["transaction"] == "stripe/invoice.paid"]
    assert len(tasks) == 1
    assert tasks[0]["contexts"]["trace"]["op"] == "hub.task"
    assert tasks[0]["tags"]["event_type"] == "invoice.paid"


def test_nothing_secret_or_personal_is_sent(make_app, transport, failing_router):
    app = sentry_app(make_app, transport, failing_router)
    settings = hub_of(app).settings
    client = app.test_client()
    logging.getLogger("hub.test").warning("breadcrumb with %s and %s", PLANTED["STRIPE_API_KEY"], PHONE)
    post(client, stripe_event(settings, "invoice.paid"))
    post(client, twilio_sms(settings, "http://localhost", "HELLO", sender=PHONE))
    client.post(
        "/webhooks/stripe",
        data=b"{}",
        headers={"Stripe-Signature": "t=1,v1=bad", "Content-Type": "application/json"},
    )

    sent = transport.raw()
    assert len(transport.errors()) == 2, "both failures were reported"
    configured = [
        *PLANTED.values(),
        settings.stripe_webhook_secret[0],
        settings.twilio_auth_token,
        settings.hub_admin_token,
        settings.telegram_webhook_secret,
    ]
    for value in [*configured, PHONE, PHONE.lstrip("+"), EMAIL, STRANGER_KEY, STRANGER_BOT]:
        assert value not in sent
    assert "%2B447700900123" not in sent, "form-encoded phone numbers too"
    assert "[phone]" in sent and "[email]" in sent, "the report still says what kind of thing was there"


def test_scrubber_filters_secret_keys_and_shapes_but_keeps_ids():
    scrubber = Scrubber(["configured-secret-value"])
    event = {
        "event_id": "0123456789abcdef0123456789abcdef",
        "contexts": {"trace": {"trace_id": "abcdef0123456789abcdef0123456789"}},
        "request": {
            "headers": {"X-Telegram-Bot-Api-Secret-Token": "anything", "Authorization": "Bearer x"},
            "data": {"Body": "call me on +1 (555) 010-9999", "api_key": "v"},
        },
        "extra": {"note": "configured-secret-value / bob@example.org / Bearer abc.def"},
    }
    cleaned = scrubber.before_send(event, {})
    assert cleaned["event_id"] == event["event_id"]
    assert cleaned["contexts"]["trace"]["trace_id"] == event["contexts"]["trace"]["trace_id"]
    assert cleaned["request"]["headers"] == {
        "X-Telegram-Bot-Api-Secret-Token": "[Filtered]",
        "Authorization": "[Filtered]",
    }
    assert cleaned["request"]["data"] == {"Body": "call me on [phone]", "api_key": "[Filtered]"}
    assert cleaned["extra"]["note"] == "*** / [email] / Bearer [token]"
    crumb = scrubber.before_breadcrumb({"message": "sent to +15550001111"}, {})
    assert crumb["message"] == "sent to [phone]"


def test_on_lambda_each_request_ends_with_a_flush(make_app, transport, failing_router, monkeypatch):
    app = sentry_app(make_app, transport, failing_router)
    app.test_client().get("/healthz")
    assert transport.flushes == 0, "locally the background transport sends in its own time"
    reset_sentry()

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "hub")
    lambda_transport = MemoryTransport()
    app = sentry_app(make_app, lambda_transport, failing_router)
    assert app.config["HUB_ON_LAMBDA"]
    app.test_client().get("/healthz")
    assert lambda_transport.flushes >= 1


def test_a_second_app_in_the_process_keeps_the_first_apps_secrets_out_of_reports(
    make_app, transport, failing_router, tmp_path
):
    """Sentry has one client per process: a second create_app must not replace it with a
    scrubber that knows only the second app's secrets."""
    first = sentry_app(make_app, transport, failing_router)
    second = make_app(
        {"SENTRY_DSN": DSN, "SENTRY_TRANSPORT": transport, "HUB_INSTANCE_PATH": str(tmp_path / "second")}
    )
    client = sentry_sdk.get_client()
    assert client.is_active()
    post(first.test_client(), stripe_event(hub_of(first).settings, "invoice.paid"))
    assert len(transport.errors()) == 1
    assert PLANTED["OPENWEATHER_API_KEY"] not in transport.raw(), "a key only the first app knows"
    assert hub_of(second).failure_reporters, "the second app reports too"
