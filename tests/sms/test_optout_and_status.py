"""STOP/START keep the opt-out state; delivery reports update the outbox entry they belong to."""

from __future__ import annotations

import pytest
import responses

from handlers.sms import OPT_IN_WORDS, OPT_OUT_WORDS
from hub.services import hub_of
from integrations.samples import stripe_event, telegram_message, twilio_form, twilio_sms
from tests.conftest import post
from tests.payments.wire import LIVE, TWILIO_MESSAGES, message_json

PHONE = "+15550001111"
SID = "SM" + "d" * 32


def text_in(client, hub, body, sender=PHONE):
    response = post(client, twilio_sms(hub.settings, "http://localhost", body, sender=sender))
    assert response.status_code == 200 and response.mimetype == "application/xml"
    return response.data.decode()


def opted_out(hub, phone=PHONE):
    return (hub.store.kv_get("sms_optout", phone) or {}).get("opted_out")


@pytest.mark.parametrize("word", OPT_OUT_WORDS + tuple(w.lower() for w in OPT_OUT_WORDS) + ("  Stop ",))
def test_every_opt_out_keyword_opts_out(client, hub, word):
    assert "no more messages" in text_in(client, hub, word)
    assert opted_out(hub) is True


@pytest.mark.parametrize("word", OPT_IN_WORDS)
def test_every_opt_in_keyword_opts_back_in(client, hub, word):
    text_in(client, hub, "STOP")
    assert "Welcome back" in text_in(client, hub, word)
    assert opted_out(hub) is False


def test_keywords_match_the_whole_message_on_sms_only(client, hub):
    assert "did not understand" in text_in(client, hub, "stop it please")
    assert opted_out(hub) is None
    telegram = post(client, telegram_message(hub.settings, "STOP")).json
    assert "did not understand" in telegram["text"]
    assert "/help" in post(client, telegram_message(hub.settings, "/start")).json["text"]


def test_an_opted_out_payer_gets_no_receipt_until_start(client, hub):
    def pay(event_id):
        session = {
            "id": "cs_1",
            "payment_status": "paid",
            "amount_total": 500,
            "currency": "eur",
            "customer_details": {"phone": PHONE},
        }
        post(client, stripe_event(hub.settings, "checkout.session.completed", session, event_id=event_id))
        return [e.status for e in hub.store.outbox() if e.payload.get("to") == PHONE]

    text_in(client, hub, "STOP")
    assert pay("evt_a") == ["suppressed"]
    text_in(client, hub, "START")
    assert sorted(pay("evt_b")) == ["recorded", "suppressed"]


@pytest.fixture
def live(make_app):
    app = make_app(LIVE)
    return app.test_client(), hub_of(app)


def report(client, hub, status, error_code="", sid=SID):
    params = {
        "MessageSid": sid,
        "MessageStatus": status,
        "AccountSid": LIVE["TWILIO_ACCOUNT_SID"],
        "To": PHONE,
        "From": LIVE["TWILIO_FROM_NUMBER"],
    }
    if error_code:
        params["ErrorCode"] = error_code
    response = post(client, twilio_form(hub.settings, "http://localhost", "twilio-status", params))
    assert response.status_code in (200, 204)


@responses.activate
def test_delivery_reports_update_the_sent_message_and_never_go_back(live):
    client, hub = live
    responses.post(TWILIO_MESSAGES, status=201, json=message_json(SID))
    session = {"id": "cs_1", "payment_status": "paid", "customer_details": {"phone": PHONE}}
    post(client, stripe_event(hub.settings, "checkout.session.completed", session))
    [entry] = hub.store.outbox()
    assert (entry.ref, entry.status) == (SID, "sent")

    report(client, hub, "delivered")
    report(client, hub, "sent")  # Twilio does not promise order: this one is late
    [entry] = hub.store.outbox()
    assert (entry.status, entry.provider_status) == ("sent", "delivered"), "two meanings, two fields"


@responses.activate
def test_a_provider_failure_is_not_our_call_failing(live, admin_headers):
    client, hub = live
    responses.post(TWILIO_MESSAGES, status=201, json=message_json(SID))
    session = {"id": "cs_1", "payment_status": "paid", "customer_details": {"phone": PHONE}}
    post(client, stripe_event(hub.settings, "checkout.session.completed", session))
    report(client, hub, "failed", error_code="30008")
    report(client, hub, "queued")  # late: never moves the report back
    [row] = client.get("/admin/api/outbox", headers=admin_headers).json
    assert (row["status"], row["provider_status"]) == ("sent", "failed")
    assert row["provider_detail"] == "Twilio error 30008"


def test_undelivered_report_keeps_the_error_code(live):
    client, hub = live
    hub.store.add_outbox("twilio", "messages.create", {"to": PHONE}, event_id=None, status="sent", ref=SID)
    report(client, hub, "undelivered", error_code="30003")
    [entry] = hub.store.outbox()
    assert (entry.status, entry.detail) == ("sent", "")
    assert (entry.provider_status, entry.provider_detail) == ("undelivered", "Twilio error 30003")


def test_unsubscribed_error_marks_the_number_opted_out(live):
    client, hub = live
    report(client, hub, "failed", error_code="21610")
    assert opted_out(hub) is True


def test_report_for_an_unknown_message_is_acknowledged(live, admin_headers):
    client, hub = live
    report(client, hub, "delivered", sid="SM" + "e" * 32)
    [event] = hub.store.events(source="twilio")
    assert (event.type, event.status) == ("sms.status", "done")


def test_a_keyword_registered_twice_is_an_error_said_at_once():
    from hub.router import DuplicateHandlerError, Router

    router = Router()
    router.add_keyword("sms", "stop", lambda e, c: None)
    with pytest.raises(DuplicateHandlerError, match="STOP on sms"):
        router.add_keyword("sms", " STOP ", lambda e, c: None)
    router.add_keyword("telegram", "STOP", lambda e, c: None)  # another channel: its own words
