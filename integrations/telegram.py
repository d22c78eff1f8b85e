"""Telegram (python-telegram-bot): update verification and parsing, replies, sending."""

from __future__ import annotations

import asyncio
import hmac
from typing import TYPE_CHECKING, Any

import telegram
from flask import Response, jsonify

from hub.errors import BadRequestError, ForbiddenError, UnauthorizedError
from hub.events import ChatMessage, Event, body_digest
from hub.payloads import body_text, json_object, require_content_type

if TYPE_CHECKING:
    from flask import Request

    from hub.config import Settings
    from hub.context import Context
    from hub.outbox import CallResult
    from hub.runtime import Acceptance

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Update fields that name the kind of update; the first present one is the event type.
UPDATE_KINDS = (
    "message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
    "inline_query", "chosen_inline_result", "my_chat_member", "chat_member",
    "chat_join_request", "pre_checkout_query", "shipping_query", "poll", "poll_answer",
    "message_reaction", "business_message",
)  # fmt: skip


# Update kinds that carry a Message: the fields hub reads from it are type-checked.
MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post", "business_message")


def verify(request: Request, settings: Settings) -> Event:
    """An update as an Event; 401 without the secret token, 403 with a wrong one.

    The token is checked before the body is read; then 415 for a body that is not
    JSON (a missing Content-Type is read as JSON) and 400 for one that is not an Update.
    """
    given = request.headers.get(SECRET_HEADER, "")
    if not given:
        raise UnauthorizedError(
            f"the {SECRET_HEADER} header is missing; register the webhook with "
            "secret_token=TELEGRAM_WEBHOOK_SECRET (hub setup-webhooks does)",
            code="missing_secret_token",
        )
    # Constant-time, and the offered value is never logged (unlike PTB's own webhook server).
    if not hmac.compare_digest(given.encode(), settings.telegram_webhook_secret.encode()):
        raise ForbiddenError(
            f"the {SECRET_HEADER} header does not match TELEGRAM_WEBHOOK_SECRET",
            code="bad_secret_token",
        )
    require_content_type(request, "application/json", allow_missing=True)
    text = body_text(request)
    data = json_object(text)
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise BadRequestError("the update has no integer update_id", code="bad_payload")
    kind = next((k for k in UPDATE_KINDS if data.get(k) is not None), "update")
    if kind in MESSAGE_KINDS:
        _check_message(data[kind])
    try:
        update = telegram.Update.de_json(data, None)
    except Exception:  # PTB raises assorted errors on malformed nested objects
        raise BadRequestError("the update is not a valid Telegram Update", code="bad_payload") from None
    return Event(
        source="telegram",
        type=kind,
        provider_id=str(update_id),
        payload=data,
        message=_chat_message(update),
        body_sha256=body_digest(text.encode()),
    )


def _check_message(message: Any) -> None:
    """PTB does not type-check what it copies; hub reads these fields, so they must be right."""
    chat = message.get("chat") if isinstance(message, dict) else None
    sender = message.get("from") if isinstance(message, dict) else None
    valid = (
        isinstance(chat, dict)
        and _is_int(chat.get("id"))
        and _is_int(message.get("message_id"))
        and _is_int(message.get("date"))
        and isinstance(message.get("text", ""), str)
        and (sender is None or (isinstance(sender, dict) and _is_int(sender.get("id"))))
    )
    if not valid:
        raise BadRequestError(
            "the update's message needs integer message_id, date and chat.id (and from.id), "
            "and a string text",
            code="bad_payload",
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _chat_message(update: telegram.Update) -> ChatMessage | None:
    message = update.message or update.edited_message
    if message is None or message.text is None:
        return None
    sender = str(message.from_user.id) if message.from_user else ""
    return ChatMessage("telegram", str(message.chat.id), message.text, sender=sender)


def respond(acceptance: Acceptance) -> Response:
    """Answer with the first inline reply as a Bot API method: no outbound call needed."""
    if not acceptance.replies or acceptance.event.message is None:
        return jsonify({})
    reply = acceptance.replies[0]
    return jsonify(send_message_params(acceptance.event.message.address, reply.text, reply.options))


def send_message_params(chat_id: str, text: str, options: dict[str, Any]) -> dict[str, Any]:
    return {"method": "sendMessage", "chat_id": chat_id, "text": text, **options}


def send_text(ctx: Context, address: str, text: str, **options: Any) -> CallResult:
    """Send a message through the Bot API (recorded only, in dry-run)."""
    params = send_message_params(address, text, options)
    payload = {k: v for k, v in params.items() if k != "method"}

    def send() -> dict[str, Any]:
        async def call() -> telegram.Message:
            # A Bot per call inside its own loop: safe from any thread and across requests.
            async with telegram.Bot(
                ctx.settings.telegram_bot_token, base_url=f"{ctx.settings.telegram_api_url}/bot"
            ) as bot:
                return await bot.send_message(**payload)

        message = asyncio.run(call())
        return {"ref": str(message.message_id)}

    return ctx.call("telegram", "sendMessage", payload, send)


# -- webhook registration (hub setup-webhooks)


def _admin_bot(settings: Settings) -> telegram.Bot:
    return telegram.Bot(settings.telegram_bot_token, base_url=f"{settings.telegram_api_url}/bot")


def webhook_status(settings: Settings) -> dict[str, Any]:
    """The bot's name and current webhook (`getMe`, `getWebhookInfo`)."""

    async def call() -> dict[str, Any]:
        async with _admin_bot(settings) as bot:
            info = await bot.get_webhook_info()
            return {
                "username": bot.username,
                "url": info.url or "",
                "allowed_updates": list(info.allowed_updates or ()),
                "last_error": info.last_error_message or "",
            }

    return asyncio.run(call())


def set_webhook(settings: Settings, url: str, allowed_updates: list[str]) -> None:
    """Point the bot at `url`, with the secret token Telegram will send back in each update."""

    async def call() -> None:
        async with _admin_bot(settings) as bot:
            await bot.set_webhook(
                url, secret_token=settings.telegram_webhook_secret, allowed_updates=allowed_updates
            )

    asyncio.run(call())
