"""PayPal's events: capture an approved order once, then tell the chat how it went.

`/pay` (handlers.payments) makes the order with its chat in `custom_id`
("telegram:<chat id>" or "sms:<phone>"); PayPal copies it onto the capture, so every
later event knows whom to tell. The integration is imported inside the handlers:
loading this module loads no SDK.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from handlers import router
from handlers.payments import append_sheet_row, as_dict, send_sms
from hub.context import Context
from hub.events import Event

log = logging.getLogger("hub.handlers.paypal")

CHANNELS = ("telegram", "sms")
CAPTURES = "paypal.captures"  # store namespace: capture id -> custom_id, for refunds that lack it
ALREADY_CAPTURED = "ORDER_ALREADY_CAPTURED"


@router.on("paypal", "CHECKOUT.ORDER.APPROVED")
def order_approved(event: Event, ctx: Context) -> None:
    """Capture the approved order: once, however often the approval is delivered or replayed."""
    from integrations.paypal_api import PayPalError, capture_order

    order = resource(event)
    if not order.get("id"):
        return
    try:
        capture = capture_order(ctx, str(order["id"]))
    except PayPalError as exc:
        if exc.issue == ALREADY_CAPTURED:  # captured by an earlier run: its events confirm
            return
        if exc.transient:
            raise  # the event is retried with backoff, under the same PayPal-Request-Id
        tell(ctx, order_custom_id(order), f"Your PayPal payment did not go through: {exc.user_message}")
        return
    if capture.get("status") not in ("COMPLETED", "PENDING", ""):  # DECLINED, VOIDED...
        tell(ctx, order_custom_id(order), "Your PayPal payment did not go through. Send /pay to try again.")


@router.on("paypal", "PAYMENT.CAPTURE.COMPLETED")
def capture_completed(event: Event, ctx: Context) -> None:
    """One confirmation to the chat and a sheet row (the outbox keeps re-runs from repeating)."""
    capture = resource(event)
    amount = amount_text(capture)
    custom = str(capture.get("custom_id") or "")
    if capture.get("id") and custom:
        ctx.store.kv_put(CAPTURES, str(capture["id"]), {"custom_id": custom})
    tell(ctx, custom, f"Payment received: {amount} with PayPal. Thank you!")
    append_sheet_row(
        ctx,
        [
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(event.received_at)),
            str(capture.get("id") or ""),
            amount,
            "PayPal",
            "",
            custom,
        ],
    )


@router.on("paypal", "PAYMENT.CAPTURE.DENIED")
def capture_denied(event: Event, ctx: Context) -> None:
    capture = resource(event)
    text = f"Your PayPal payment of {amount_text(capture)} was declined. Send /pay to try again."
    tell(ctx, str(capture.get("custom_id") or ""), text)


@router.on("paypal", "PAYMENT.CAPTURE.REFUNDED")
def capture_refunded(event: Event, ctx: Context) -> None:
    refund = resource(event)
    custom = str(refund.get("custom_id") or "") or _custom_id_of_capture(ctx, refund)
    tell(ctx, custom, f"Your PayPal payment was refunded: {amount_text(refund)}.")


# -- helpers ----------------------------------------------------------------------------------


def resource(event: Event) -> dict[str, Any]:
    found = as_dict(event.payload.get("resource"))
    if not found:
        log.warning("paypal event without a resource; ignored", extra={"event_id": event.id})
    return found


def order_custom_id(order: dict[str, Any]) -> str:
    units = order.get("purchase_units")
    first = as_dict(units[0]) if isinstance(units, list) and units else {}
    return str(first.get("custom_id") or "")


def tell(ctx: Context, custom: str, text: str) -> None:
    """Tell the chat a custom_id names; one we did not write is logged, not guessed at."""
    channel, _, address = custom.partition(":")
    if channel not in CHANNELS or not address:
        log.info(
            "paypal event names no chat of ours (custom_id %r)", custom[:40], extra={"event_id": ctx.event.id}
        )
        return
    if channel == "sms":
        send_sms(ctx, address, text)
    else:
        ctx.send_text("telegram", address, text)


def amount_text(obj: dict[str, Any]) -> str:
    """{"value": "15.00", "currency_code": "EUR"} -> "15.00 EUR"."""
    amount = as_dict(obj.get("amount"))
    value, code = str(amount.get("value") or ""), str(amount.get("currency_code") or "").upper()
    try:
        Decimal(value)
    except InvalidOperation:
        return f"an amount in {code}" if code else "your payment"
    return f"{value} {code}".strip()


def _custom_id_of_capture(ctx: Context, refund: dict[str, Any]) -> str:
    """A refund names its capture in its `up` link; the capture's chat was kept when it completed."""
    for link in refund.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "up" and "/captures/" in str(link.get("href")):
            capture_id = str(link["href"]).rstrip("/").rsplit("/", 1)[-1]
            return str((ctx.store.kv_get(CAPTURES, capture_id) or {}).get("custom_id") or "")
    return ""
