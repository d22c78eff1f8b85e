"""Telegram messages out: sendMessage as Bot API JSON (a webhook answer can carry one), and
sent through the Bot API client, split to fit Telegram's limit.

The client, and with it python-telegram-bot, is imported on the first send
(`integrations.telegram_bot`), so a webhook answer imports no SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.context import plain_options

if TYPE_CHECKING:
    from hub.context import Context
    from hub.outbox import CallResult

MAX_TEXT = 4096  # Telegram's limit, counted in UTF-16 code units after entity parsing
TRUNCATED = "\n[…]"


def send_message_params(chat_id: str, text: str, options: dict[str, Any]) -> dict[str, Any]:
    """A sendMessage call as Bot API JSON (a webhook answer can carry one); an over-long
    text is cut at the limit, since a single answer cannot be split."""
    if _utf16_len(text) > MAX_TEXT:
        text = split_text(text, MAX_TEXT - _utf16_len(TRUNCATED))[0] + TRUNCATED
    return {"method": "sendMessage", "chat_id": chat_id, "text": text, **plain_options(options)}


def send_text(ctx: Context, address: str, text: str, **options: Any) -> CallResult:
    """Send a message through the Bot API (recorded only, in dry-run).

    A text over 4096 characters goes as several messages, split at line or word breaks;
    `reply_markup` (a dict like {"inline_keyboard": [[{"text": "Pay", "url": ...}]]})
    rides on the last one. A user who blocked the bot gets nothing and the event is not
    retried for it: the outbox keeps the failed call.
    """
    from integrations.telegram_bot import RecipientUnavailableError, log, reply_markup

    options = plain_options(options)
    if "reply_markup" in options:
        reply_markup(options["reply_markup"])  # a malformed keyboard fails now, in dry-run too
    chunks = split_text(text)
    result: CallResult | None = None
    for number, chunk in enumerate(chunks, 1):
        last = number == len(chunks)
        extra = options if last else {k: v for k, v in options.items() if k != "reply_markup"}
        payload = {"chat_id": address, "text": chunk, **extra}
        try:
            result = ctx.call("telegram", "sendMessage", payload, lambda p=payload: _send(ctx, p))
        except RecipientUnavailableError as exc:
            log.warning("not sent, chat %s cannot receive it: %s", address, exc)
            return _failed_result(ctx, payload)
    assert result is not None
    return result


def _send(ctx: Context, payload: dict[str, Any]) -> dict[str, Any]:
    """One sendMessage. Under a shared rate limiter (`ctx.gate`, the delivery runner) a 429
    goes back to it at once rather than being waited out here, past the limiter; and the
    call's answer is awaited no later than the run's end (`ctx.answer_by`): without one, the
    outcome is unknown, and the outbox keeps the call `sending` for the retry to flag."""
    from hub.outbox import OutcomeUnknown
    from integrations import telegram_bot

    settings = ctx.settings
    try:
        message = telegram_bot.send_message(
            settings.telegram_bot_token,
            settings.telegram_api_url,
            payload,
            timeout=ctx.send_timeout(telegram_bot.CALL_TIMEOUT),
            wait_on_rate_limit=ctx.gate is None,
            on_wire=ctx.on_wire,
        )
    except telegram_bot.NoAnswerError as exc:
        raise OutcomeUnknown(str(exc)) from None
    return {"ref": str(message["message_id"]), **message}


def _failed_result(ctx: Context, payload: dict[str, Any]) -> CallResult:
    """The failed call the outbox just kept for `payload`. Found by its payload, not as the
    newest row: rows made in the same instant have no order (Redis sorts them by id)."""
    from hub.outbox import FAILED, CallResult

    entry = next(
        e for e in ctx.store.outbox(event_id=ctx.event.id) if e.status == FAILED and e.payload == payload
    )
    return CallResult(entry, {"delivered": False, "error": entry.detail}, reused=False)


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
