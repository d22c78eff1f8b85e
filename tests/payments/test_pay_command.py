"""`/pay <amount> [what for]`: a Stripe Checkout link, or a clear answer why not."""

from __future__ import annotations

import pytest
import requests
import responses

from integrations.samples import telegram_message, twilio_sms
from tests.conftest import post
from tests.payments.wire import LIVE, STRIPE_SESSIONS, form, session_json, stripe_error, telegram_api


def pay(client, hub, text, chat_id=42):
    response = post(client, telegram_message(hub.settings, text, chat_id=chat_id))
    assert response.status_code == 200
    return response.json


def stripe_calls(hub):
    """The Checkout calls recorded (a dry-run /pay offers PayPal as well)."""
    return [e for e in hub.store.outbox() if e.integration == "stripe"]


def button_url(answer, provider="Stripe"):
    rows = answer["reply_markup"]["inline_keyboard"]
    [url] = [b["url"] for [b] in rows if b["text"] == f"Pay with {provider}"]
    return url


def test_dry_run_answers_with_a_link_button_and_records_the_session(client, hub):
    answer = pay(client, hub, "/pay 15 concert ticket")
    assert answer["method"] == "sendMessage" and answer["chat_id"] == "42"
    assert "15.00 EUR" in answer["text"] and "concert ticket" in answer["text"]
    assert button_url(answer).startswith("http://127.0.0.1/dry-run/checkout/cs_dry_")
    assert button_url(answer, "PayPal").startswith("http://127.0.0.1/dry-run/paypal/approve/")
    [entry] = stripe_calls(hub)
    assert (entry.integration, entry.action) == ("stripe", "checkout.sessions.create")
    assert entry.status == "recorded"
    assert entry.payload["metadata"]["telegram_chat_id"] == "42"
    assert entry.payload["line_items"][0]["price_data"] == {
        "currency": "eur",
        "unit_amount": 1500,
        "product_data": {"name": "concert ticket"},
    }


@pytest.mark.parametrize(
    "text, expected",
    [
        ("/pay", "How much?"),
        ("/pay abc", "'abc' is not an amount"),
        ("/pay 15.555", "'15.555' is not an amount"),
        ("/pay -5", "'-5' is not an amount"),
        ("/pay 0", "more than zero"),
        ("/pay 0.00", "more than zero"),
        ("/pay 1000000", "at most 999999.99 EUR"),
    ],
)
def test_bad_amounts_get_a_clear_answer_and_no_session(client, hub, text, expected):
    answer = pay(client, hub, text)
    assert expected in answer["text"]
    assert hub.store.outbox() == []


def test_comma_decimals_and_configured_currency(make_app):
    app = make_app({"HUB_CURRENCY": "usd"})
    from hub.services import hub_of

    hub = hub_of(app)
    answer = pay(app.test_client(), hub, "/pay 15,5")
    assert "15.50 USD" in answer["text"]
    assert stripe_calls(hub)[0].payload["line_items"][0]["price_data"]["unit_amount"] == 1550


def test_zero_decimal_currency_takes_whole_amounts_only(make_app):
    from hub.services import hub_of

    app = make_app({"HUB_CURRENCY": "JPY"})
    hub = hub_of(app)
    assert "Write it like 15 (JPY)" in pay(app.test_client(), hub, "/pay 15.50")["text"]
    pay(app.test_client(), hub, "/pay 1500")
    assert stripe_calls(hub)[0].payload["line_items"][0]["price_data"]["unit_amount"] == 1500


def test_pay_by_sms_texts_a_link_for_each_provider(client, hub):
    response = post(client, twilio_sms(hub.settings, "http://localhost", "PAY 15", sender="+15550001111"))
    text = response.data.decode()
    assert "Pay with Stripe: http://127.0.0.1/dry-run/checkout/cs_dry_" in text
    assert "Pay with PayPal: http://127.0.0.1/dry-run/paypal/approve/" in text
    [order] = [e for e in hub.store.outbox() if e.integration == "paypal"]
    assert order.payload["purchase_units"][0]["custom_id"] == "sms:+15550001111"


@responses.activate
def test_live_session_carries_chat_id_and_an_idempotency_key_from_the_event(live):
    client, hub = live
    responses.post(STRIPE_SESSIONS, json=session_json("cs_test_live1"))
    answer = pay(client, hub, "/pay 15.50", chat_id=77)
    assert button_url(answer) == "https://checkout.stripe.com/c/pay/cs_test_live1"
    [call] = responses.calls
    sent = form(call.request.body)
    assert sent["metadata[telegram_chat_id]"] == "77"
    assert sent["line_items[0][price_data][unit_amount]"] == "1550"
    assert sent["line_items[0][price_data][currency]"] == "eur"
    assert sent["phone_number_collection[enabled]"] == "true", "Twilio is set up: collect a phone"
    event = hub.store.events(source="telegram")[0]
    assert call.request.headers["Idempotency-Key"] == f"hub-{event.id}-checkout"
    assert call.request.headers["Authorization"] == "Bearer " + LIVE["STRIPE_API_KEY"]
    [entry] = hub.store.outbox()
    assert (entry.status, entry.ref) == ("sent", "cs_test_live1")


@responses.activate
def test_replayed_pay_reuses_the_idempotency_key(live, admin_headers):
    client, hub = live
    responses.post(STRIPE_SESSIONS, json=session_json("cs_test_same"))
    pay(client, hub, "/pay 15")
    event = hub.store.events(source="telegram")[0]
    with telegram_api() as sent:  # a replay answers by a sent message, not in a webhook response
        replayed = client.post(f"/admin/api/events/{event.id}/replay", headers=admin_headers)
    assert replayed.status_code == 200
    keys = [call.request.headers["Idempotency-Key"] for call in responses.calls]
    assert keys == [f"hub-{event.id}-checkout"] * 2, "Stripe answers a repeated key with the same session"
    [message] = sent
    assert "https://checkout.stripe.com/c/pay/cs_test_same" in message["reply_markup"]


@responses.activate
def test_stripe_refusal_is_told_to_the_payer(live):
    client, hub = live
    message = "Amount must be at least €0.50 eur"
    responses.post(STRIPE_SESSIONS, status=400, json=stripe_error(message, param="line_items[0]"))
    answer = pay(client, hub, "/pay 0.10")
    assert answer["text"] == f"Stripe refused this payment: {message}"
    assert "reply_markup" not in answer
    assert hub.store.events(source="telegram")[0].status == "done"
    assert [e.status for e in hub.store.outbox()] == ["failed"]


@responses.activate
def test_stripe_5xx_is_retried_by_the_sdk_with_the_same_key_then_explained(live):
    client, hub = live
    for _ in range(3):
        responses.post(STRIPE_SESSIONS, status=500, json=stripe_error("boom", type="api_error"))
    answer = pay(client, hub, "/pay 15")
    assert "Stripe is not answering right now" in answer["text"]
    assert len(responses.calls) == 3, "one try and two SDK retries"
    assert len({c.request.headers["Idempotency-Key"] for c in responses.calls}) == 1


@responses.activate
def test_stripe_5xx_then_success_within_the_sdk_retries_gives_the_link(live):
    client, hub = live
    responses.post(STRIPE_SESSIONS, status=503, json=stripe_error("busy", type="api_error"))
    responses.post(STRIPE_SESSIONS, json=session_json("cs_test_second"))
    answer = pay(client, hub, "/pay 15")
    assert button_url(answer).endswith("cs_test_second")


@responses.activate
def test_stripe_rate_limit_and_timeouts_are_explained(live):
    client, hub = live
    too_many = stripe_error("Too many requests", type="rate_limit_error")
    responses.post(STRIPE_SESSIONS, status=429, json=too_many)
    assert "busy right now" in pay(client, hub, "/pay 15")["text"]
    responses.replace(responses.POST, STRIPE_SESSIONS, body=requests.exceptions.ReadTimeout("slow"))
    assert "not answering" in pay(client, hub, "/pay 15")["text"]


@responses.activate
def test_a_wrong_api_key_is_not_blamed_on_the_payer(live):
    client, hub = live
    responses.post(
        STRIPE_SESSIONS, status=401, json=stripe_error("Invalid API Key provided: sk_test_****6789")
    )
    answer = pay(client, hub, "/pay 15")
    assert answer["text"] == "Payments are not working right now; the operator has been told."
    assert "sk_test" not in answer["text"]


@responses.activate
def test_success_url_is_sent_when_configured(make_app):
    from hub.services import hub_of

    app = make_app({**LIVE, "STRIPE_SUCCESS_URL": "https://shop.example.com/thanks"})
    responses.post(STRIPE_SESSIONS, json=session_json())
    pay(app.test_client(), hub_of(app), "/pay 15")
    assert form(responses.calls[0].request.body)["success_url"] == "https://shop.example.com/thanks"


def test_live_without_a_stripe_key_says_payments_are_not_set_up(make_app):
    from hub.services import hub_of

    app = make_app({**LIVE, "STRIPE_API_KEY": ""})
    with responses.RequestsMock():  # nothing may reach Stripe
        answer = pay(app.test_client(), hub_of(app), "/pay 15")
    assert answer["text"].startswith("Payments are not set up yet")


@pytest.mark.parametrize("value", ["EURO", "12", "€"])
def test_a_malformed_currency_stops_start_up_with_its_name(make_app, value):
    from hub.errors import ConfigError

    with pytest.raises(ConfigError, match="HUB_CURRENCY"):
        make_app({"HUB_CURRENCY": value})
