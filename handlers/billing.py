"""Billing: Stripe invoice and subscription events, in whatever order they arrive.

What we know of each subscription (who to tell, its status) lives in the store under
`stripe_subscriptions`, stamped with the Stripe event's `created` time, so an older
event arriving late (a `created` after its `deleted`) never overwrites a newer state.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from handlers import router
from handlers.money import format_amount
from handlers.payments import as_dict, event_created, stripe_object, tell
from hub.context import Context
from hub.events import Event

log = logging.getLogger("hub.handlers.billing")

NAMESPACE = "stripe_subscriptions"


def remember_subscription(
    ctx: Context, subscription_id: str, event: Event, *, status: str = "", chat_id: str = "", phone: str = ""
) -> dict[str, Any]:
    """Merge what `event` says about a subscription into the store; returns the result."""
    known = ctx.store.kv_get(NAMESPACE, subscription_id) or {}
    created = event_created(event)
    record = dict(known)
    record["chat_id"] = known.get("chat_id") or chat_id
    record["phone"] = known.get("phone") or phone
    if status and created >= float(known.get("status_at") or 0):
        record["status"], record["status_at"] = status, created
    ctx.store.kv_put(NAMESPACE, subscription_id, record)
    return record


def _subscription(event: Event) -> tuple[dict[str, Any], str] | None:
    """The event's subscription object and the chat in its metadata; None without an id."""
    subscription = stripe_object(event)
    if subscription is None or not subscription.get("id"):
        return None
    return subscription, str(as_dict(subscription.get("metadata")).get("telegram_chat_id") or "")


@router.on("stripe", "customer.subscription.created")
@router.on("stripe", "customer.subscription.updated")
def subscription_changed(event: Event, ctx: Context) -> None:
    if (found := _subscription(event)) is None:
        return
    subscription, chat_id = found
    remember_subscription(
        ctx, str(subscription["id"]), event, status=str(subscription.get("status") or ""), chat_id=chat_id
    )


@router.on("stripe", "customer.subscription.deleted")
def subscription_deleted(event: Event, ctx: Context) -> None:
    if (found := _subscription(event)) is None:
        return
    subscription, chat_id = found
    # Recorded even when unknown: a late `created` must not bring it back to life.
    record = remember_subscription(ctx, str(subscription["id"]), event, status="canceled", chat_id=chat_id)
    if not (record.get("chat_id") or record.get("phone")):
        log.info("ended subscription has nobody to tell", extra={"event_id": event.id})
        return
    tell(
        ctx,
        {},
        "Your subscription has ended. Thank you for having been with us!",
        chat_id=record["chat_id"],
        phone=record["phone"],
    )


@router.on("stripe", "invoice.paid")
def invoice_paid(event: Event, ctx: Context) -> None:
    invoice = stripe_object(event)
    if invoice is None:
        return
    record = _invoice_subscription(ctx, event, invoice)
    if record is None:
        return  # not a subscription invoice: a one-off Checkout payment confirms itself
    if invoice.get("billing_reason") == "subscription_create":
        return  # the first payment is confirmed by checkout.session.completed
    amount = format_amount(invoice.get("amount_paid"), invoice.get("currency"))
    _tell_subscriber(ctx, event, record, f"Thank you! We received {amount} for your subscription.")


@router.on("stripe", "invoice.payment_failed")
def invoice_payment_failed(event: Event, ctx: Context) -> None:
    invoice = stripe_object(event)
    if invoice is None:
        return
    record = _invoice_subscription(ctx, event, invoice) or _contacts(invoice)
    amount = format_amount(invoice.get("amount_due"), invoice.get("currency"))
    text = f"Your payment of {amount} did not go through."
    if invoice.get("hosted_invoice_url"):
        text += f" Please update your card or pay here: {invoice['hosted_invoice_url']}"
    next_attempt = invoice.get("next_payment_attempt")
    if isinstance(next_attempt, int) and next_attempt > 0:
        text += f" We will try again on {time.strftime('%d %b %Y', time.gmtime(next_attempt))}."
    _tell_subscriber(ctx, event, record, text)


def _invoice_subscription(ctx: Context, event: Event, invoice: dict[str, Any]) -> dict[str, Any] | None:
    """The subscription an invoice belongs to (remembered with its contacts), or None."""
    # Older API versions put it at `subscription`; 2025 ones under parent.subscription_details.
    details = as_dict(as_dict(invoice.get("parent")).get("subscription_details"))
    subscription_id = invoice.get("subscription") or details.get("subscription")
    if not isinstance(subscription_id, str) or not subscription_id:
        return None
    if ctx.store.kv_get(NAMESPACE, subscription_id) is None:
        # Stripe does not promise order: the invoice may come before the subscription.
        log.info("invoice for a subscription not seen yet", extra={"event_id": event.id})
    contacts = _contacts(invoice, as_dict(details.get("metadata")))
    return remember_subscription(ctx, subscription_id, event, **contacts)


def _contacts(invoice: dict[str, Any], extra_metadata: dict[str, Any] | None = None) -> dict[str, str]:
    metadata = {**(extra_metadata or {}), **as_dict(invoice.get("metadata"))}
    return {
        "chat_id": str(metadata.get("telegram_chat_id") or ""),
        "phone": str(invoice.get("customer_phone") or ""),
    }


def _tell_subscriber(ctx: Context, event: Event, record: dict[str, Any], text: str) -> None:
    if not (record.get("chat_id") or record.get("phone")):
        log.info("invoice has nobody to tell", extra={"event_id": event.id})
        return
    tell(ctx, {}, text, chat_id=record.get("chat_id", ""), phone=record.get("phone", ""))
