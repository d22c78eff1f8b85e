"""The one path every outbound call takes: dry-run records it, live mode sends and records.

Calls carry an idempotency key made from the event and the call's place in the handler
run, so a retried handler that already sent a message finds it here and does not send
it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.observability import traced_call
from hub.store import OutboxEntry, Store

log = logging.getLogger("hub.outbox")

RECORDED, SENT, FAILED = "recorded", "sent", "failed"


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
    ) -> CallResult:
        """Send (or, in dry-run, record) one outbound call.

        `send` performs the call and returns what the caller needs of the answer (ids,
        URLs) as a small dict; `ref` in it names the provider's id for status callbacks.
        `dry_response` stands in for that answer in dry-run.
        """
        if key:
            earlier = self.store.outbox_by_key(key)
            if earlier is not None and earlier.status != FAILED:
                return CallResult(earlier, earlier.response or {}, reused=True)
        if self.dry_run:
            response = dry_response() if dry_response else {}
            entry = self.store.add_outbox(
                integration, action, payload, event_id=event_id, status=RECORDED, key=key,
                response=response,
            )  # fmt: skip
            return CallResult(entry, response, reused=False)
        try:
            response = send()
        except Exception as exc:
            self.store.add_outbox(
                integration, action, payload, event_id=event_id, status=FAILED,
                detail=f"{type(exc).__name__}: {exc}"[:500],
            )  # fmt: skip
            raise
        entry = self.store.add_outbox(
            integration, action, payload, event_id=event_id, status=SENT, key=key,
            ref=str(response.get("ref") or ""), response=response,
        )  # fmt: skip
        return CallResult(entry, response, reused=False)
