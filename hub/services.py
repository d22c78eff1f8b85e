"""One app's services (settings, store, cache, router, outbox, task queue) as a `Hub`, and
the ways an event enters them: accept, emit, replay, sweep.

Kept in `app.extensions["hub"]`; `hub_of(app)` or `current_hub()` fetch it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app

from hub.context import Reply
from hub.events import Event
from hub.logs import log_stage
from hub.store import RecordResult
from hub.worker import RunResult, run_arrived, run_event, sweep

if TYPE_CHECKING:
    from collections.abc import Callable

    from flask import Flask

    from hub.cache import LazyCache
    from hub.config import Settings
    from hub.outbox import Outbox
    from hub.ratelimit import RateLimiter
    from hub.router import Router
    from hub.store import Store
    from hub.tasks import TaskQueue
    from hub.worker import SweepReport

log = logging.getLogger("hub")


@dataclass
class Acceptance:
    """What intake did with a verified event."""

    record: RecordResult
    replies: list[Reply] = field(default_factory=list)

    @property
    def event(self) -> Event:
        return self.record.event

    @property
    def duplicate(self) -> bool:
        return self.record.duplicate


@dataclass
class Hub:
    settings: Settings
    store: Store
    cache: LazyCache  # stands for flask_caching.Cache
    router: Router
    outbox: Outbox
    tasks: TaskQueue
    failure_reporters: list[Any] = field(default_factory=list)
    limiter: RateLimiter | None = None  # opened by the first delivery run (hub.delivery_runner)
    # Connection factories by integration name, replacing an integration's own (create_app's
    # `transports`): how tests put a fake wire under an SDK that `responses` cannot reach.
    transports: dict[str, Callable[[], Any]] = field(default_factory=dict)

    def accept(self, event: Event, *, inline_slots: int = 0) -> Acceptance:
        """Store a verified event once, then run it now (`inline_slots` > 0) or queue it.

        Nothing is acknowledged that is not durable: a queued event is stored first; an
        inline run is stored before its first effect, or once, done, when it only replied
        (hub.worker.run_arrived).
        """
        if inline_slots:
            recorded, run = run_arrived(self, event, inline_slots=inline_slots)
            if run is None:
                return _answered_before(recorded)
            return Acceptance(recorded, replies=run.replies)
        lease = self.settings.hub_lease_seconds
        # Run in this process's pool: store it claimed, saving a write.
        runs_here = self.tasks.runs_in_process
        recorded = self.store.record(event, attention_after=lease, claim_lease=lease if runs_here else None)
        if recorded.duplicate:
            return _answered_before(recorded)
        log_stage("received", recorded.event)
        self.tasks.enqueue(recorded.event.id, claimed=recorded.event if recorded.claimed else None)
        return Acceptance(recorded)

    def emit(self, source: str, type: str, provider_id: str, payload: dict[str, Any]) -> Acceptance:
        """Accept an internal event (schedules, weather watches, calendar sync results)."""
        return self.accept(Event(source=source, type=type, provider_id=provider_id, payload=payload))

    def replay(self, event_id: str) -> RunResult:
        """Run an event's handler again now, whatever its status (not while another run holds it)."""
        result = run_event(self, event_id, force=True, replay=True)
        if result.ran and result.event is not None:
            log_stage("replayed", result.event)
        return result

    def sweep(self, *, limit: int = 100) -> SweepReport:
        return sweep(self, limit=limit)

    def report_failure(self, event: Event, exc: BaseException) -> None:
        for report in self.failure_reporters:
            try:
                report(event, exc)
            except Exception:  # reporting must never turn a handled failure into a crash
                log.exception("failure reporter raised")


def _answered_before(recorded: RecordResult) -> Acceptance:
    """A delivery of an event already stored: logged as a duplicate (or a conflict, when its
    body differs from the stored one) and acknowledged without running anything."""
    log_stage("conflict" if recorded.conflict else "duplicate", recorded.event)
    return Acceptance(recorded)


def hub_of(app: Flask) -> Hub:
    return app.extensions["hub"]


def current_hub() -> Hub:
    return hub_of(current_app)
