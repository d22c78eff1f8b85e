"""checkout.session.completed and friends: one confirmation, one receipt, whatever happens."""

from __future__ import annotations

import pytest
import requests
import responses

from hub.simulate import load_sample
from integrations.samples import stripe_event
from tests.conftest import post
from tests.payments.wire import TWILIO_MESSAGES, form, message_json, telegram_api, twilio_error

PHONE = "+15550001111"


def paid_session(**changes):
    session = load_sample("stripe", "checkout.session.completed")["data"]["object"]
    session["customer_details"]["phone"] = PHONE
    session["metadata"]["description"] = "concert ticket"
    return {**session, **changes}


def deliver(client, hub, type="checkout.session.completed", data=None, event_id="evt_pay_1"):
    response = post(client, stripe_event(hub.settings, type, data, event_id=event_id))
    assert response.status_code == 200
    return hub.store.get(response.json["event_id"]), response.json


def sent(hub, integration):
    return [e for e in hub.store.outbox() if e.integration == integration]


def test_three_deliveries_give_one_confirmation_and_one_receipt(client, hub):
    answers = [deliver(client, hub, data=paid_session())[1] for _ in range(3)]
    assert [a["duplicate"] for a in answers] == [False, True, True]
    [chat] = sent(hub, "telegram")
    assert chat.payload["chat_id"] == "1001"
    assert chat.payload["text"] == "Payment received: 15.00 EUR for concert ticket. Thank you!"
    [sms] = sent(hub, "twilio")
    assert sms.payload["to"] == PHONE and "15.00 EUR" in sms.payload["body"]


def test_no_phone_no_sms(client, hub):
    deliver(client, hub, data=paid_session(customer_details={"phone": None, "email": "a@b.c"}))
    assert len(sent(hub, "telegram")) == 1
    assert sent(hub, "twilio") == []


@responses.activate
def test_sms_failing_once_is_retried_without_a_second_telegram_message(live):
    client, hub = live
    responses.post(TWILIO_MESSAGES, status=500, json=twilio_error(20500, "Internal Server Error", 500))
    responses.post(TWILIO_MESSAGES, status=201, json=message_json("SM" + "b" * 32))
    with telegram_api() as chat:
        event, _ = deliver(client, hub, data=paid_session())
        assert (event.status, event.attempts) == ("done", 1), "the SMS is a delivery of its own"
        [sms] = hub.store.deliveries(event_id=event.id, status="failed")
        assert sms.channel == "sms" and "Internal Server Error" in sms.last_error
        assert len(chat) == 1, "the confirmation went out whatever the SMS did"
        report = hub.sweep()
    assert (report.ran, report.deliveries.sent) == (0, 1)
    assert hub.store.get_delivery(sms.id).status == "sent"
    assert len(chat) == 1, "only the failed SMS was sent again"
    assert len(responses.calls) == 2
    assert form(responses.calls[1].request.body)["To"] == PHONE
    statuses = sorted((e.integration, e.status) for e in hub.store.outbox())
    assert statuses == [("telegram", "sent"), ("twilio", "failed"), ("twilio", "sent")]


@responses.activate
def test_sms_timeout_is_retried_too(live):
    client, hub = live
    responses.post(TWILIO_MESSAGES, body=requests.exceptions.ConnectTimeout("no route"))
    with telegram_api() as chat:
        event, _ = deliver(client, hub, data=paid_session())
        [sms] = hub.store.deliveries(event_id=event.id, status="failed")
        responses.replace(responses.POST, TWILIO_MESSAGES, status=201, json=message_json())
        hub.sweep()
    assert hub.store.get_delivery(sms.id).status == "sent"
    assert len(chat) == 1


@responses.activate
def test_an_invalid_phone_fails_the_sms_only(live):
    client, hub = live
    invalid = twilio_error(21211, "The 'To' number +15550001111 is not a valid phone number.")
    responses.post(TWILIO_MESSAGES, status=400, json=invalid)
    with telegram_api() as chat:
        event, _ = deliver(client, hub, data=paid_session())
    assert hub.store.get(event.id).status == "done", "retrying cannot fix a bad number"
    assert len(chat) == 1
    [sms] = sent(hub, "twilio")
    assert sms.status == "failed" and "21211" in sms.detail


def test_delayed_payment_is_confirmed_when_it_clears(client, hub):
    session = paid_session(payment_status="unpaid")
    deliver(client, hub, data=session, event_id="evt_pending")
    deliver(client, hub, "checkout.session.async_payment_succeeded", session, event_id="evt_cleared")
    texts = [e.payload["text"] for e in sent(hub, "telegram")]
    assert sorted(texts) == [
        "Payment received: 15.00 EUR for concert ticket. Thank you!",
        "We have your order. We will confirm as soon as your payment clears.",
    ]


def test_failed_delayed_payment_says_what_to_do(client, hub):
    deliver(client, hub, "checkout.session.async_payment_failed", paid_session(), event_id="evt_f")
    [chat] = sent(hub, "telegram")
    assert "did not go through. Send /pay to try again." in chat.payload["text"]


@pytest.mark.parametrize("data", [{}, {"id": "cs_1"}, {"id": "cs_2", "metadata": "not-a-dict"}])
def test_odd_payloads_are_acknowledged_without_messages(client, hub, data):
    event, _ = deliver(client, hub, data=data)
    assert hub.store.get(event.id).status == "done"
    assert sent(hub, "telegram") == []


def test_unknown_event_types_are_recorded_and_acknowledged(client, hub, admin_headers):
    event, answer = deliver(client, hub, "charge.refunded", {"id": "ch_1"}, event_id="evt_unknown")
    assert answer["duplicate"] is False
    assert hub.store.get(event.id).status == "done"
    assert hub.store.outbox() == []
    listed = client.get("/admin/api/events?source=stripe", headers=admin_headers).json
    assert [(e["type"], e["status"]) for e in listed] == [("charge.refunded", "done")]
