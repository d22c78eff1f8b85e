"""What a handler gets besides its event: replies, outbound calls, settings, cache."""

from __future__ import annotations

import importlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.deliveries import Tells
from hub.fanout import names_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.events import Event
    from hub.outbox import CallResult
    from hub.services import Hub

# Where each chat channel's sender lives; imported on first use so a route only loads
# the SDK it needs.
CHANNEL_SENDERS = {
    "telegram": "integrations.telegram:send_text",
    "sms": "integrations.twilio:send_text",
}
# Checks of send options that fail the handler's run at once (a malformed keyboard), instead
# of a delivery that can never be sent.
OPTION_CHECKS = {
    ("telegram", "reply_markup"): "integrations.telegram:reply_markup",
}
# What each sender raises for a message the provider refuses for good (retrying cannot help).
CHANNEL_REFUSALS = {
    "sms": "integrations.twilio:SmsRejected",
    "telegram": "integrations.telegram_bot:RecipientUnavailableError",
}


def channel_sender(channel: str) -> Callable[..., CallResult]:
    try:
        target = CHANNEL_SENDERS[channel]
    except KeyError:
        raise ValueError(f"unknown channel {channel!r}; known: {sorted(CHANNEL_SENDERS)}") from None
    return _resolve(target)


def is_refusal(channel: str, exc: BaseException) -> bool:
    """Whether `exc` is the channel's "refused for good" error."""
    target = CHANNEL_REFUSALS.get(channel)
    return target is not None and isinstance(exc, _resolve(target))


def _resolve(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def plain_options(options: dict[str, Any]) -> dict[str, Any]:
    """Send options as plain JSON (SDK objects -> dicts), so a delivery can store them."""
    plain = {k: v.to_dict() if hasattr(v, "to_dict") else v for k, v in options.items()}
    json.dumps(plain)  # TypeError now, in the handler, for something no delivery could keep
    return plain


@dataclass(frozen=True)
class Reply:
    text: str
    options: dict[str, Any] = field(default_factory=dict)


class Context:
    """Per-run context. `inline_slots` replies may ride in the webhook response itself."""

    def __init__(self, hub: Hub, event: Event, *, inline_slots: int = 0, scope: str = "") -> None:
        self.hub = hub
        self.event = event
        self.settings = hub.settings
        self.store = hub.store
        self.cache = hub.cache
        self.inline_replies: list[Reply] = []
        self._inline_slots = inline_slots
        self._scope = scope or event.id
        self._call_counts: Counter[tuple[str, str]] = Counter()
        self.tells = Tells(
            hub.store, scope=self._scope, event_id=event.id, names=names_of(event, self._scope)
        )
        self.gate: Callable[[], object] | None = None  # waited on before each send (rate limits)
        self.started = time.monotonic()  # a fan-out's time box is counted from here (hub.fanout)
        self.follow_up: Event | None = None  # a fan-out's rest, recorded when this run succeeds

    @property
    def args(self) -> list[str]:
        """The words after a chat command: `/weather New York` -> ["New", "York"]."""
        parsed = self.event.message.command if self.event.message else None
        return parsed[1] if parsed else []

    def reply(self, text: str, **options: Any) -> None:
        """Answer on the channel the event came from (in the webhook response when possible)."""
        message = self.event.message
        if message is None:
            raise ValueError(f"{self.event.source}/{self.event.type} is not a chat message")
        if len(self.inline_replies) < self._inline_slots:
            self.inline_replies.append(Reply(text, options))
            return
        self.send_text(message.channel, message.address, text, **options)

    def send_text(self, channel: str, address: str, text: str, *, effect: str = "", **options: Any) -> str:
        """Tell `address` on `channel` ("telegram" chat id or "sms" phone number) `text`.

        Records a delivery, sent once this run succeeds by the delivery runner, with its
        own attempts, backoff and dead state, under the channel's rate limits; returns its
        id. A run that fails sends nothing; its retry records the same deliveries again.
        A delivery is known by its recipient and text; `effect` names it instead
        ("digest"), for a text that may differ between runs (the weather changed).
        """
        if channel not in CHANNEL_SENDERS:  # fails the run now, not the delivery later
            raise ValueError(f"unknown channel {channel!r}; known: {sorted(CHANNEL_SENDERS)}")
        for (checked, name), check in OPTION_CHECKS.items():
            if checked == channel and name in options:
                _resolve(check)(options[name])
        return self.tells.add(channel, str(address), str(text), plain_options(options), effect=effect)

    def send_now(self, channel: str, address: str, text: str, **options: Any) -> CallResult:
        """Send at once, through the outbox: for a handler that must know the outcome (an
        operator's `/sms`), and for the delivery runner itself."""
        return channel_sender(channel)(self, address, text, **options)

    def call(
        self,
        integration: str,
        action: str,
        payload: dict[str, Any],
        send: Callable[[], dict[str, Any]],
        *,
        dry_response: Callable[[], dict[str, Any]] | None = None,
        effect: str = "",
    ) -> CallResult:
        """One outbound call through the outbox, idempotent across retries of this event.

        A retried run finds the calls its earlier runs made by key: by default the call's
        rank among this run's calls of the same action (right while the handler makes its
        calls in the same order each run); `effect` names the call instead
        ("receipt-sms"), for handlers whose calls depend on state that may change.
        """
        self._call_counts[(integration, action)] += 1
        name = effect or str(self._call_counts[(integration, action)])
        key = f"{self._scope}:{integration}:{action}:{name}"
        return self.hub.outbox.call(
            integration,
            action,
            payload,
            send,
            event_id=self.event.id,
            key=key,
            dry_response=dry_response,
            gate=self.gate,
        )

    def emit(self, source: str, type: str, provider_id: str, payload: dict[str, Any]) -> Event:
        """Record a follow-up internal event (deduplicated like any other) and queue it."""
        return self.hub.emit(source, type, provider_id, payload).event
