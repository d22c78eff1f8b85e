"""What a handler gets besides its event: replies, outbound calls, settings, cache."""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.events import Event
    from hub.outbox import CallResult
    from hub.runtime import Hub

# Where each chat channel's sender lives; imported on first use so a route only loads
# the SDK it needs.
CHANNEL_SENDERS = {
    "telegram": "integrations.telegram:send_text",
    "sms": "integrations.twilio:send_text",
}


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

    def send_text(self, channel: str, address: str, text: str, **options: Any) -> CallResult:
        """Send a text on `channel` ("telegram" chat id or "sms" phone number)."""
        try:
            target = CHANNEL_SENDERS[channel]
        except KeyError:
            raise ValueError(f"unknown channel {channel!r}; known: {sorted(CHANNEL_SENDERS)}") from None
        module_name, _, attr = target.partition(":")
        sender = getattr(importlib.import_module(module_name), attr)
        return sender(self, address, text, **options)

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
            integration, action, payload, send,
            event_id=self.event.id, key=key, dry_response=dry_response,
        )  # fmt: skip

    def emit(self, source: str, type: str, provider_id: str, payload: dict[str, Any]) -> Event:
        """Record a follow-up internal event (deduplicated like any other) and queue it."""
        return self.hub.emit(source, type, provider_id, payload).event
