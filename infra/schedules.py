"""Scheduled work: the functions zappa's `events` call, each emitting one internal event.

A schedule does no work itself: it records an event ("schedule", "<type>") whose
provider id names the time slot, so each run is stored exactly once (a repeated
CloudWatch delivery of the same slot is a duplicate), retried like any webhook and
visible in the admin API. Handlers for the types live in `handlers/`. Only the retry
sweep runs directly: it is what runs retries, so it cannot be an event itself.

Kept small and free of SDK imports on purpose: a scheduled invocation may be a cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.observability import flush

if TYPE_CHECKING:
    from flask import Flask

    from hub.services import Acceptance

SOURCE = "schedule"


@dataclass(frozen=True)
class Schedule:
    """One recurring internal event: its type, zappa function, expression and slot length."""

    type: str
    function: str  # name in this module; zappa rule names forbid "-"
    expression: str  # as written in zappa_settings.json `events`
    slot_seconds: int  # runs within one slot are the same run


SCHEDULES: dict[str, Schedule] = {
    s.type: s
    for s in (
        Schedule("weather.watch", "weather_watch", "rate(30 minutes)", 30 * 60),
        Schedule("weather.digest", "weather_digest", "cron(0 7 * * ? *)", 24 * 3600),
        Schedule("calendar.renew", "calendar_renew", "rate(6 hours)", 6 * 3600),
    )
}
SWEEP_FUNCTION, SWEEP_EXPRESSION = "sweep", "rate(1 minute)"


def slot_id(schedule: Schedule, when: datetime) -> str:
    """`weather.watch:2025-01-31T07:30Z`: the same for every delivery within one slot."""
    start = int(when.timestamp()) // schedule.slot_seconds * schedule.slot_seconds
    moment = datetime.fromtimestamp(start, UTC)
    daily = schedule.slot_seconds >= 86400
    stamp = moment.strftime("%Y-%m-%d" if daily else "%Y-%m-%dT%H:%MZ")
    return f"{schedule.type}:{stamp}"


def tick(app: Flask, type: str, when: datetime | None = None) -> Acceptance:
    """Emit the schedule event of `type` for the slot containing `when` (default: now)."""
    from hub.services import hub_of

    try:
        schedule = SCHEDULES[type]
    except KeyError:
        raise LookupError(f"unknown schedule {type!r}; known: {', '.join(SCHEDULES)}") from None
    when = when or datetime.now(UTC)
    with app.app_context():
        return hub_of(app).emit(SOURCE, type, provider_id=slot_id(schedule, when), payload={})


def scheduled_time(event: dict[str, Any] | None) -> datetime | None:
    """The slot time CloudWatch/EventBridge put in a Scheduled Event (`time`), if any."""
    raw = (event or {}).get("time")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def _app() -> Flask:
    from hub.wsgi import app  # already imported by zappa's handler (app_function)

    return app


def _run(type: str, event: dict[str, Any] | None) -> dict[str, Any]:
    try:
        acceptance = tick(_app(), type, scheduled_time(event))
        return {"event_id": acceptance.event.id, "duplicate": acceptance.duplicate}
    finally:
        flush()


def weather_watch(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    return _run("weather.watch", event)


def weather_digest(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    return _run("weather.digest", event)


def calendar_renew(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    return _run("calendar.renew", event)


def sweep(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    """Due retries, expired leases, purge: directly, every minute."""
    from hub.services import hub_of

    app = _app()
    try:
        with app.app_context():
            report = hub_of(app).sweep()
        return {"ran": report.ran, "done": report.done, "failed": report.failed, "dead": report.dead}
    finally:
        flush()


def zappa_events() -> list[dict[str, str]]:
    """The `events` list zappa_settings.json must carry (a test keeps the two in step)."""
    events = [{"function": f"{__name__}.{SWEEP_FUNCTION}", "expression": SWEEP_EXPRESSION}]
    for s in SCHEDULES.values():
        events.append({"function": f"{__name__}.{s.function}", "expression": s.expression})
    return events
