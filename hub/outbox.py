"""The one path every outbound call takes: dry-run records it, live mode sends and records.

Calls carry an idempotency key made from the event and the call's place in the handler
run, so a retried handler that already sent a message finds it here and does not send
it again.

A live call is recorded as `sending` before it is made. A later run that finds its key
still `sending` knows the earlier attempt died with the outcome unknown (a crash, a lost
lease): it makes the call again, with the same provider idempotency key where the
provider takes one, and otherwise marks the entry `possible_duplicate` and says so in
the log. Nothing is duplicated silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from hub.backoff import until_stored
from hub.observability import traced_call
from hub.store import OutboxEntry, Store

log = logging.getLogger("hub.outbox")

RECORDED, SENDING, SENT, FAILED, NOT_SENT = "recorded", "sending", "sent", "failed", "not_sent"
# Providers whose calls carry their own idempotency key (Stripe's Idempotency-Key, PayPal's
# PayPal-Request-Id): repeating a call of unknown outcome gives the first answer back.
KEYED_PROVIDERS = frozenset({"stripe", "paypal"})


class NoSlot(Exception):  # noqa: N818 - a decision, not a failure
    """Raised by a `gate`: the call is not made now (no rate-limit slot in this run)."""


class OutcomeUnknown(Exception):  # noqa: N818 - a state, not only a failure
    """Raised by a `send`: the call was made and no answer came (a timeout). It may have
    reached the provider: the entry stays `sending`, as after a crash, and the next attempt
    is made as one of unknown outcome (same key, or flagged `possible_duplicate`)."""


@dataclass(frozen=True)
class CallResult:
    entry: OutboxEntry
    response: dict[str, Any]
    reused: bool  # True: an earlier run already made this call; nothing was sent now


class Outbox:
    def __init__(self, store: Store, *, dry_run: bool) -> None:
        self.store = store
        self.dry_run = dry_run

    @traced_call
    def call(
        self,
        integration: str,
        action: str,
        payload: dict[str, Any],
        send: Callable[[], dict[str, Any]],
        *,
        event_id: str | None,
        key: str = "",
        dry_response: Callable[[], dict[str, Any]] | None = None,
        gate: Callable[[], object] | None = None,
    ) -> CallResult:
        """Send (or, in dry-run, record) one outbound call.

        `send` performs the call and returns what the caller needs of the answer (ids,
        URLs) as a small dict; `ref` in it names the provider's id for status callbacks.
        `dry_response` stands in for that answer in dry-run. `gate` is called just before
        `send` (after the entry is recorded): a rate limiter's wait, kept next to the wire.
        """
        if key:
            earlier = self.store.outbox_by_key(key)
            if earlier is not None and earlier.status == SENDING:
                return self._send(self._unknown_outcome(earlier), send, gate)
            if earlier is not None and earlier.status != FAILED:
                return CallResult(earlier, earlier.response or {}, reused=True)
        if self.dry_run:
            response = dry_response() if dry_response else {}
            entry = self.store.add_outbox(
                integration,
                action,
                payload,
                event_id=event_id,
                status=RECORDED,
                key=key,
                response=response,
            )
            return CallResult(entry, response, reused=False)
        # Intent before effect: a crash during `send` leaves this row `sending`, not nothing.
        entry = self.store.add_outbox(
            integration, action, payload, event_id=event_id, status=SENDING, key=key
        )
        return self._send(entry, send, gate)

    def _send(
        self, entry: OutboxEntry, send: Callable[[], dict[str, Any]], gate: Callable[[], object] | None = None
    ) -> CallResult:
        if gate is not None:
            try:
                gate()
            except NoSlot as exc:  # not made now: the row says so, and frees the key for the retry
                if not entry.possible_duplicate:  # (a resend in doubt stays `sending`: still unknown)
                    self.store.finish_outbox(replace(entry, status=NOT_SENT, key="", detail=str(exc)))
                raise
        try:
            response = send()
        except OutcomeUnknown:
            unknown = replace(entry, detail="no answer: the outcome is unknown")
            until_stored(self.store, lambda: self.store.finish_outbox(unknown))
            raise
        except Exception as exc:
            # The key is freed: the provider refused or never answered, so a retry calls again.
            detail = f"{type(exc).__name__}: {exc}"[:500]
            self.store.finish_outbox(replace(entry, status=FAILED, key="", detail=detail))
            raise
        sent = replace(entry, status=SENT, ref=str(response.get("ref") or ""), response=response)
        until_stored(self.store, lambda: self.store.finish_outbox(sent))  # it went out: keep that
        return CallResult(sent, response, reused=False)

    def _unknown_outcome(self, entry: OutboxEntry) -> OutboxEntry:
        """An attempt started and never recorded: made again, and flagged where it may double."""
        keyed = entry.integration in KEYED_PROVIDERS
        extra = {"event_id": entry.event_id, "stage": "unknown_outcome", "outbox_id": entry.id}
        if keyed:
            log.warning(
                "%s %s: an earlier attempt's outcome is unknown; calling again with the same idempotency key",
                entry.integration,
                entry.action,
                extra=extra,
            )
            return replace(entry, detail="made again after an attempt of unknown outcome (same key)")
        log.warning(
            "%s %s: an earlier attempt's outcome is unknown; sending again, it may arrive "
            "twice (possible_duplicate)",
            entry.integration,
            entry.action,
            extra=extra,
        )
        detail = "sent again after an attempt of unknown outcome: may have arrived twice"
        flagged = replace(entry, possible_duplicate=True, detail=detail)
        self.store.finish_outbox(flagged)
        return flagged
