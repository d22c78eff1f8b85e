"""The PayPal story: `/pay` -> an order -> approval captured once -> one confirmation.

PayPal is the fake on 127.0.0.1 (the SDK's own requests calls reach it), Telegram is
respx (PTB sends with httpx), Stripe is `responses` (letting the fake pass through).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import responses

from hub.services import hub_of
from integrations.samples import paypal_event, telegram_message
from tests.auxil.server import serving
from tests.conftest import post
from tests.payments.wire import STRIPE_SESSIONS, session_json
from tests.paypal.conftest import signed
from tests.paypal.fake_paypal import TOKEN_SECONDS

CHAT = "1001"  # the samples' custom_id is telegram:1001
ORDER = "5O190127TN364715T"
CONFIRMATION = "Payment received: 15.00 EUR with PayPal. Thank you!"


def pay(client, hub, text="/pay 15 concert ticket", chat_id=int(CHAT)):  # noqa: ANN001, ANN201
    response = post(client, telegram_message(hub.settings, text, chat_id=chat_id))
    assert response.status_code == 200
    return response.json


def buttons(answer) -> dict[str, str]:  # noqa: ANN001
    return {b["text"]: b["url"] for [b] in answer["reply_markup"]["inline_keyboard"]}


@responses.activate
def test_pay_offers_stripe_and_paypal_buttons_and_the_order_carries_the_chat(live, paypal):
    client, hub = live
    responses.add_passthru(paypal.url)
    responses.post(STRIPE_SESSIONS, json=session_json("cs_test_both"))
    answer = pay(client, hub, chat_id=42)
    [order_id] = paypal.orders
    assert buttons(answer) == {
        "Pay with Stripe": "https://checkout.stripe.com/c/pay/cs_test_both",
        "Pay with PayPal": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
    }
    [create] = paypal.calls("POST", "/v2/checkout/orders")
    assert create["json"]["intent"] == "CAPTURE"
    assert create["json"]["purchase_units"][0]["custom_id"] == "telegram:42"
    assert create["json"]["purchase_units"][0]["amount"] == {"currency_code": "EUR", "value": "15.00"}
    event = hub.store.events(source="telegram")[0]
    assert create["headers"]["Paypal-Request-Id"] == f"hub-{event.id}-order"


def test_the_oauth_token_is_fetched_once_and_shared_through_the_cache(
    make_app, live_config, redis_config, paypal, chat
):
    config = {**live_config, **redis_config, "STRIPE_API_KEY": ""}
    first, second = make_app(config), make_app(config)
    for app in (first, second, first):
        assert "Pay with PayPal" in str(pay(app.test_client(), hub_of(app)))
    assert len(paypal.orders) == 3
    assert paypal.tokens_issued == 1
    redis = hub_of(first).cache.cache._read_client  # the TTL Redis keeps for the token
    [key] = redis.keys(redis_config["HUB_REDIS_PREFIX"] + "cache:paypal:oauth:*")
    assert TOKEN_SECONDS - 305 <= redis.ttl(key) <= TOKEN_SECONDS - 300, "dropped 5 min before it expires"


def test_bad_credentials_are_not_blamed_on_the_payer(make_app, live_config, chat):
    app = make_app({**live_config, "PAYPAL_CLIENT_SECRET": "wrong-secret-0123", "STRIPE_API_KEY": ""})
    answer = pay(app.test_client(), hub_of(app))
    assert answer["text"] == "PayPal payments are not working right now; the operator has been told."
    assert "wrong-secret" not in str(answer)


def test_approval_is_captured_once_however_often_delivered_or_replayed(live, pki, paypal, admin_headers):
    client, hub = live
    answers = [post(client, signed(pki, "CHECKOUT.ORDER.APPROVED", event_id="WH-APPROVED")) for _ in "abc"]
    assert [a.json["duplicate"] for a in answers] == [False, True, True]
    replayed = client.post(f"/admin/api/events/{answers[0].json['event_id']}/replay", headers=admin_headers)
    assert replayed.status_code == 200
    calls = paypal.calls("POST", f"/v2/checkout/orders/{ORDER}/capture")
    # The replay asks again (a replay re-runs its calls), under the same PayPal-Request-Id.
    assert [c["headers"]["Paypal-Request-Id"] for c in calls] == [f"hub-capture-{ORDER}"] * 2
    assert paypal.captures == [{"order_id": ORDER}], "PayPal captured once"


def test_a_paypal_outage_at_capture_is_retried_later_and_captures_once(live, pki, paypal, chat):
    client, hub = live
    paypal.capture_outages = 3  # the first try and the SDK's two retries
    post(client, signed(pki, "CHECKOUT.ORDER.APPROVED"))
    [event] = hub.store.events(source="paypal")
    assert event.status == "failed" and paypal.captures == []
    hub.sweep()  # the retry is due at once (HUB_RETRY_BASE_SECONDS=0)
    assert hub.store.get(event.id).status == "done"
    calls = paypal.calls("POST", f"/v2/checkout/orders/{ORDER}/capture")
    assert len(calls) == 4 and {c["headers"]["Paypal-Request-Id"] for c in calls} == {f"hub-capture-{ORDER}"}
    assert paypal.captures == [{"order_id": ORDER}] and chat == []


def test_an_approval_for_an_order_captured_elsewhere_is_done_quietly(live, pki, paypal, chat):
    client, hub = live
    paypal.orders[ORDER] = {"id": ORDER, "status": "COMPLETED"}
    post(client, signed(pki, "CHECKOUT.ORDER.APPROVED"))
    assert hub.store.events(source="paypal")[0].status == "done"
    assert chat == [] and paypal.captures == []


def test_a_declined_instrument_at_capture_is_told_to_the_chat(live, pki, paypal, chat):
    client, hub = live
    declined = {"issue": "INSTRUMENT_DECLINED", "description": "The instrument presented was declined."}
    paypal.capture_refusal = {"name": "UNPROCESSABLE_ENTITY", "message": "declined", "details": [declined]}
    post(client, signed(pki, "CHECKOUT.ORDER.APPROVED"))
    [message] = chat
    assert message["chat_id"] == CHAT
    assert "did not go through" in message["text"] and "declined" in message["text"]
    assert hub.store.events(source="paypal")[0].status == "done"


def test_a_completed_capture_is_confirmed_once(live, pki, chat):
    client, hub = live
    answers = [post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED", event_id="WH-DONE-1")) for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert [(m["chat_id"], m["text"]) for m in chat] == [(CHAT, CONFIRMATION)]


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_24_concurrent_duplicates_give_one_capture_and_one_confirmation(
    make_app, live_config, pki, paypal, chat, request, store
):
    on_redis = request.getfixturevalue("redis_config") if store == "redis" else {}
    app = make_app({**live_config, **on_redis})
    approvals = [signed(pki, "CHECKOUT.ORDER.APPROVED", event_id="WH-RACE-APPROVED") for _ in range(24)]
    completions = [signed(pki, "PAYMENT.CAPTURE.COMPLETED", event_id="WH-RACE-DONE") for _ in range(24)]
    with serving(app) as base, ThreadPoolExecutor(max_workers=24) as pool:

        def send(request):  # noqa: ANN001, ANN202
            return requests.post(request.url(base), data=request.body, headers=request.headers, timeout=30)

        answers = list(pool.map(send, approvals + completions))
    assert [a.status_code for a in answers] == [200] * 48
    assert sorted(a.json()["duplicate"] for a in answers).count(False) == 2
    assert paypal.captures == [{"order_id": ORDER}]
    assert len(paypal.calls("POST", "/v2/checkout/orders/")) == 1
    assert [m["text"] for m in chat] == ["Payment received: 15.00 EUR with PayPal. Thank you!"]


def test_denied_and_refunded_captures_are_told_to_the_chat(live, pki, chat):
    client, hub = live
    post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED"))
    post(client, signed(pki, "PAYMENT.CAPTURE.DENIED"))
    refund = signed(pki, "PAYMENT.CAPTURE.REFUNDED").body  # a refund without custom_id: found by its capture
    import json

    event = json.loads(refund)
    del event["resource"]["custom_id"]
    post(client, signed(pki, "PAYMENT.CAPTURE.REFUNDED", event["resource"]))
    assert [m["text"] for m in chat] == [
        "Payment received: 15.00 EUR with PayPal. Thank you!",
        "Your PayPal payment of 15.00 EUR was declined. Send /pay to try again.",
        "Your PayPal payment was refunded: 15.00 EUR.",
    ]
    assert {m["chat_id"] for m in chat} == {CHAT}


def test_a_custom_id_that_is_not_ours_tells_nobody(live, pki, chat):
    client, hub = live
    capture = {"id": "X", "custom_id": "order-77", "amount": {"value": "1", "currency_code": "EUR"}}
    post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED", capture))
    assert chat == [] and hub.store.events(source="paypal")[0].status == "done"


def test_dry_run_records_the_order_and_the_capture(client, hub):
    answer = pay(client, hub)
    assert buttons(answer)["Pay with PayPal"].startswith("http://127.0.0.1/dry-run/paypal/approve/")
    post(client, paypal_event(hub.settings, "CHECKOUT.ORDER.APPROVED"))
    calls = {(e.integration, e.action): e for e in hub.store.outbox()}
    assert calls[("paypal", "orders.create")].payload["purchase_units"][0]["custom_id"] == f"telegram:{CHAT}"
    capture = calls[("paypal", "orders.capture")]
    assert capture.payload == {"id": ORDER, "paypal_request_id": f"hub-capture-{ORDER}"}
    assert calls[("paypal", "orders.capture")].status == "recorded"


def test_an_event_id_is_remembered_through_paypals_three_days_of_retries(live, pki, chat):
    client, hub = live
    assert hub.settings.hub_dedup_days >= 3
    first = post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED", event_id="WH-LATE-RETRY"))
    real_clock = hub.store.clock
    hub.store.clock = lambda: real_clock() + 3 * 86400 + 3600  # PayPal's last retry, and then some
    assert hub.store.purge() == 0
    late = post(client, signed(pki, "PAYMENT.CAPTURE.COMPLETED", event_id="WH-LATE-RETRY"))
    assert (first.json["duplicate"], late.json["duplicate"]) == (False, True)
    assert [m["text"] for m in chat] == [CONFIRMATION]
