"""SMS: opt-out keywords (STOP/START), delivery reports, and `/sms` for admins."""

from __future__ import annotations

import logging
import re

from handlers import router
from hub.context import Context
from hub.events import Event

log = logging.getLogger("hub.handlers.sms")

# Twilio's default opt-out and opt-in keywords (a message that is exactly one of them).
OPT_OUT_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
OPT_IN_WORDS = ("START", "YES", "UNSTOP")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Delivery statuses in the order they happen; a late callback never moves a message back.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 4,
    "canceled": 3,
}
DELIVERY_NAMESPACE = "sms_delivery"
SMS_USAGE = "/sms <+number> <text>"


@router.keyword("sms", *OPT_OUT_WORDS)
def opt_out(event: Event, ctx: Context) -> None:
    from handlers.subscriptions import drop_subscriber
    from integrations.twilio import record_optout

    if event.message is not None:  # always: keywords only match chat messages
        record_optout(ctx, event.message.address, opted_out=True, via=event.message.text.strip().upper())
        # The carrier blocks our texts to this number from now on: its subscriptions go too.
        drop_subscriber(ctx, "sms", event.message.address)
    ctx.reply(
        "You will get no more messages from us, and your subscriptions are cancelled. "
        "Text START to get messages again."
    )


@router.keyword("sms", *OPT_IN_WORDS)
def opt_in(event: Event, ctx: Context) -> None:
    from integrations.twilio import record_optout

    if event.message is not None:
        record_optout(ctx, event.message.address, opted_out=False, via=event.message.text.strip().upper())
    ctx.reply("Welcome back: you will get our messages again. Text STOP to stop them.")


@router.on("twilio", "sms.status")
def delivery_status(event: Event, ctx: Context) -> None:
    """Twilio's report on a message we sent: its outbox entry's `provider_status` (found by SID)."""
    sid = str(event.payload.get("MessageSid") or "")
    status = str(event.payload.get("MessageStatus") or "").lower()
    if not sid or not status:
        return
    rank = STATUS_RANK.get(status, 0)
    seen = ctx.store.kv_get(DELIVERY_NAMESPACE, sid) or {}
    if rank < int(seen.get("rank", -1)):
        log.info("late delivery report ignored", extra={"event_id": event.id})
        return
    code = str(event.payload.get("ErrorCode") or "")
    detail = f"Twilio error {code}" if code else ""
    if code == "21610":  # the recipient had opted out with the carrier
        from integrations.twilio import record_optout

        record_optout(ctx, str(event.payload.get("To") or ""), opted_out=True, via="twilio-21610")
    ctx.store.kv_put(DELIVERY_NAMESPACE, sid, {"status": status, "rank": rank})
    # The provider's report has a field of its own: the entry's `status` stays our call's.
    if ctx.store.record_provider_report(sid, status=status, detail=detail) is None:
        log.info("delivery report for a message not in the outbox", extra={"event_id": event.id})


@router.command("sms", help="send an SMS (admins only)", usage=SMS_USAGE)
def sms_command(event: Event, ctx: Context) -> None:
    from integrations.twilio import SUPPRESSED, SmsRejected

    message = event.message
    admins = ctx.settings.hub_admin_chat_ids
    if message is None or message.channel != "telegram" or message.address not in admins:
        ctx.reply("Sorry, only the hub's administrators can send SMS from here.")
        return
    if len(ctx.args) < 2:
        ctx.reply(f"Write {SMS_USAGE}, e.g. /sms +447700900123 Your table is ready.")
        return
    number, text = ctx.args[0], message.text.strip().split(maxsplit=2)[2]
    if not E164.match(number):
        ctx.reply(f"{number} is not a phone number in international form: write it like +447700900123.")
        return
    try:
        result = ctx.send_now("sms", number, text)  # the operator hears the outcome
    except SmsRejected as exc:
        ctx.reply(f"Not sent: {exc.reason}")
        return
    if result.entry.status == SUPPRESSED:
        ctx.reply(f"Not sent: {number} has opted out (texted STOP).")
    elif ctx.settings.hub_dry_run:
        ctx.reply(f"Dry-run: the SMS to {number} was recorded, not sent.")
    else:
        ctx.reply(f"Sent to {number} (message {result.entry.ref}).")
