"""What a handler gets besides its event: replies, outbound calls, settings, cache."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.deliveries import Tells
from hub.fanout import names_of
from hub.providers import resolve, senders

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.cache import LazyCache
    from hub.events import Event
    from hub.outbox import CallResult
    from hub.providers import Sender
    from hub.services import Hub
    from hub.store import Store

# Chat channels are the senders providers declare (hub.providers.Sender): each sender, its
# option checks and its "refused for good" error are imported on first use, so a route
# only loads the SDK it needs.


def _sender(channel: str) -> Sender:
    try:
        return senders()[channel]
    except KeyError:
        raise ValueError(f"unknown channel {channel!r}; known: {sorted(senders())}") from None


def channel_sender(channel: str) -> Callable[..., CallResult]:
    return resolve(_sender(channel).send)


def is_refusal(channel: str, exc: BaseException) -> bool:
    """Whether `exc` is the channel's "refused for good" error."""
    declared = senders().get(channel)
    return declared is not None and bool(declared.refusal) and isinstance(exc, resolve(declared.refusal))


def plain_options(options: dict[str, Any]) -> dict[str, Any]:
    """Send options as plain JSON (SDK objects -> dicts), so a delivery can store them."""
    if not options:  # most replies have none: nothing to convert, and nothing to prove storable
        return {}
    plain = {k: v.to_dict() if hasattr(v, "to_dict") else v for k, v in options.items()}
    json.dumps(plain)  # TypeError now, in the handler, for something no delivery could keep
    return plain


@dataclass(frozen=True)
class Reply:
    text: str
    options: dict[str, Any] = field(default_factory=dict)


class Context:
    """Per-run context. `inline_slots` replies may ride in the webhook response itself.

    `before_effect`: called before the run's first effect beyond replying (anything done
    through `hub`, `store` or `cache`: outbound calls, store and cache access, emitted
    events, a page of deliveries written), once. An inline run whose event is not stored
    yet stores it there (hub.worker.run_arrived), and a duplicate's run stops before it
    has done anything.
    """

    def __init__(
        self,
        hub: Hub,
        event: Event,
        *,
        inline_slots: int = 0,
        scope: str = "",
        before_effect: Callable[[], None] | None = None,
    ) -> None:
        self._hub = hub
        self._before_effect = before_effect
        self.event = event
        # Read-only, so reading them is no effect: the settings, and the registered handlers
        # and commands (what /help lists).
        self.settings = hub.settings
        self.router = hub.router
        self.inline_replies: list[Reply] = []
        self._inline_slots = inline_slots
        self._scope = scope or event.id
        self._call_counts: dict[tuple[str, str], int] = {}  # a plain dict: every run makes one
        self.tells = Tells(
            hub.store,
            scope=self._scope,
            event_id=event.id,
            names=names_of(event, self._scope),
            before_write=self.about_to_act,
        )
        self.gate: Callable[[], object] | None = None  # waited on before each send (rate limits)
        # When a send must have its answer (monotonic): the delivery run's end. Senders bound
        # their HTTP timeouts by it, so no run outlasts its budget waiting on the network.
        self.answer_by: float | None = None
        # Called by a sender the moment its request is handed to the HTTP client (the
        # delivery runner's: the limiter counts the send from then, see RateLimiter.restamp).
        self.on_wire: Callable[[], None] | None = None
        self.started = time.monotonic()  # a fan-out's time box is counted from here (hub.fanout)
        self.follow_up: Event | None = None  # a fan-out's rest, recorded when this run succeeds

    def about_to_act(self) -> None:
        """Called before each effect: the first call runs `before_effect`."""
        if self._before_effect is not None:
            before, self._before_effect = self._before_effect, None
            before()

    @property
    def hub(self) -> Hub:
        self.about_to_act()
        return self._hub

    @property
    def store(self) -> Store:
        return self.hub.store

    @property
    def cache(self) -> LazyCache:
        return self.hub.cache

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
        declared = _sender(channel)  # an unknown channel fails the run now, not the delivery later
        for name, check in declared.option_checks.items():
            if name in options:
                resolve(check)(options[name])
        return self.tells.add(channel, str(address), str(text), plain_options(options), effect=effect)

    def send_timeout(self, cap: float) -> float:
        """A send's HTTP timeout: `cap`, or less when the run must end sooner (`answer_by`)."""
        if self.answer_by is None:
            return cap
        return max(0.05, min(cap, self.answer_by - time.monotonic()))

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
        rank = self._call_counts[(integration, action)] = self._call_counts.get((integration, action), 0) + 1
        name = effect or str(rank)
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
