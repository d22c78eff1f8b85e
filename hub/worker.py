"""Running an event's handler once: claim, dispatch, then done, retry with backoff, or dead."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hub import alerts
from hub.backoff import asked_delay, error_text, retry_delay
from hub.context import Context, Reply
from hub.delivery_runner import DeliveryReport, run_deliveries
from hub.events import DEAD, FAILED, PROCESSING, Event
from hub.faults import fail_if_asked
from hub.logs import log_stage
from hub.observability import handler_span

if TYPE_CHECKING:
    from hub.services import Hub

__all__ = ["RunResult", "SweepReport", "retry_delay", "run_event", "sweep"]

log = logging.getLogger("hub.worker")


@dataclass
class RunResult:
    event: Event | None  # the event as it ended; None when it was not ours to run
    ran: bool = False
    replies: list[Reply] = field(default_factory=list)
    error: str = ""


def run_event(
    hub: Hub,
    event_id: str,
    *,
    force: bool = False,
    inline_slots: int = 0,
    replay: bool = False,
    claimed: Event | None = None,
    received: bool = False,
) -> RunResult:
    """Claim `event_id` and run its handler once. Never raises for a handler's error.

    `claimed`: the event as `Store.record(claim_lease=...)` stored it; while its lease is
    live it is ours without another store round-trip, once expired it is claimed anew.
    `received`: the event arrived in this request and runs inline: its one log line is the
    run's outcome, marked `received` (hub.services.Hub.accept logs no line of its own).
    """
    settings = hub.settings
    event = claimed if _still_leased(hub, claimed) else None
    if event is None:
        event = hub.store.claim(event_id, lease_seconds=settings.hub_lease_seconds, force=force)
    if event is None:
        found = hub.store.get(event_id)
        if received and found is not None:
            log_stage("received", found)  # not ours to run after all: say it arrived
        return RunResult(found)
    arrived = {"received": True} if received else {}
    if event.attempts > 1 and not replay:
        log_stage("retried", event)
    # A replay is a deliberate new run: its outbound calls are not deduplicated against
    # the earlier runs' (retries of one run are).
    scope = f"{event.id}/replay{event.attempts}" if replay else event.id
    ctx = Context(hub, event, inline_slots=inline_slots, scope=scope)
    started = time.perf_counter()
    try:
        with handler_span(event):
            fail_if_asked(event, dry_run=settings.hub_dry_run)  # `hub simulate --fail`
            handled = hub.router.dispatch(event, ctx)
        # The run's messages become due only now that it succeeded, and before the event
        # is done: a crash in between reruns the handler, which records the same ones.
        released = ctx.tells.commit()
        # A fan-out's rest (hub.fanout) is recorded before the event is done, for the same reason.
        follow_up = (
            hub.store.record(ctx.follow_up, attention_after=settings.hub_lease_seconds)
            if ctx.follow_up
            else None
        )
    except Exception as exc:  # a handler's failure is data: recorded, retried, dead-lettered
        return _record_failure(hub, event, exc, arrived)
    finished = hub.store.complete(event)
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    stage = "handled" if handled else "unhandled"
    log_stage(stage, event, duration_ms=duration_ms, deliveries=released, **arrived)
    if released:
        hub.tasks.enqueue_deliveries()
    if follow_up is not None and not follow_up.duplicate:
        log_stage("received", follow_up.event)
        hub.tasks.enqueue(follow_up.event.id)
    if finished is not None and handled:
        alerts.after_success(hub, finished)  # a source in alarm may have recovered
    if finished is None:  # our lease ran out and another worker took over
        log.warning("lease lost while handling", extra={"event_id": event.id})
        return RunResult(hub.store.get(event_id), ran=True)
    return RunResult(finished, ran=True, replies=ctx.inline_replies)


def _still_leased(hub: Hub, claimed: Event | None) -> bool:
    lease_until = claimed.lease_until if claimed is not None else None
    return lease_until is not None and hub.store.clock() < lease_until


def _record_failure(hub: Hub, event: Event, exc: Exception, arrived: dict[str, bool]) -> RunResult:
    settings = hub.settings
    error = error_text(settings, exc)
    if event.attempts >= settings.hub_max_attempts:
        retry_at = None
    else:
        delay = retry_delay(
            event.attempts, base=settings.hub_retry_base_seconds, cap=settings.hub_retry_max_seconds
        )
        delay = max(delay, asked_delay(exc))
        retry_at = hub.store.clock() + delay
    if retry_at is None:
        alerts.note_dying(hub, event)  # before the write: a crash after it still alerts
    failed = hub.store.fail(event, error, retry_at=retry_at)
    alerts.after_failure(hub, event, failed, dead=retry_at is None)
    stage = "dead" if retry_at is None else "failed"
    log_stage(stage, failed or event, error=error, exc_info=exc, **arrived)
    hub.report_failure(event, exc)
    return RunResult(failed or hub.store.get(event.id), ran=True, error=error)


@dataclass
class SweepReport:
    ran: int = 0
    done: int = 0
    failed: int = 0
    dead: int = 0
    purged: int = 0
    deliveries: DeliveryReport = field(default_factory=DeliveryReport)


def sweep(hub: Hub, *, limit: int = 100) -> SweepReport:
    """Run every event that needs a worker now (due retries, expired leases, stragglers),
    then due deliveries for at most one run's time budget, then purge."""
    report = SweepReport()
    for event_id in hub.store.due(limit):
        before = hub.store.get(event_id)
        if before is not None and before.status == PROCESSING:
            log_stage("recovered", before)
        result = run_event(hub, event_id)
        if not result.ran or result.event is None:
            continue
        report.ran += 1
        status = result.event.status
        if status == DEAD:
            report.dead += 1
        elif status == FAILED:
            report.failed += 1
        else:
            report.done += 1
    alerts.settle_dying(hub)  # dead transitions whose process died before alerting
    report.deliveries = run_deliveries(hub)
    report.purged = hub.store.purge()
    return report
