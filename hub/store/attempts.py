"""An attempt: one run of an event's handlers, kept after the event has moved on.

The store keeps one record per attempt when it ends (and when a takeover finds it
abandoned), so a retry or a replay no longer hides the earlier run's error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.events import iso_time

# How an attempt ended: the event's status after it, or "interrupted" (its lease ran out
# and another run took the event over), or "running" (not finished yet).
INTERRUPTED, RUNNING = "interrupted", "running"
LEASE_EXPIRED = "the lease expired before the run finished; another run took the event over"


@dataclass(frozen=True)
class Attempt:
    """One run of an event's handlers, kept after the event has moved on (a replay, a retry)."""

    event_id: str
    attempt: int
    started_at: float
    finished_at: float | None
    outcome: str  # done | failed | dead | interrupted | running
    error: str = ""  # as stored in last_error: scrubbed by the worker before the store sees it

    def summary(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "started_at": iso_time(self.started_at),
            "finished_at": iso_time(self.finished_at) if self.finished_at is not None else None,
            "outcome": self.outcome,
            "error": self.error or None,
        }
