"""Payments: `/pay` makes a Stripe Checkout link (and a PayPal order: handlers.paypal);
Stripe's checkout events confirm it.

Integrations are imported inside the handlers so that loading this module (every cold
start) does not load the Stripe, Twilio or Google SDKs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from handlers import router
from handlers.money import AmountError, decimal_text, format_amount, parse_amount
from hub.context import Context
from hub.events import ChatMessage, Event

log = logging.getLogger("hub.handlers.payments")

PAY_USAGE = "/pay <amount> [what for]"
MAX_DESCRIPTION = 120


@router.command("pay", help="get a payment link, e.g. /pay 15 concert ticket", usage=PAY_USAGE)
def pay(event: Event, ctx: Context) -> None:
    """A link for each configured provider: buttons on Telegram, one line each by SMS."""
    message = event.message
    if message is None:
        return
    currency = ctx.settings.hub_currency
    if not ctx.args:
        ctx.reply(f"How much? Write {PAY_USAGE}, e.g. /pay 15 or /pay 15.50 ({currency}).")
        return
    try:
        amount = parse_amount(ctx.args[0], currency)
    except AmountError as exc:
        ctx.reply(str(exc))
        return
    description = " ".join(ctx.args[1:])[:MAX_DESCRIPTION].strip() or "Payment"
    links, problems = payment_links(ctx, amount, currency, description, message)
    if not links:
        ctx.reply(problems[0] if problems else "Payments are not set up yet. Please tell the operator.")
        return
    shown = format_amount(amount, currency)
    if message.channel != "telegram":
        lines = [f"Pay with {name}: {url}" for name, url in links]
        ctx.reply("\n".join([f"{description}: {shown}.", *lines, *problems]))
        return
    buttons = [[{"text": f"Pay with {name}", "url": url}] for name, url in links]
    ctx.reply(
        " ".join([f"{description}: {shown}. Tap a button to pay securely.", *problems]),
        reply_markup={"inline_keyboard": buttons},
    )


def payment_links(
    ctx: Context, amount: int, currency: str, description: str, message: ChatMessage
) -> tuple[list[tuple[str, str]], list[str]]:
    """(provider, URL) for each configured provider, and what the payer should hear of failures.

    Each provider already retried what was worth retrying; the payer hears why at once.
    """
    from integrations.paypal_api import PayPalError, create_order
    from integrations.stripe import CheckoutError, create_checkout_session

    settings = ctx.settings
    links: list[tuple[str, str]] = []
    problems: list[str] = []
    if settings.hub_dry_run or settings.stripe_api_key:
        chat_id = message.address if message.channel == "telegram" else ""  # SMS: Checkout asks the phone
        try:
            session = create_checkout_session(ctx, amount, currency, description, chat_id)
            links.append(("Stripe", session["url"]))
        except CheckoutError as exc:
            log.warning("checkout not created: %s", exc.user_message, extra={"event_id": ctx.event.id})
            problems.append(exc.user_message)
    if settings.hub_dry_run or (settings.paypal_client_id and settings.paypal_client_secret):
        custom_id = f"{message.channel}:{message.address}"  # whom handlers.paypal tells
        try:
            links.append(
                (
                    "PayPal",
                    create_order(ctx, decimal_text(amount, currency), currency, description, custom_id)[
                        "url"
                    ],
                )
            )
        except PayPalError as exc:
            log.warning("paypal order not created: %s", exc.user_message, extra={"event_id": ctx.event.id})
            problems.append(exc.user_message)
    return links, problems


@router.on("stripe", "checkout.session.completed")
def checkout_completed(event: Event, ctx: Context) -> None:
    session = stripe_object(event)
    if session is None:
        return
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        # Bank debits and vouchers settle later: async_payment_succeeded confirms them.
        tell(ctx, session, "We have your order. We will confirm as soon as your payment clears.")
        return
    confirm_payment(event, ctx, session)


@router.on("stripe", "checkout.session.async_payment_succeeded")
def async_payment_succeeded(event: Event, ctx: Context) -> None:
    session = stripe_object(event)
    if session is not None:
        confirm_payment(event, ctx, session)


@router.on("stripe", "checkout.session.async_payment_failed")
def async_payment_failed(event: Event, ctx: Context) -> None:
    session = stripe_object(event)
    if session is not None:
        amount = format_amount(session.get("amount_total"), session.get("currency"))
        tell(ctx, session, f"Your payment of {amount} did not go through. Send /pay to try again.")


def confirm_payment(event: Event, ctx: Context, session: dict[str, Any]) -> None:
    """One confirmation to the chat, an SMS receipt, a sheet row.

    The steps always run in this order, so on a retry after a partial failure the
    outbox recognises the calls that already went out and does not repeat them.
    """
    metadata = as_dict(session.get("metadata"))
    amount = format_amount(session.get("amount_total"), session.get("currency"))
    description = str(metadata.get("description") or "your order")
    chat_id = str(metadata.get("telegram_chat_id") or "")
    customer = as_dict(session.get("customer_details"))
    if chat_id:
        ctx.send_text("telegram", chat_id, f"Payment received: {amount} for {description}. Thank you!")
    if customer.get("phone"):
        send_sms(ctx, str(customer["phone"]), f"Receipt: {amount} paid for {description}. Thank you!")
    if not chat_id and not customer.get("phone"):
        log.info("paid session has nobody to tell", extra={"event_id": event.id})
    if session.get("mode") == "subscription" and session.get("subscription"):
        from handlers.billing import remember_subscription

        remember_subscription(
            ctx,
            str(session["subscription"]),
            event,
            status="active",
            chat_id=chat_id,
            phone=str(customer.get("phone") or ""),
        )
    append_sheet_row(
        ctx,
        [
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(event_created(event))),
            str(session.get("id") or ""),
            amount,
            description,
            str(customer.get("email") or ""),
            chat_id,
        ],
    )


# -- helpers shared with handlers.billing ------------------------------------------------


def stripe_object(event: Event) -> dict[str, Any] | None:
    """`data.object` of a Stripe event; None (logged, acknowledged) when the payload lacks it."""
    obj = as_dict(as_dict(event.payload.get("data")).get("object"))
    if not obj:
        log.warning("stripe event without data.object; ignored", extra={"event_id": event.id})
        return None
    return obj


def tell(ctx: Context, obj: dict[str, Any], text: str, *, chat_id: str = "", phone: str = "") -> None:
    """Tell whoever a Stripe object names: its metadata chat, and its phone by SMS."""
    chat_id = chat_id or str(as_dict(obj.get("metadata")).get("telegram_chat_id") or "")
    phone = phone or str(as_dict(obj.get("customer_details")).get("phone") or obj.get("customer_phone") or "")
    if chat_id:
        ctx.send_text("telegram", chat_id, text)
    if phone:
        send_sms(ctx, phone, text)


def send_sms(ctx: Context, phone: str, text: str) -> None:
    """An SMS that may be refused for good (bad number, opted out) without failing the event."""
    from integrations.twilio import SmsRejected

    try:
        ctx.send_text("sms", phone, text)
    except SmsRejected as exc:  # recorded in the outbox as failed; the other steps go on
        log.warning("sms not sent: %s", exc.reason, extra={"event_id": ctx.event.id})


def append_sheet_row(ctx: Context, values: list[Any]) -> None:
    """Append to the configured Google Sheet (nothing when GOOGLE_SHEET_ID is unset)."""
    from integrations import google_sheets

    google_sheets.append_sheet_row(ctx, values)


def event_created(event: Event) -> float:
    """When Stripe created the event (its order), else when we received it."""
    created = event.payload.get("created")
    return float(created) if isinstance(created, int | float) and created > 0 else event.received_at


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
