"""Telegram (python-telegram-bot): update verification and parsing, replies, sending.

Intake reads the Update JSON itself and answers in the webhook response, so a cold start
that only replies never imports python-telegram-bot (about 100 ms and 20 MiB with httpx);
PTB comes in with the first Bot API call.
"""

from __future__ import annotations

import hmac
import json
import sys
from typing import TYPE_CHECKING, Any

from flask import Response, jsonify

from hub.errors import BadRequestError, ForbiddenError, UnauthorizedError
from hub.events import ChatMessage, Event, body_digest
from hub.payloads import body_text, json_object, require_content_type

if TYPE_CHECKING:
    import telegram
    from flask import Request

    from hub.config import Settings
    from hub.context import Context
    from hub.outbox import CallResult
    from hub.services import Acceptance

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Update fields that name the kind of update; the first present one is the event type.
UPDATE_KINDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "inline_query",
    "chosen_inline_result",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "pre_checkout_query",
    "shipping_query",
    "poll",
    "poll_answer",
    "message_reaction",
    "business_message",
)


LATEST_DATE = 253402300799  # 9999-12-31: any later `date` cannot be a datetime
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
    if kind != "update" and not isinstance(data[kind], dict):
        raise BadRequestError(f"the update's {kind} is not an object", code="bad_payload")
    if kind in MESSAGE_KINDS:
        _check_message(data[kind])
    return Event(
        source="telegram",
        type=kind,
        provider_id=str(update_id),
        payload=data,
        payload_json=text,
        message=_chat_message(data),
        body_sha256=body_digest(text.encode()),
    )


def _check_message(message: Any) -> None:
    """The fields hub reads from a message must have their Bot API types (else 400)."""
    chat = message.get("chat")
    sender = message.get("from")
    entities = message.get("entities", [])
    valid = (
        isinstance(chat, dict)
        and _is_int(chat.get("id"))
        and _is_int(message.get("message_id"))
        and _is_int(message.get("date"))
        and 0 <= message["date"] <= LATEST_DATE
        and isinstance(message.get("text", ""), str)
        and isinstance(entities, list)
        and all(isinstance(entity, dict) for entity in entities)
        and (sender is None or (isinstance(sender, dict) and _is_int(sender.get("id"))))
    )
    if not valid:
        raise BadRequestError(
            "the update's message needs integer message_id, date (unix time) and chat.id "
            "(and from.id), a string text and a list of entities",
            code="bad_payload",
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _chat_message(update: dict[str, Any]) -> ChatMessage | None:
    """The text message (new or edited) of an Update whose message `_check_message` passed."""
    message = update.get("message") or update.get("edited_message")
    if not isinstance(message, dict) or not isinstance(message.get("text"), str):
        return None
    sender = str(message["from"]["id"]) if message.get("from") else ""
    return ChatMessage("telegram", str(message["chat"]["id"]), message["text"], sender=sender)


def respond(acceptance: Acceptance) -> Response:
    """Answer with the first inline reply as a Bot API method: no outbound call needed."""
    if not acceptance.replies or acceptance.event.message is None:
        return jsonify({})
    reply = acceptance.replies[0]
    return jsonify(send_message_params(acceptance.event.message.address, reply.text, reply.options))


# -- sending (the Bot API client itself lives in integrations.telegram_bot) ----------------

MAX_TEXT = 4096  # Telegram's limit, counted in UTF-16 code units after entity parsing
TRUNCATED = "\n[…]"
# reply_markup as plain JSON (what handlers write) -> the name of the PTB class it describes
MARKUP_KINDS = {
    "inline_keyboard": "InlineKeyboardMarkup",
    "keyboard": "ReplyKeyboardMarkup",
    "remove_keyboard": "ReplyKeyboardRemove",
    "force_reply": "ForceReply",
}


def send_message_params(chat_id: str, text: str, options: dict[str, Any]) -> dict[str, Any]:
    """A sendMessage call as Bot API JSON (a webhook answer can carry one); an over-long
    text is cut at the limit, since a single answer cannot be split."""
    if _utf16_len(text) > MAX_TEXT:
        text = split_text(text, MAX_TEXT - _utf16_len(TRUNCATED))[0] + TRUNCATED
    return {"method": "sendMessage", "chat_id": chat_id, "text": text, **_jsonable(options)}


def send_text(ctx: Context, address: str, text: str, **options: Any) -> CallResult:
    """Send a message through the Bot API (recorded only, in dry-run).

    A text over 4096 characters goes as several messages, split at line or word breaks;
    `reply_markup` (a dict like {"inline_keyboard": [[{"text": "Pay", "url": ...}]]})
    rides on the last one. A user who blocked the bot gets nothing and the event is not
    retried for it: the outbox keeps the failed call.
    """
    from integrations.telegram_bot import RecipientUnavailableError, log

    options = _jsonable(options)
    if "reply_markup" in options:
        reply_markup(options["reply_markup"])  # a malformed keyboard fails now, in dry-run too
    chunks = split_text(text)
    result: CallResult | None = None
    for number, chunk in enumerate(chunks, 1):
        last = number == len(chunks)
        extra = options if last else {k: v for k, v in options.items() if k != "reply_markup"}
        payload = {"chat_id": address, "text": chunk, **extra}
        try:
            result = ctx.call("telegram", "sendMessage", payload, lambda p=payload: _send(ctx.settings, p))
        except RecipientUnavailableError as exc:
            log.warning("not sent, chat %s cannot receive it: %s", address, exc)
            return _failed_result(ctx, payload)
    assert result is not None
    return result


# -- webhook registration (hub setup-webhooks)


def webhook_status(settings: Settings) -> dict[str, Any]:
    """The bot's name and current webhook (`getMe`, `getWebhookInfo`)."""
    from integrations import telegram_bot

    async def call(bot: telegram.Bot) -> dict[str, Any]:
        info = await bot.get_webhook_info()
        return {
            "username": bot.username,
            "url": info.url or "",
            "allowed_updates": list(info.allowed_updates or ()),
            "last_error": info.last_error_message or "",
        }

    return telegram_bot.call(settings.telegram_bot_token, settings.telegram_api_url, "getWebhookInfo", call)


def set_webhook(settings: Settings, url: str, allowed_updates: list[str]) -> None:
    """Point the bot at `url`, with the secret token Telegram will send back in each update."""
    from integrations import telegram_bot

    async def call(bot: telegram.Bot) -> bool:
        return await bot.set_webhook(
            url, secret_token=settings.telegram_webhook_secret, allowed_updates=allowed_updates
        )

    telegram_bot.call(settings.telegram_bot_token, settings.telegram_api_url, "setWebhook", call)


def _failed_result(ctx: Context, payload: dict[str, Any]) -> CallResult:
    """The failed call the outbox just kept for `payload`. Found by its payload, not as the
    newest row: rows made in the same instant have no order (Redis sorts them by id)."""
    from hub.outbox import FAILED, CallResult

    entry = next(
        e for e in ctx.store.outbox(event_id=ctx.event.id) if e.status == FAILED and e.payload == payload
    )
    return CallResult(entry, {"delivered": False, "error": entry.detail}, reused=False)


def _send(settings: Settings, payload: dict[str, Any]) -> dict[str, Any]:
    import telegram

    from integrations import telegram_bot

    chat_id = payload["chat_id"]
    known, extra = {}, {}
    for key, value in payload.items():
        if key == "reply_markup":
            known[key] = reply_markup(value)
        elif key in telegram_bot.SEND_MESSAGE_ARGS and not isinstance(value, dict | list):
            known[key] = value
        else:  # objects (link_preview_options, ...) and newer Bot API fields go as raw JSON
            extra[key] = value

    async def send(bot: telegram.Bot) -> telegram.Message:
        try:
            return await bot.send_message(**known, api_kwargs=extra or None)
        except telegram.error.ChatMigrated as exc:  # a group became a supergroup: follow it once
            return await bot.send_message(**{**known, "chat_id": exc.new_chat_id}, api_kwargs=extra or None)

    message = telegram_bot.call(
        settings.telegram_bot_token, settings.telegram_api_url, f"sendMessage to chat {chat_id}", send
    )
    return {"ref": str(message.message_id), "message_id": message.message_id, "chat_id": message.chat_id}


def reply_markup(value: Any) -> telegram.TelegramObject:
    """A keyboard given as Bot API JSON, as the PTB object; ValueError naming the problem."""
    import telegram

    if isinstance(value, telegram.TelegramObject):
        return value
    if isinstance(value, dict):
        kind = next((k for k in MARKUP_KINDS if k in value), None)
        if kind is not None:
            try:
                return getattr(telegram, MARKUP_KINDS[kind]).de_json(value, None)
            except (TypeError, KeyError, ValueError) as exc:
                raise ValueError(f"reply_markup is not a valid {kind} markup: {exc}") from None
    raise ValueError(f"reply_markup must be a dict with one of {', '.join(MARKUP_KINDS)}; got {value!r:.80}")


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut `text` into pieces of at most `limit` UTF-16 units, at a line break, else a space."""
    pieces: list[str] = []
    while _utf16_len(text) > limit:
        cut = _fit(text, limit)
        window = text[:cut]
        at = max(window.rfind("\n"), window.rfind(" "))
        if at > cut // 2:  # a break in the second half; otherwise a hard cut beats a tiny piece
            cut = at + 1
        pieces.append(text[:cut].rstrip() or text[:cut])
        text = text[cut:]
    return [*pieces, text]


def _fit(text: str, limit: int) -> int:
    """The longest prefix length of `text` within `limit` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _utf16_len(text: str) -> int:
    # Counted by the codec, not per character in Python (that was ~20 % of a warm /help's
    # own work); surrogatepass counts a lone surrogate as the one unit it is.
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    """Options as plain JSON (PTB objects -> dicts), for the outbox and webhook answers."""
    telegram = sys.modules.get("telegram")  # not imported yet: no option can be a PTB object
    if telegram is None:
        return dict(options)
    return {k: v.to_dict() if isinstance(v, telegram.TelegramObject) else v for k, v in options.items()}


# -- long polling (`hub poll`): control calls, not handler side effects, so not outbox calls --


def webhook_url(settings: Settings) -> str:
    """The webhook Telegram currently delivers to ("" when none)."""

    async def info(bot: telegram.Bot) -> telegram.WebhookInfo:
        return await bot.get_webhook_info()

    return _call(settings, "getWebhookInfo", info).url or ""


def delete_webhook(settings: Settings) -> None:
    """Stop webhook delivery (updates then wait for getUpdates; none are dropped)."""

    async def delete(bot: telegram.Bot) -> bool:
        return await bot.delete_webhook(drop_pending_updates=False)

    _call(settings, "deleteWebhook", delete)


def get_updates(
    settings: Settings, offset: int | None, timeout: int, limit: int = 100
) -> list[dict[str, Any]]:
    """Long-poll for updates after `offset` (which also confirms the earlier ones), as JSON."""

    async def fetch(bot: telegram.Bot) -> tuple[telegram.Update, ...]:
        return await bot.get_updates(offset=offset, timeout=timeout, limit=limit)

    updates = _call(settings, "getUpdates", fetch, wait=timeout)
    return [u.to_dict() for u in updates]


def event_from_update(data: dict[str, Any]) -> Event:
    """An update fetched by getUpdates (PTB's own to_dict) as an Event, like `verify` makes."""
    return Event(
        source="telegram",
        type=next((k for k in UPDATE_KINDS if k in data), "update"),
        provider_id=str(data["update_id"]),
        payload=data,
        message=_chat_message(data),
        body_sha256=body_digest(json.dumps(data, separators=(",", ":")).encode()),
    )


def _call(settings: Settings, what: str, fn: Any, *, wait: float = 0) -> Any:
    from integrations import telegram_bot

    return telegram_bot.call(
        settings.telegram_bot_token,
        settings.telegram_api_url,
        what,
        fn,
        timeout=telegram_bot.CALL_TIMEOUT + wait,
    )
