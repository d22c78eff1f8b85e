"""Deliveries: each message a handler tells (a chat message, an SMS) as its own unit of work.

A handler's `ctx.send_text` does not send: it records a delivery, `held` until the
handler's run succeeds, then `pending` (due). The delivery runner (`hub.delivery_runner`)
claims due deliveries, sends each through the outbox, and ends it `sent`, `failed` (due
again after a backoff), `dead` (attempts used up, or a refusal retrying cannot fix) or
`skipped` (the recipient opted out). A claimed delivery is `sending` under a lease; one
whose lease ran out (its runner died) is due again, and the outbox flags a resend whose
first outcome is unknown.

A delivery's id is a digest of the run's scope and the message (channel, address, text,
options): a retried run records the same deliveries again and the store ignores them, so
a message goes out once however often its handler runs; the same text to the same
address twice in one run is one delivery.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from hub.events import iso_time

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.store import Store

HELD, PENDING, SENDING, SENT, FAILED, DEAD, SKIPPED = (
    "held",
    "pending",
    "sending",
    "sent",
    "failed",
    "dead",
    "skipped",
)
DELIVERY_STATUSES = (HELD, PENDING, SENDING, SENT, FAILED, DEAD, SKIPPED)
FINAL = frozenset({SENT, DEAD, SKIPPED})


@dataclass(frozen=True)
class Delivery:
    id: str
    scope: str  # the handler run that made it (the event id, or "<event id>/replay<n>")
    event_id: str
    channel: str  # "telegram" | "sms"
    address: str
    text: str
    options: dict[str, Any]
    created_at: float
    status: str = HELD
    attempts: int = 0
    next_attempt_at: float | None = None
    lease_until: float | None = None
    last_error: str = ""
    outbox_id: str = ""
    ref: str = ""  # the provider's message id
    updated_at: float | None = None
    version: int = 1

    @classmethod
    def new(
        cls,
        scope: str,
        event_id: str,
        channel: str,
        address: str,
        text: str,
        options: dict[str, Any],
        *,
        now: float,
        effect: str = "",
        names: str = "",
    ) -> Delivery:
        names = names or scope
        named = delivery_id(names, channel, address, "", {"effect": effect}) if effect else ""
        return cls(
            named or delivery_id(names, channel, address, text, options),
            scope,
            event_id,
            channel,
            address,
            text,
            options,
            created_at=now,
            updated_at=now,
        )

    @property
    def due_at(self) -> float | None:
        """When a runner should take it: now-ish when pending, at the retry or lease end."""
        if self.status == PENDING or self.status == FAILED:
            return self.next_attempt_at if self.next_attempt_at is not None else self.created_at
        if self.status == SENDING:
            return self.lease_until
        return None

    def with_changes(self, **changes: Any) -> Delivery:
        return replace(self, **changes)

    def to_record(self) -> dict[str, Any]:
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        record["options"] = json.dumps(self.options, sort_keys=True)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Delivery:
        data = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        data["options"] = json.loads(data.get("options") or "{}")
        for key in ("next_attempt_at", "lease_until", "updated_at"):
            data[key] = float(data[key]) if data.get(key) not in (None, "") else None
        data["created_at"] = float(data["created_at"])
        data["attempts"] = int(data.get("attempts") or 0)
        data["version"] = int(data.get("version") or 0)
        return cls(**data)

    def summary(self) -> dict[str, Any]:
        """The admin API's view (the text is the message itself, as in the outbox payload)."""
        return {
            "id": self.id,
            "event_id": self.event_id,
            "channel": self.channel,
            "address": self.address,
            "text": self.text,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": iso_time(self.next_attempt_at) if self.next_attempt_at else None,
            "last_error": self.last_error or None,
            "outbox_id": self.outbox_id or None,
            "ref": self.ref or None,
            "created_at": iso_time(self.created_at),
            "updated_at": iso_time(self.updated_at) if self.updated_at else None,
        }


def delivery_id(scope: str, channel: str, address: str, text: str, options: dict[str, Any]) -> str:
    message = json.dumps([scope, channel, address, text, options], sort_keys=True, default=str)
    return "dlv_" + hashlib.sha256(message.encode()).hexdigest()[:32]


class Tells:
    """The deliveries one handler run records: written a page at a time (never all held in
    memory, however many recipients), released when the run succeeds."""

    PAGE = 500

    def __init__(
        self,
        store: Store,
        *,
        scope: str,
        event_id: str,
        names: str = "",
        page: int = PAGE,
        before_write: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self._before_write = before_write  # called before each page is written (hub.context)
        self.scope = scope  # the run: released together when it succeeds
        self.names = names or scope  # what the deliveries' ids are made from (hub.fanout)
        self.event_id = event_id
        self.recorded = 0
        self._page_size = page
        self._page: list[Delivery] = []
        self._last = 0.0

    def add(self, channel: str, address: str, text: str, options: dict[str, Any], *, effect: str = "") -> str:
        # Strictly increasing: runners send in this order (the store sorts by it).
        self._last = max(self.store.clock(), self._last + 1e-6)
        delivery = Delivery.new(
            self.scope,
            self.event_id,
            channel,
            address,
            text,
            options,
            now=self._last,
            effect=effect,
            names=self.names,
        )
        self._page.append(delivery)
        if len(self._page) >= self._page_size:
            self.flush()
        return delivery.id

    @property
    def pending(self) -> bool:
        """Whether this run told anything (written yet or not)."""
        return bool(self._page or self.recorded)

    def flush(self) -> None:
        if self._page:
            if self._before_write is not None:
                self._before_write()
            page, self._page = self._page, []
            self.store.add_deliveries(page)
            self.recorded += len(page)

    def commit(self) -> int:
        """Write what is left and make the run's deliveries due; how many became due."""
        self.flush()
        return self.store.release_deliveries(self.scope) if self.recorded else 0
