"""The Telegram Bot API client: one initialised PTB Bot per process, bounded retries, clear errors.

Design (why not `asyncio.run` per call): a PTB Bot owns an httpx.AsyncClient bound to the
loop it was initialised on, and `async with Bot(...)` calls getMe first. A fresh Bot per
call inside `asyncio.run` is safe but costs a new loop, a new client (SSL context) and
an extra getMe round trip for every message: against a local fake Bot API, about 84 ms
a message against 1.4 ms for a warm shared Bot, and twice the Bot API requests. Instead
every call runs on hub's single background loop (`hub.aioloop`), where one Bot per
(token, API URL) is initialised once and reused by all threads: Flask request threads,
the task pool, a warm Lambda's later invocations. Nothing is created at import.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import telegram
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from hub import aioloop

log = logging.getLogger("hub.telegram")

T = TypeVar("T")

# Telegram answers 429 with retry_after; a short wait is cheaper than failing the event,
# a long one would hold a request thread (or a Lambda) idle: hub's backoff takes those.
SHORT_RETRY_AFTER = 5.0
ATTEMPTS = 3
NETWORK_BACKOFF = (0.5, 1.5)  # seconds before the 2nd and 3rd attempt after a 5xx/network error
CALL_TIMEOUT = 60.0  # upper bound on one call with its retries, as seen by the caller
MAX_BOTS = 4  # clients kept per process (one token in production; tests point at many servers)
_SEND_PARAMS = inspect.signature(telegram.Bot.send_message).parameters
SEND_MESSAGE_ARGS = frozenset(_SEND_PARAMS) - {"self", "api_kwargs"}


class TelegramAPIError(RuntimeError):
    """A Bot API call failed for good here; the event's retry and dead-letter take over."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoAnswerError(TelegramAPIError):
    """The call got no answer in time: it may have reached Telegram, or not."""


class RecipientUnavailableError(TelegramAPIError):
    """The chat cannot receive messages, and retrying cannot help: 403 (the user blocked
    the bot or is deactivated, the bot left the chat) or a 400 naming a chat that is gone."""


# 400s that say the chat is gone (PTB drops the "Bad Request: " prefix and capitalises).
GONE_CHAT = ("chat not found", "user not found", "peer_id_invalid", "chat was deactivated")


class ConflictError(TelegramAPIError):
    """409: another getUpdates consumer is running, or a webhook is set while polling."""


# The caller's `on_wire` for the request being made (set in the sending task only).
_ON_WIRE: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar("on_wire", default=None)


class _WireRequest(HTTPXRequest):
    """PTB's HTTPX request, telling the sender when its request is handed to httpx: after
    PTB's own work on the loop, which other sends' answers can hold up by tens of ms."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        on_wire = _ON_WIRE.get()
        if on_wire is not None:
            on_wire()
        return await super().do_request(*args, **kwargs)


class _Bots:
    """Initialised Bots by (token, API URL). Touched only on the loop thread: no locks needed
    beyond one asyncio.Lock that makes concurrent first calls initialise a single Bot."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bots: dict[tuple[str, str], telegram.Bot] = {}
        self._lock = asyncio.Lock()

    async def get(self, token: str, api_url: str) -> telegram.Bot:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (forked child, restarted loop): old clients are dead
            self._loop, self._bots, self._lock = loop, {}, asyncio.Lock()
        key = (token, api_url)
        if key in self._bots:
            return self._bots[key]
        async with self._lock:
            if key not in self._bots:
                self._bots[key] = await self._start(token, api_url)
                while len(self._bots) > MAX_BOTS:
                    oldest = next(iter(self._bots))
                    await self._bots.pop(oldest).shutdown()
        return self._bots[key]

    @staticmethod
    async def _start(token: str, api_url: str) -> telegram.Bot:
        # httpx logs every request URL at INFO, and Bot API URLs carry the token (PTB's docs
        # advise the same); hub's own log scrubbing covers only the `hub` loggers.
        logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger("httpx").level))
        bot = telegram.Bot(
            token,
            base_url=f"{api_url}/bot",
            base_file_url=f"{api_url}/file/bot",
            # PTB's default pool waits 1 s for a free connection; bursts from many request
            # threads share this client, so allow a longer wait before calling it a failure.
            request=_WireRequest(connection_pool_size=64, pool_timeout=10.0),
            get_updates_request=HTTPXRequest(connection_pool_size=1),
        )
        try:
            await bot.initialize()  # getMe: a bad token fails here, once, clearly
        except BaseException:
            await bot.shutdown()
            raise
        return bot

    async def close(self) -> None:
        bots, self._bots = list(self._bots.values()), {}
        for bot in bots:
            await bot.shutdown()


# Process-wide on purpose, unlike per-app state: PTB's HTTP clients belong to hub's one
# event loop (hub.aioloop, one thread per process), and a Bot is keyed by everything that
# configures it (token, API URL), so two apps share one only when they would build the
# same Bot; sharing it keeps one connection pool per bot token.
_bots = _Bots()


def call(
    token: str,
    api_url: str,
    what: str,
    fn: Callable[[telegram.Bot], Awaitable[T]],
    *,
    timeout: float = CALL_TIMEOUT,
    wait_on_rate_limit: bool = True,
) -> T:
    """Run `fn(bot)` on hub's loop with an initialised Bot; safe from any thread.

    `what` names the call in errors ("sendMessage to chat 42"). Raises TelegramAPIError
    (NoAnswerError after `timeout`). `wait_on_rate_limit=False`: a 429 is raised at once,
    for a caller whose shared rate limiter must hear of it (a retry here would bypass it).
    """
    if not token:
        raise TelegramAPIError(f"{what}: TELEGRAM_BOT_TOKEN is not set")
    aioloop.at_shutdown(close)
    short = SHORT_RETRY_AFTER if wait_on_rate_limit else 0.0
    try:
        return aioloop.run(_with_retries(token, api_url, what, fn, short), timeout=timeout)
    except TimeoutError as exc:
        raise NoAnswerError(f"{what}: no answer from the Bot API ({exc})") from None


async def close() -> None:
    """Close every Bot's HTTP client (at process exit; tests call it between servers)."""
    await _bots.close()


def close_all() -> None:
    """`close`, from synchronous code."""
    aioloop.run(close(), timeout=10)


async def _with_retries(
    token: str,
    api_url: str,
    what: str,
    fn: Callable[[telegram.Bot], Awaitable[T]],
    short_retry_after: float = SHORT_RETRY_AFTER,
) -> T:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            bot = await _bots.get(token, api_url)
            return await fn(bot)
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            if wait > short_retry_after or attempt == ATTEMPTS:
                raise TelegramAPIError(
                    f"{what}: Telegram rate limit, retry after {wait:g} s", retry_after=wait
                ) from None
            log.info("%s: rate-limited, retrying in %g s", what, wait)
            await asyncio.sleep(wait)
        except BadRequest as exc:  # a NetworkError subclass in PTB: test it first, never retry
            gone = any(words in str(exc).lower() for words in GONE_CHAT)
            refusal = RecipientUnavailableError if gone else TelegramAPIError
            raise refusal(f"{what}: {_clean(exc, token)}") from None
        except Forbidden as exc:
            raise RecipientUnavailableError(f"{what}: {_clean(exc, token)}") from None
        except InvalidToken:
            raise TelegramAPIError(
                f"{what}: Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather)"
            ) from None
        except Conflict as exc:
            raise ConflictError(f"{what}: {_clean(exc, token)}") from None
        except ChatMigrated as exc:
            raise TelegramAPIError(f"{what}: {_clean(exc, token)}") from None
        except NetworkError as exc:  # 5xx, connection errors, TimedOut
            # A timed-out send may have reached Telegram; a rare duplicate is preferred to a
            # lost message, and the attempts are few.
            if attempt == ATTEMPTS:
                raise TelegramAPIError(
                    f"{what}: Bot API unreachable after {ATTEMPTS} attempts: {_clean(exc, token)}"
                ) from None
            log.info("%s: %s; retrying", what, _clean(exc, token))
            await asyncio.sleep(NETWORK_BACKOFF[attempt - 1])
        except TelegramError as exc:
            raise TelegramAPIError(f"{what}: {_clean(exc, token)}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def retry_after_seconds(exc: RetryAfter) -> float:
    # PTB 22 keeps a timedelta; its public `retry_after` warns (int -> timedelta migration).
    value = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def _clean(exc: Exception, token: str) -> str:
    """The error's text without the token (PTB puts it in some messages)."""
    return str(exc).replace(token, "***") if token else str(exc)


# -- hub's sends as PTB calls: the only code that builds PTB objects -------------------------

Bot = telegram.Bot  # what `call` hands its function: other modules annotate with this name
# reply_markup as plain JSON (what handlers write) -> the name of the PTB class it describes
MARKUP_KINDS = {
    "inline_keyboard": "InlineKeyboardMarkup",
    "keyboard": "ReplyKeyboardMarkup",
    "remove_keyboard": "ReplyKeyboardRemove",
    "force_reply": "ForceReply",
}


def send_message(
    token: str,
    api_url: str,
    payload: dict[str, Any],
    *,
    timeout: float = CALL_TIMEOUT,
    wait_on_rate_limit: bool = True,
    on_wire: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """sendMessage with `payload` (Bot API JSON); returns the sent message's ids. `timeout`
    and `wait_on_rate_limit` as for `call`; `on_wire` is called on the loop as each request
    is handed to httpx (it must be quick: it holds the loop)."""
    chat_id = payload["chat_id"]
    known, extra = {}, {}
    for key, value in payload.items():
        if key == "reply_markup":
            known[key] = reply_markup(value)
        elif key in SEND_MESSAGE_ARGS and not isinstance(value, dict | list):
            known[key] = value
        else:  # objects (link_preview_options, ...) and newer Bot API fields go as raw JSON
            extra[key] = value

    async def send(bot: telegram.Bot) -> telegram.Message:
        _ON_WIRE.set(on_wire)  # this task's context: seen by its requests only
        try:
            return await bot.send_message(**known, api_kwargs=extra or None)
        except ChatMigrated as exc:  # a group became a supergroup: follow it once
            return await bot.send_message(**{**known, "chat_id": exc.new_chat_id}, api_kwargs=extra or None)

    what = f"sendMessage to chat {chat_id}"
    message = call(token, api_url, what, send, timeout=timeout, wait_on_rate_limit=wait_on_rate_limit)
    return {"message_id": message.message_id, "chat_id": message.chat_id}


def reply_markup(value: Any) -> telegram.TelegramObject:
    """A keyboard given as Bot API JSON, as the PTB object; ValueError naming the problem."""
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
