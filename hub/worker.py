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
    from hub.store import RecordResult

__all__ = ["RunResult", "SweepReport", "retry_delay", "run_arrived", "run_event", "sweep"]

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
    replay: bool = False,
    claimed: Event | None = None,
) -> RunResult:
    """Claim `event_id` and run its handler once. Never raises for a handler's error.

    `claimed`: the event as `Store.record(claim_lease=...)` stored it; while its lease is
    live it is ours without another store round-trip, once expired it is claimed anew.
    """
    settings = hub.settings
    event = claimed if _still_leased(hub, claimed) else None
    if event is None:
        event = hub.store.claim(event_id, lease_seconds=settings.hub_lease_seconds, force=force)
    if event is None:
        return RunResult(hub.store.get(event_id))
    if event.attempts > 1 and not replay:
        log_stage("retried", event)
    # A replay is a deliberate new run: its outbound calls are not deduplicated against
    # the earlier runs' (retries of one run are).
    scope = f"{event.id}/replay{event.attempts}" if replay else event.id
    ctx = Context(hub, event, scope=scope)
    started = time.perf_counter()
    try:
        handled = _dispatch(hub, event, ctx)
        released, follow_up = _settle(hub, ctx)
    except Exception as exc:  # a handler's failure is data: recorded, retried, dead-lettered
        return _record_failure(hub, event, exc, {})
    return _finish(hub, event, ctx, handled, started, released, follow_up, {})


class _KnownAlready(BaseException):
    """Stops an arrived event's run at its first effect: the event was stored before
    (a BaseException, so that a handler's `except Exception` does not go on regardless)."""


def run_arrived(hub: Hub, event: Event, *, inline_slots: int) -> tuple[RecordResult, RunResult | None]:
    """Run a verified event that just arrived inline, storing it once; None for a duplicate.

    A redelivery of a stored event runs nothing (`Store.known`, a read). Otherwise the
    handler runs first, on the event as it is stored claimed (`Store.as_claimed`). Its
    first effect beyond replying (anything through `ctx.hub`, `ctx.store` or `ctx.cache`,
    or a page of deliveries written) stores it claimed before that effect happens, and a
    duplicate's run stops there, having done nothing; from then on the run is `run_event`'s.
    A run that only replied (a chat command's answer) is stored once, done, with its attempt
    (`Store.record_finished`): one store write instead of two. A duplicate's replies are
    dropped: the first delivery got its own. (Only two deliveries of one update at the same
    moment, both read before either is stored, can both run the replying part; no effect.)
    """
    known = hub.store.known(event)
    if known is not None:
        return known, None
    settings = hub.settings
    claimed = hub.store.as_claimed(event, lease=settings.hub_lease_seconds)
    stored: list[RecordResult] = []

    def store_claimed() -> None:
        stored.append(hub.store.record_claimed(claimed))
        if stored[0].duplicate:
            raise _KnownAlready

    ctx = Context(hub, claimed, inline_slots=inline_slots, before_effect=store_claimed)
    started = time.perf_counter()
    try:
        try:
            handled = _dispatch(hub, claimed, ctx)
            if not (stored or ctx.tells.pending or ctx.follow_up is not None):
                return _finish_unstored(hub, claimed, ctx, handled, started)
            ctx.about_to_act()  # it told something or left a fan-out's rest: stored claimed first
            released, follow_up = _settle(hub, ctx)
        except Exception as exc:  # as in run_event, once the event is stored
            if not stored:
                store_claimed()
            return stored[0], _record_failure(hub, claimed, exc, _ARRIVED)
        return stored[0], _finish(hub, claimed, ctx, handled, started, released, follow_up, _ARRIVED)
    except _KnownAlready:
        return stored[0], None
    except BaseException:  # the store failed mid-run: the line the run did not write
        if stored:
            log_stage("received", stored[0].event)
        raise


_ARRIVED = {"received": True}


def _finish_unstored(
    hub: Hub, claimed: Event, ctx: Context, handled: bool, started: float
) -> tuple[RecordResult, RunResult | None]:
    recorded = hub.store.record_finished(claimed)
    if recorded.duplicate:
        return recorded, None
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    stage = "handled" if handled else "unhandled"
    log_stage(stage, recorded.event, duration_ms=duration_ms, deliveries=0, **_ARRIVED)
    if handled:
        alerts.after_success(hub, recorded.event)  # a source in alarm may have recovered
    return recorded, RunResult(recorded.event, ran=True, replies=ctx.inline_replies)


def _dispatch(hub: Hub, event: Event, ctx: Context) -> bool:
    with handler_span(event):
        fail_if_asked(event, dry_run=hub.settings.hub_dry_run)  # `hub simulate --fail`
        return hub.router.dispatch(event, ctx)


def _settle(hub: Hub, ctx: Context) -> tuple[int, RecordResult | None]:
    """After a run succeeded: its deliveries become due, its fan-out's rest is recorded.

    Both before the event is done: a crash in between reruns the handler, which records
    the same ones."""
    released = ctx.tells.commit()
    follow_up = ctx.follow_up
    if follow_up is None:
        return released, None
    return released, hub.store.record(follow_up, attention_after=hub.settings.hub_lease_seconds)


def _finish(
    hub: Hub,
    event: Event,
    ctx: Context,
    handled: bool,
    started: float,
    released: int,
    follow_up: RecordResult | None,
    arrived: dict[str, bool],
) -> RunResult:
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
        return RunResult(hub.store.get(event.id), ran=True)
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
