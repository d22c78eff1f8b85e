"""The event store: dedup, leases and retries, written once over a few backend primitives.

A backend (SQLite, Redis) implements the small `_`-prefixed methods; this base owns
the rules. Every state change is a compare-and-set on the record's `version`, so
two workers (threads, processes or Lambda instances) can never both claim an event.
"""

from __future__ import annotations

import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.deliveries import HELD, PENDING, SENDING, Delivery
from hub.events import DEAD, DONE, FAILED, PROCESSING, RECEIVED, Event, iso_time
from hub.store.attempts import INTERRUPTED, LEASE_EXPIRED, RUNNING, Attempt

log = logging.getLogger("hub.store")

DAY = 86400.0
KvPage = tuple[list[tuple[str, dict[str, Any]]], str]  # (key, value) pairs, next page's cursor
_RECORD_TRIES = 5
_OUTBOX_SCAN = 200  # entries read per page while filtering the outbox


@dataclass(frozen=True)
class RecordResult:
    """What `Store.record` did: stored a new event, or found the one already there."""

    event: Event
    duplicate: bool
    conflict: bool = False  # a known id came with a different body
    claimed: bool = False  # stored already claimed for the caller (`record(claim_lease=...)`)


@dataclass(frozen=True)
class OutboxEntry:
    id: str
    integration: str
    action: str
    payload: dict[str, Any]
    event_id: str | None
    status: str  # "recorded" (dry-run) | "sending" (started) | "sent" | "failed" | provider statuses
    created_at: float
    ref: str = ""  # the provider's id for the sent thing (a Twilio message SID, ...)
    detail: str = ""
    key: str = ""  # idempotency key: a retried handler finds its earlier call here
    response: dict[str, Any] | None = None  # what the provider answered (ids, URLs), kept for retries
    # Made again after an attempt whose outcome was never recorded (a crash mid-call), to a
    # provider that takes no idempotency key: the recipient may have it twice.
    possible_duplicate: bool = False
    # The provider's own report on the message (Twilio's status callback: delivered,
    # undelivered, failed, ...), apart from `status`, which is how our call ended.
    provider_status: str = ""
    provider_detail: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "integration": self.integration,
            "action": self.action,
            "payload": self.payload,
            "event_id": self.event_id,
            "status": self.status,
            "ref": self.ref or None,
            "detail": self.detail or None,
            "response": self.response,
            "created_at": iso_time(self.created_at),
            "possible_duplicate": bool(self.possible_duplicate),
            "provider_status": self.provider_status or None,
            "provider_detail": self.provider_detail or None,
        }


class Store(ABC):
    """Durable event log with exactly-once intake and at-most-one active worker per event."""

    backend = "abstract"
    # Exceptions that mean "the store is unreachable": webhooks answer 503 so providers retry.
    unavailable_errors: tuple[type[Exception], ...] = ()

    def __init__(self, *, dedup_days: int = 7, clock: Callable[[], float] = time.time) -> None:
        if dedup_days < 1:  # providers re-deliver for days (Stripe: three); less would double-run
            raise ValueError(f"dedup_days must be at least 1, not {dedup_days}")
        self.retention_seconds = dedup_days * DAY
        self.clock = clock

    # -- intake -----------------------------------------------------------------------------

    def record(
        self, event: Event, *, attention_after: float = 300.0, claim_lease: float | None = None
    ) -> RecordResult:
        """Store `event` unless (source, provider_id) is known; atomic across processes.

        `attention_after`: when no worker has finished it by then, the sweep picks it up.
        `claim_lease`: the caller runs the event itself right away, so a new event is stored
        already claimed (as `claim` would leave it: processing, attempt 1, leased for that
        long): one write instead of two, and the sweep takes it over when the lease expires.
        """
        if claim_lease is not None:
            return self.record_claimed(self.as_claimed(event, lease=claim_lease))
        now = self.clock()
        fresh = event.with_changes(status=RECEIVED, updated_at=now, version=1)
        return self._record(fresh, due_at=now + attention_after)

    def as_claimed(self, event: Event, *, lease: float) -> Event:
        """`event` as `record(claim_lease=lease)` stores it: processing, attempt 1, leased."""
        now = self.clock()
        return event.with_changes(
            status=PROCESSING,
            attempts=1,
            lease_until=now + lease,
            next_attempt_at=None,
            updated_at=now,
            version=1,
        )

    def record_claimed(self, claimed: Event) -> RecordResult:
        """Store an event made by `as_claimed` as it is (its run has begun)."""
        return self._record(claimed, due_at=claimed.lease_until, claimed=True)

    def record_finished(self, claimed: Event) -> RecordResult:
        """Store an event made by `as_claimed` whose run ended well before it was stored:
        done, with its attempt (from the event's arrival until now), as `record_claimed`
        and `complete` would leave it, in one write. Nothing is written for a known event.

        For an inline run that only replied (hub.worker.run_arrived): nothing of it needs
        taking over or undoing, so it needs no claim of its own.
        """
        finished = claimed.with_changes(
            status=DONE, lease_until=None, last_error="", updated_at=self.clock(), version=2
        )
        ran = Attempt(finished.id, 1, finished.received_at, finished.updated_at, DONE, "")
        return self._record(finished, due_at=None, attempt=ran)

    def _record(
        self, fresh: Event, *, due_at: float | None, claimed: bool = False, attempt: Attempt | None = None
    ) -> RecordResult:
        for _ in range(_RECORD_TRIES):
            existing_id = self._insert(fresh, due_at=due_at, attempt=attempt)
            if existing_id is None:
                return RecordResult(fresh, duplicate=False, claimed=claimed)
            existing = self.get(existing_id)
            if existing is not None:
                break
            # The known event was purged between the two calls: it is forgotten, so this
            # delivery is new. Never answer "duplicate" for an event that is not stored.
        else:
            raise RuntimeError(f"could not record {fresh.dedup_key}: purged while recording")
        return self._duplicate(fresh, existing)

    def known(self, event: Event) -> RecordResult | None:
        """What `record` would answer for `event` if it is a duplicate; None while no event
        with its (source, provider_id) is stored. A read: it reserves nothing."""
        existing_id = self._known_id(event.dedup_key)
        existing = self.get(existing_id) if existing_id is not None else None
        return self._duplicate(event, existing) if existing is not None else None

    @staticmethod
    def _duplicate(event: Event, existing: Event) -> RecordResult:
        conflict = bool(event.body_sha256 and existing.body_sha256 != event.body_sha256)
        if conflict:
            log.warning(
                "known event id arrived with a different body; kept the first",
                extra={"event_id": existing.id, "stage": "conflict", "source": event.source},
            )
        return RecordResult(existing, duplicate=True, conflict=conflict)

    # -- reading ----------------------------------------------------------------------------

    def get(self, event_id: str) -> Event | None:
        record = self._load(event_id)
        return Event.from_record(record) if record else None

    def events(
        self,
        *,
        source: str | None = None,
        status: str | None = None,
        type: str | None = None,
        limit: int = 100,
        starting_after: str | None = None,
    ) -> list[Event]:
        """Newest first; `starting_after` (an event id) pages on to the events older than it."""
        if limit <= 0:
            return []
        after = None
        if starting_after:
            after = self.get(starting_after)
            if after is None:  # purged: nothing older is left either
                return []
        return [Event.from_record(r) for r in self._select(source, status, type, limit, after=after)]

    def count_events(
        self, *, source: str | None = None, status: str | None = None, type: str | None = None
    ) -> int:
        """How many stored events match the filters (what a listing's "of N" says)."""
        return self._count(source, status, type)

    def due(self, limit: int = 100) -> list[str]:
        """Ids needing a worker now: retries that are due, expired leases, never-started events."""
        return self._due(self.clock(), limit) if limit > 0 else []

    # -- state changes ----------------------------------------------------------------------

    def claim(self, event_id: str, *, lease_seconds: float, force: bool = False) -> Event | None:
        """Take the event for one run: `processing`, attempts + 1, leased until now + lease.

        Returns None when another worker holds a live lease or the event needs nothing
        (done, dead, or a retry not yet due). `force` (replay) also takes done and dead
        events, but never one whose lease is live.
        """
        while True:
            event = self.get(event_id)
            if event is None:
                return None
            now = self.clock()
            if not self._claimable(event, now, force):
                return None
            lease_until = now + lease_seconds
            claimed = event.with_changes(
                status=PROCESSING,
                attempts=event.attempts + 1,
                lease_until=lease_until,
                next_attempt_at=None,
                updated_at=now,
                version=event.version + 1,
            )
            taken_over = None
            if event.status == PROCESSING:  # an expired lease: that run never finished
                taken_over = Attempt(
                    event.id, event.attempts, event.updated_at or now, None, INTERRUPTED, LEASE_EXPIRED
                )
            if self._swap(event.version, claimed, due_at=lease_until, attempt=taken_over):
                return claimed

    @staticmethod
    def _claimable(event: Event, now: float, force: bool) -> bool:
        if event.status == PROCESSING:
            return event.lease_until is not None and event.lease_until <= now
        if event.status == RECEIVED:
            return True
        if event.status == FAILED:
            return force or (event.next_attempt_at or 0) <= now
        return force  # done, dead

    def complete(self, event: Event) -> Event | None:
        """Mark a claimed event done; None if the lease was lost to another worker."""
        return self._finish(event, status=DONE, last_error="", next_attempt_at=None)

    def fail(self, event: Event, error: str, *, retry_at: float | None) -> Event | None:
        """Mark a claimed event failed (to be retried at `retry_at`) or dead (`retry_at` None)."""
        status = FAILED if retry_at is not None else DEAD
        return self._finish(event, status=status, last_error=error[:2000], next_attempt_at=retry_at)

    def _finish(self, event: Event, **changes: Any) -> Event | None:
        finished = event.with_changes(
            lease_until=None, updated_at=self.clock(), version=event.version + 1, **changes
        )
        due_at = changes["next_attempt_at"] if changes["status"] == FAILED else None
        # A claimed event's updated_at is the moment it was claimed: the attempt's start.
        ended = Attempt(
            event.id,
            event.attempts,
            event.updated_at or finished.updated_at or 0.0,
            finished.updated_at,
            changes["status"],
            changes["last_error"],
        )
        return finished if self._swap(event.version, finished, due_at=due_at, attempt=ended) else None

    def purge(self) -> int:
        """Forget events (and their dedup memory) older than the retention window."""
        cutoff = self.clock() - self.retention_seconds
        self._attempts_delete_before(cutoff)  # first: a backend may find them through the events
        self._delivery_delete_before(cutoff)
        return self._delete_before(cutoff)

    # -- attempt history ------------------------------------------------------------------------

    def history(self, event: Event) -> list[Attempt]:
        """The event's attempts, oldest first; a run in progress shows as `running`."""
        attempts = {a.attempt: a for a in self._attempts_of([event.id])}
        if event.status == PROCESSING and event.attempts and event.attempts not in attempts:
            started = event.updated_at or event.received_at
            attempts[event.attempts] = Attempt(event.id, event.attempts, started, None, RUNNING)
        return [attempts[n] for n in sorted(attempts)]

    def attempts_of(self, event_ids: list[str]) -> list[Attempt]:
        """Finished (and interrupted) attempts of many events at once, for the charts."""
        return self._attempts_of(event_ids) if event_ids else []

    # -- outbox -----------------------------------------------------------------------------

    def add_outbox(
        self,
        integration: str,
        action: str,
        payload: dict[str, Any],
        *,
        event_id: str | None,
        status: str,
        ref: str = "",
        detail: str = "",
        key: str = "",
        response: dict[str, Any] | None = None,
    ) -> OutboxEntry:
        entry = OutboxEntry(
            id="out_" + uuid.uuid4().hex,
            integration=integration,
            action=action,
            payload=payload,
            event_id=event_id,
            status=status,
            created_at=self.clock(),
            ref=ref,
            detail=detail,
            key=key,
            response=response,
        )
        self._outbox_put(entry)
        return entry

    def outbox_by_key(self, key: str) -> OutboxEntry | None:
        """The entry an earlier run of the same handler made with this idempotency key."""
        return self._outbox_find_key(key)

    def outbox(
        self,
        *,
        event_id: str | None = None,
        limit: int = 100,
        integration: str | None = None,
        status: str | None = None,
        possible_duplicate: bool | None = None,
        starting_after: str | None = None,
    ) -> list[OutboxEntry]:
        """Newest first; `starting_after` (an entry id) pages on to older entries.

        Filters other than the event are checked here, over the backend's pages: the
        outbox is an operator's view, bounded by the retention window.
        """
        if limit <= 0:
            return []
        wanted = {k: v for k, v in (("integration", integration), ("status", status)) if v}
        if not wanted and possible_duplicate is None:
            return self._outbox_select(event_id, limit, after=starting_after)
        found: list[OutboxEntry] = []
        after = starting_after
        while True:
            batch = self._outbox_select(event_id, _OUTBOX_SCAN, after=after)
            for entry in batch:
                if all(getattr(entry, k) == v for k, v in wanted.items()) and (
                    possible_duplicate is None
                    # the field arrives with deliveries; an entry without it is no duplicate
                    or bool(getattr(entry, "possible_duplicate", False)) == possible_duplicate
                ):
                    found.append(entry)
                    if len(found) == limit:
                        return found
            if len(batch) < _OUTBOX_SCAN:
                return found
            after = batch[-1].id

    def finish_outbox(self, entry: OutboxEntry) -> None:
        """Store how a call recorded as `sending` ended (same id); an empty `key` frees the
        idempotency key, so the next run of the handler makes the call anew."""
        self._outbox_replace(entry)

    def record_provider_report(self, ref: str, *, status: str, detail: str = "") -> OutboxEntry | None:
        """Store the provider's delivery report on the entry whose provider id is `ref`, in a
        field of its own (`provider_status`): `status` stays what our call came to."""
        return self._outbox_report(ref, status, detail)

    def update_outbox(self, ref: str, *, status: str, detail: str = "") -> OutboxEntry | None:
        """Set the status of the entry whose provider id is `ref` (delivery callbacks)."""
        return self._outbox_patch(ref, status, detail)

    # -- deliveries (hub.deliveries): messages handlers tell, sent by the delivery runner ----

    def add_deliveries(self, deliveries: list[Delivery]) -> int:
        """Record `held` deliveries in one write; ones already recorded (same id) stay as they are."""
        return self._delivery_insert(deliveries) if deliveries else 0

    def release_deliveries(self, scope: str) -> int:
        """The run `scope` succeeded: its held deliveries are due now. How many were released."""
        return self._delivery_release(scope, self.clock())

    def claim_deliveries(self, limit: int, *, lease_seconds: float) -> list[Delivery]:
        """Take up to `limit` due deliveries for one runner: `sending`, attempts + 1, leased.

        Due: pending, a failed one whose retry time came, or `sending` with its lease run out
        (the runner died mid-send). Two runners never get the same delivery.
        """
        now = self.clock()
        return self._delivery_claim(now, now + lease_seconds, limit) if limit > 0 else []

    def deliveries_due(self, limit: int = 100) -> int:
        """How many deliveries (up to `limit`) a runner could claim now."""
        return len(self._delivery_due(self.clock(), limit))

    def finish_delivery(self, claimed: Delivery, **changes: Any) -> Delivery | None:
        """Store how a claimed delivery's attempt ended; None if its lease was lost meanwhile."""
        finished = claimed.with_changes(
            lease_until=None, updated_at=self.clock(), version=claimed.version + 1, **changes
        )
        return finished if self._delivery_swap(claimed.version, finished) else None

    def replay_delivery(self, delivery_id: str) -> Delivery | None:
        """Make a delivery due again now, whatever its status (not while a runner holds it)."""
        while True:
            delivery = self.get_delivery(delivery_id)
            if delivery is None or delivery.status == HELD:
                return None
            now = self.clock()
            if delivery.status == SENDING and (delivery.lease_until or 0) > now:
                return None
            again = delivery.with_changes(
                status=PENDING,
                next_attempt_at=now,
                lease_until=None,
                updated_at=now,
                version=delivery.version + 1,
            )
            if self._delivery_swap(delivery.version, again):
                return again

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        record = self._delivery_load(delivery_id)
        return Delivery.from_record(record) if record else None

    def deliveries(
        self,
        *,
        event_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
        starting_after: str | None = None,
    ) -> list[Delivery]:
        """Newest first; `starting_after` (a delivery id) pages on to the ones told before it."""
        if limit <= 0:
            return []
        before = None
        if starting_after:
            after = self.get_delivery(starting_after)
            if after is None:
                return []
            before = after.created_at  # strictly increasing per run (`Tells`): a fine cursor
        return [Delivery.from_record(r) for r in self._delivery_select(event_id, status, limit, before)]

    # -- small keyed state (subscriptions, sync tokens, channel ids) ----------------------------

    def kv_get(self, namespace: str, key: str) -> dict[str, Any] | None:
        return self._kv_get(namespace, key)

    def kv_put(self, namespace: str, key: str, value: dict[str, Any] | None) -> None:
        """Set `key` in `namespace` to `value`; None deletes it."""
        self._kv_put(namespace, key, value)

    def kv_items(self, namespace: str) -> dict[str, dict[str, Any]]:
        return self._kv_items(namespace)

    # -- counters in a time window (login throttling) -----------------------------------------

    def hit(self, namespace: str, key: str, *, window_seconds: float) -> tuple[int, float]:
        """Count one more hit on `key`, atomically across processes and instances.

        The window opens at the first hit and lasts `window_seconds`; the next hit after it
        opens a new one. Returns (hits in the window, seconds until it closes); the count
        may include hits that other callers made at the same moment, never fewer than ours.
        """
        return self._hit(namespace, key, self.clock(), window_seconds)

    def hits(self, namespace: str, key: str) -> tuple[int, float]:
        """(hits in the open window, seconds until it closes); (0, 0.0) when none is open."""
        return self._hits(namespace, key, self.clock())

    def kv_page(self, namespace: str, cursor: str = "", limit: int = 500) -> KvPage:
        """One page of `namespace` and the cursor for the next ("" when it was the last).

        For fan-out over many subscribers without loading them all. An entry present for
        the whole walk is returned at least once (Redis may return one twice).
        """
        return self._kv_page(namespace, cursor, limit)

    # -- health -----------------------------------------------------------------------------

    def ping(self) -> bool:
        try:
            self._ping()
            return True
        except Exception:  # any failure means "not reachable" to /healthz
            log.warning("store ping failed", exc_info=True)
            return False

    def close(self) -> None:  # noqa: B027 - an optional hook, deliberately not abstract
        """Release connections (optional for backends)."""

    # -- backend primitives -------------------------------------------------------------------

    @abstractmethod
    def _insert(self, event: Event, *, due_at: float | None, attempt: Attempt | None = None) -> str | None:
        """Insert unless the dedup key exists, atomically, with `attempt` (an event stored
        already finished: the attempt that ran it) and in the due index unless `due_at` is
        None. None if inserted, else the known id."""

    @abstractmethod
    def _known_id(self, dedup_key: str) -> str | None:
        """The id of the stored event with this dedup key, if one is stored."""

    @abstractmethod
    def _load(self, event_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def _swap(
        self, expected_version: int, event: Event, *, due_at: float | None, attempt: Attempt | None = None
    ) -> bool:
        """If the record's version is still `expected_version`: write its state fields
        (`Event.state_record()`: nothing else changes after `_insert`) and its due time, and
        keep `attempt` (the run this change ended or took over) in the same atomic write.

        One write per state change: the history costs no round trip or commit of its own.
        """

    @abstractmethod
    def _select(
        self,
        source: str | None,
        status: str | None,
        type: str | None,
        limit: int,
        *,
        after: Event | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first; with `after`, only events listed after it (older, or tied and later)."""

    @abstractmethod
    def _count(self, source: str | None, status: str | None, type: str | None) -> int: ...

    @abstractmethod
    def _due(self, now: float, limit: int) -> list[str]: ...

    @abstractmethod
    def _delete_before(self, cutoff: float) -> int: ...

    @abstractmethod
    def _outbox_put(self, entry: OutboxEntry) -> None: ...

    @abstractmethod
    def _outbox_select(
        self, event_id: str | None, limit: int, *, after: str | None = None
    ) -> list[OutboxEntry]:
        """Newest first; with `after` (an entry id), only the entries listed after it."""

    @abstractmethod
    def _outbox_patch(self, ref: str, status: str, detail: str) -> OutboxEntry | None: ...

    @abstractmethod
    def _outbox_find_key(self, key: str) -> OutboxEntry | None: ...

    @abstractmethod
    def _outbox_report(self, ref: str, status: str, detail: str) -> OutboxEntry | None: ...

    @abstractmethod
    def _outbox_replace(self, entry: OutboxEntry) -> None:
        """Overwrite the entry with `entry.id`, keeping the ref and key pointers in step."""

    @abstractmethod
    def _kv_get(self, namespace: str, key: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def _kv_put(self, namespace: str, key: str, value: dict[str, Any] | None) -> None: ...

    @abstractmethod
    def _kv_items(self, namespace: str) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def _hit(self, namespace: str, key: str, now: float, window: float) -> tuple[int, float]: ...

    @abstractmethod
    def _hits(self, namespace: str, key: str, now: float) -> tuple[int, float]: ...

    @abstractmethod
    def _ping(self) -> None: ...

    @abstractmethod
    def _attempts_of(self, event_ids: list[str]) -> list[Attempt]: ...

    @abstractmethod
    def _attempts_delete_before(self, cutoff: float) -> None:
        """Forget the attempts of events received before `cutoff` (purged right after)."""

    # deliveries

    @abstractmethod
    def _delivery_insert(self, deliveries: list[Delivery]) -> int: ...

    @abstractmethod
    def _delivery_release(self, scope: str, now: float) -> int: ...

    @abstractmethod
    def _delivery_claim(self, now: float, lease_until: float, limit: int) -> list[Delivery]: ...

    @abstractmethod
    def _delivery_due(self, now: float, limit: int) -> list[str]: ...

    @abstractmethod
    def _delivery_swap(self, expected_version: int, delivery: Delivery) -> bool: ...

    @abstractmethod
    def _delivery_load(self, delivery_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def _delivery_select(
        self, event_id: str | None, status: str | None, limit: int, before: float | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; with `before`, only the ones created before that moment."""

    @abstractmethod
    def _delivery_delete_before(self, cutoff: float) -> int: ...

    @abstractmethod
    def _kv_page(self, namespace: str, cursor: str, limit: int) -> KvPage: ...
