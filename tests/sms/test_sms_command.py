"""`/sms <number> <text>`: admins send an SMS through Twilio; everyone else is refused."""

from __future__ import annotations

import pytest
import requests
import responses

from hub.services import hub_of
from integrations.samples import telegram_message, twilio_sms
from tests.conftest import post
from tests.payments.wire import (
    ADMIN_CHAT,
    LIVE,
    TWILIO_MESSAGES,
    form,
    message_json,
    telegram_api,
    twilio_error,
)

NUMBER = "+447700900123"
SID = "SM" + "c" * 32


@pytest.fixture
def live(make_app):
    app = make_app({**LIVE, "HUB_PUBLIC_URL": "https://hub.example.com"})
    return app.test_client(), hub_of(app)


def command(client, hub, text, chat_id=int(ADMIN_CHAT)):
    response = post(client, telegram_message(hub.settings, text, chat_id=chat_id))
    assert response.status_code == 200
    return response.json.get("text")


@responses.activate
def test_admin_sends_an_sms_and_the_sid_becomes_the_outbox_ref(live):
    client, hub = live
    responses.post(TWILIO_MESSAGES, status=201, json=message_json(SID))
    answer = command(client, hub, f"/sms {NUMBER} Your table is ready.")
    assert answer == f"Sent to {NUMBER} (message {SID})."
    sent = form(responses.calls[0].request.body)
    assert sent["To"] == NUMBER and sent["From"] == LIVE["TWILIO_FROM_NUMBER"]
    assert sent["Body"] == "Your table is ready."
    assert sent["StatusCallback"] == "https://hub.example.com/webhooks/twilio/status"
    [entry] = hub.store.outbox()
    assert (entry.status, entry.ref) == ("sent", SID)


def test_others_are_refused_politely(live):
    client, hub = live
    assert "only the hub's administrators" in command(client, hub, f"/sms {NUMBER} hi", chat_id=7)
    sms = post(client, twilio_sms(hub.settings, "http://localhost", f"SMS {NUMBER} hi"))
    assert b"only the hub's administrators" in sms.data
    assert hub.store.outbox() == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("/sms", "Write /sms <+number> <text>"),
        (f"/sms {NUMBER}", "Write /sms <+number> <text>"),
        ("/sms 07700900123 hi", "07700900123 is not a phone number in international form"),
        ("/sms +0123456789 hi", "is not a phone number"),
        ("/sms +44abc hi", "is not a phone number"),
    ],
)
def test_bad_input_gets_advice(live, text, expected):
    client, hub = live
    assert expected in command(client, hub, text)
    assert hub.store.outbox() == []


@responses.activate
def test_an_invalid_number_is_reported_not_retried(live):
    client, hub = live
    responses.post(TWILIO_MESSAGES, status=400, json=twilio_error(21211, "The 'To' number is not valid."))
    answer = command(client, hub, f"/sms {NUMBER} hi")
    said = "The 'To' number is not valid."
    assert answer == f"Not sent: Twilio refused the SMS to {NUMBER}: {said} (error 21211)"
    assert hub.store.events(source="telegram")[0].status == "done"


@responses.activate
@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503, "json": twilio_error(20503, "Service Unavailable", 503)},
        {"status": 429, "json": twilio_error(20429, "Too Many Requests", 429)},
        {"body": requests.exceptions.ReadTimeout("read timed out")},
    ],
)
def test_twilio_trouble_is_retried_and_the_admin_hears_once_it_is_sent(live, failure):
    client, hub = live
    responses.post(TWILIO_MESSAGES, **failure)
    responses.post(TWILIO_MESSAGES, status=201, json=message_json(SID))
    assert command(client, hub, f"/sms {NUMBER} hi") is None, "no answer yet: the event will be retried"
    event = hub.store.events(source="telegram")[0]
    assert event.status == "failed"
    with telegram_api() as chat:
        hub.sweep()
    assert hub.store.get(event.id).status == "done"
    assert [m["text"] for m in chat] == [f"Sent to {NUMBER} (message {SID})."]
    assert len(responses.calls) == 2


def test_opted_out_number_is_suppressed_without_calling_twilio(live):
    client, hub = live
    hub.store.kv_put("sms_optout", NUMBER, {"opted_out": True})
    with responses.RequestsMock():  # any request to Twilio would fail this test
        answer = command(client, hub, f"/sms {NUMBER} hi")
    assert answer == f"Not sent: {NUMBER} has opted out (texted STOP)."
    [entry] = hub.store.outbox()
    assert (entry.integration, entry.status) == ("twilio", "suppressed")


def test_dry_run_records_instead_of_sending(make_app):
    app = make_app({"HUB_ADMIN_CHAT_IDS": ADMIN_CHAT})
    hub = hub_of(app)
    assert command(app.test_client(), hub, f"/sms {NUMBER} hi") == (
        f"Dry-run: the SMS to {NUMBER} was recorded, not sent."
    )
    assert [e.status for e in hub.store.outbox()] == ["recorded"]


@responses.activate
def test_the_twilio_client_ignores_the_process_environment(live, monkeypatch):
    client, hub = live
    monkeypatch.setenv("TWILIO_REGION", "au1")  # would send to api.sydney.au1.twilio.com
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    responses.post(TWILIO_MESSAGES, status=201, json=message_json(SID))
    assert command(client, hub, f"/sms {NUMBER} hi").startswith("Sent to")
