"""Invoice and subscription events, including out of order and for unknown subscriptions."""

from __future__ import annotations

import time

from handlers.billing import NAMESPACE
from tests.conftest import post
from tests.payments.wire import signed_stripe, stripe_event_body

NOW = int(time.time())


def deliver(client, hub, type, obj, *, event_id, created=NOW):
    response = post(
        client, signed_stripe(hub.settings, stripe_event_body(type, obj, event_id=event_id, created=created))
    )
    assert response.status_code == 200
    event = hub.store.get(response.json["event_id"])
    assert event.status == "done"
    return event


def texts(hub, integration="telegram"):
    key = "text" if integration == "telegram" else "body"
    return [e.payload[key] for e in reversed(hub.store.outbox()) if e.integration == integration]


def invoice(**fields):
    return {"id": "in_1", "object": "invoice", "currency": "eur", "customer": "cus_1", **fields}


def test_payment_failed_tells_chat_and_phone_what_to_do_next(client, hub):
    retry_at = 1767225600  # 2026-01-01
    deliver(
        client,
        hub,
        "invoice.payment_failed",
        invoice(
            amount_due=900,
            subscription="sub_1",
            customer_phone="+15550001111",
            hosted_invoice_url="https://invoice.stripe.com/i/in_1",
            next_payment_attempt=retry_at,
            metadata={"telegram_chat_id": "1001"},
        ),
        event_id="evt_failed",
    )
    expected = (
        "Your payment of 9.00 EUR did not go through. Please update your card or pay here: "
        "https://invoice.stripe.com/i/in_1 We will try again on 01 Jan 2026."
    )
    assert texts(hub) == [expected]
    assert texts(hub, "twilio") == [expected]


def test_invoice_for_an_unknown_subscription_is_remembered_quietly(client, hub):
    deliver(client, hub, "invoice.paid", invoice(amount_paid=900, subscription="sub_new"), event_id="evt_i")
    assert hub.store.outbox() == []
    assert hub.store.kv_get(NAMESPACE, "sub_new") is not None


def test_renewal_reaches_the_chat_known_from_the_subscription(client, hub):
    subscription = {
        "id": "sub_2",
        "object": "subscription",
        "status": "active",
        "metadata": {"telegram_chat_id": "1001"},
    }
    deliver(client, hub, "customer.subscription.created", subscription, event_id="evt_c")
    # The 2025 API shape: the subscription sits under parent.subscription_details.
    renewal = invoice(
        amount_paid=900,
        billing_reason="subscription_cycle",
        parent={"subscription_details": {"subscription": "sub_2"}},
    )
    deliver(client, hub, "invoice.paid", renewal, event_id="evt_renew")
    first = invoice(amount_paid=900, billing_reason="subscription_create", subscription="sub_2")
    deliver(client, hub, "invoice.paid", first, event_id="evt_first")
    assert texts(hub) == ["Thank you! We received 9.00 EUR for your subscription."], (
        "the first invoice is confirmed by checkout.session.completed, not twice"
    )


def test_deleted_before_created_stays_canceled(client, hub):
    subscription = {"id": "sub_3", "object": "subscription", "metadata": {"telegram_chat_id": "1001"}}
    deliver(
        client,
        hub,
        "customer.subscription.deleted",
        {**subscription, "status": "canceled"},
        event_id="evt_del",
        created=NOW,
    )
    deliver(
        client,
        hub,
        "customer.subscription.created",
        {**subscription, "status": "active"},
        event_id="evt_late",
        created=NOW - 60,
    )
    assert hub.store.kv_get(NAMESPACE, "sub_3")["status"] == "canceled"
    assert texts(hub) == ["Your subscription has ended. Thank you for having been with us!"]


def test_deleted_unknown_subscription_without_contacts_sends_nothing(client, hub):
    deliver(
        client, hub, "customer.subscription.deleted", {"id": "sub_x", "status": "canceled"}, event_id="evt_x"
    )
    assert hub.store.outbox() == []
    assert hub.store.kv_get(NAMESPACE, "sub_x")["status"] == "canceled"


def test_subscription_checkout_links_the_chat_for_later_invoices(client, hub):
    session = {
        "id": "cs_sub",
        "mode": "subscription",
        "subscription": "sub_4",
        "payment_status": "paid",
        "amount_total": 900,
        "currency": "eur",
        "metadata": {"telegram_chat_id": "1001"},
    }
    deliver(client, hub, "checkout.session.completed", session, event_id="evt_cs")
    deliver(
        client,
        hub,
        "invoice.payment_failed",
        invoice(amount_due=900, subscription="sub_4"),
        event_id="evt_pf",
    )
    assert sorted(texts(hub)) == [
        "Payment received: 9.00 EUR for your order. Thank you!",
        "Your payment of 9.00 EUR did not go through.",
    ]
