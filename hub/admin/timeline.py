"""An event's story for the operator: its attempts, the calls each made, whether anything
handled it. Shared by the admin API and the dashboard, so both tell the same story."""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.events import DEAD, DONE, FAILED, iso_time
from hub.store.attempts import INTERRUPTED

if TYPE_CHECKING:
    from hub.events import Event
    from hub.services import Hub
    from hub.store import OutboxEntry
    from hub.store.attempts import Attempt

UNHANDLED = "unhandled"  # shown for a `done` event no handler took; not a stored status
HOURS = 24


def handled(hub: Hub, event: Event) -> bool:
    """Whether a handler is registered for the event (the router's own rules decide)."""
    return hub.router.resolve(event) is not None


def shown_status(hub: Hub, event: Event) -> str:
    """The status as the operator should read it: `done` with no handler is `unhandled`."""
    return UNHANDLED if event.status == DONE and not handled(hub, event) else event.status


@dataclass
class Step:
    """One attempt with the outbound calls made while it ran."""

    attempt: Attempt
    calls: list[OutboxEntry] = field(default_factory=list)


def attempt_of(entry: OutboxEntry, attempts: list[Attempt]) -> int | None:
    """The attempt an outbound call belongs to: the last one started by the time it was made.

    Attempts of one event never overlap (a lease holds it), so time places each call.
    """
    starts = [a.started_at for a in attempts]
    index = bisect.bisect_right(starts, entry.created_at) - 1
    return attempts[index].attempt if index >= 0 else None


def timeline(attempts: list[Attempt], outbox: list[OutboxEntry]) -> list[Step]:
    """Attempts oldest first, each with its calls (oldest first)."""
    steps = {a.attempt: Step(a) for a in attempts}
    for entry in sorted(outbox, key=lambda e: e.created_at):
        number = attempt_of(entry, attempts)
        if number is not None:
            steps[number].calls.append(entry)
    return [steps[a.attempt] for a in attempts]


def event_detail(hub: Hub, event: Event) -> dict[str, Any]:
    """`GET /admin/api/events/<id>`: the summary, payload, headers, history and outbox."""
    attempts = hub.store.history(event)
    outbox = hub.store.outbox(event_id=event.id)
    steps = timeline(attempts, outbox)
    history = [{**s.attempt.summary(), "outbox": [c.id for c in s.calls]} for s in steps]
    calls = [{**entry.summary(), "attempt": attempt_of(entry, attempts)} for entry in outbox]
    return {
        **event.summary(),
        "handled": handled(hub, event),
        "payload": event.payload,
        "headers": event.headers,
        "history": history,
        "outbox": calls,
    }


# An interrupted run (its worker died, its lease ran out) failed too, only without a word.
FAILED_OUTCOMES = (FAILED, DEAD, INTERRUPTED)


def failures_per_hour(attempts: list[Attempt], now: float) -> list[dict[str, Any]]:
    """Attempts and failed attempts that ended in each of the last 24 hours (UTC hours)."""
    start = (int(now) // 3600 - HOURS + 1) * 3600
    buckets = [{"start": start + i * 3600, "attempts": 0, "failures": 0} for i in range(HOURS)]
    for attempt in attempts:
        ended = attempt.finished_at if attempt.finished_at is not None else attempt.started_at
        index = int(ended - start) // 3600
        if 0 <= index < HOURS:
            buckets[index]["attempts"] += 1
            if attempt.outcome in FAILED_OUTCOMES:
                buckets[index]["failures"] += 1
    for bucket in buckets:
        bucket["hour"] = time.strftime("%H:00", time.gmtime(bucket["start"]))
        bucket["iso"] = iso_time(bucket["start"])
    return buckets
