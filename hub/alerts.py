"""Telling the operator: an event gone dead, a source failing often, and its recovery.

Alerts go to every `HUB_ADMIN_CHAT_IDS` chat by Telegram, as deliveries like any other
(`hub.deliveries`): recorded with the event whose run noticed, sent by the delivery runner
under the rate limits, listed in the outbox and `/admin/api/deliveries`. (No setting names
admin phone numbers, so there is no SMS alert.)

"Once" holds across instances and crashes because an alert's delivery id is derived from
what it reports, never from who noticed: the dead transition (event id and attempt), or
the source's alarm episode. The store records a delivery id once, so two instances that
notice the same thing record one alert. A dead transition is noted in the store before
the event is marked dead and the note is cleared once its alert is recorded: a process
that dies in between leaves the note, and the next sweep records the alert.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub.deliveries import Delivery
from hub.events import DEAD, PROCESSING

if TYPE_CHECKING:
    from hub.events import Event
    from hub.services import Hub

__all__ = ["after_failure", "after_success", "enabled", "note_dying", "settle_dying"]

log = logging.getLogger("hub.alerts")

DYING = "alerts-dying"  # kv: event id -> {"attempt": n}, a dead transition not yet alerted
SOURCES = "alerts-sources"  # kv: source -> {"episode": n, "alarm": bool}
FAILURES = "alerts-failures"  # windowed counter (`Store.hit`): failed attempts per source
ERROR_CHARS = 300  # of the (already scrubbed) error, so an alert stays one short message


def enabled(hub: Hub) -> bool:
    return bool(hub.settings.hub_admin_chat_ids)


def note_dying(hub: Hub, event: Event) -> None:
    """Before the claimed `event` is marked dead: remember the transition to alert on."""
    if enabled(hub):
        hub.store.kv_put(DYING, event.id, {"attempt": event.attempts})


def after_failure(hub: Hub, claimed: Event, stored: Event | None, *, dead: bool) -> None:
    """A run of `claimed` failed (`stored`: the event as saved, None if the lease was lost).

    Alerting never fails the run: what is not recorded now is recorded by the next sweep
    (a dead transition) or the source's next failure (a threshold crossed).
    """
    if not enabled(hub):
        return
    steps = [lambda: _settle(hub, claimed.id, claimed.attempts, stored)] if dead else []
    steps.append(lambda: _count_failure(hub, stored or claimed))
    for step in steps:  # each on its own: a failed dead alert still counts the failure
        try:
            step()
        except Exception:
            log.warning("operator alert not recorded yet", extra={"event_id": claimed.id}, exc_info=True)


def after_success(hub: Hub, event: Event) -> None:
    """A run of `event` succeeded: if its source was in alarm and is no longer failing
    often, tell the operator it recovered."""
    if not enabled(hub):
        return
    try:
        state = hub.store.kv_get(SOURCES, event.source)
        if not state or not state.get("alarm"):
            return
        failures, _ = hub.store.hits(FAILURES, event.source)
        if failures >= hub.settings.hub_alert_failures:  # still failing often: not recovered
            return
        episode = int(state["episode"])
        text = f"hub: {event.source} recovered: {event.type} {event.id} ran fine."
        _tell(hub, f"alert/source/{event.source}/{episode}/recovered", event.id, text)
        hub.store.kv_put(SOURCES, event.source, {"episode": episode, "alarm": False})
    except Exception:
        log.warning("operator alert not recorded yet", extra={"event_id": event.id}, exc_info=True)


def settle_dying(hub: Hub) -> int:
    """The sweep's part: record the alert of every noted dead transition still without one
    (its process died in between); how many notes were settled."""
    if not enabled(hub):
        return 0
    settled = 0
    for event_id, note in hub.store.kv_items(DYING).items():
        try:
            settled += _settle(hub, event_id, int(note["attempt"]), None)
        except Exception:
            log.warning("operator alert not recorded yet", extra={"event_id": event_id}, exc_info=True)
    return settled


def _settle(hub: Hub, event_id: str, attempt: int, stored: Event | None) -> int:
    event = stored if stored is not None else hub.store.get(event_id)
    if event is not None and event.status == PROCESSING and event.attempts == attempt:
        return 0  # that run is still going (or its lease not yet run out): not settled
    if event is not None and event.status == DEAD and event.attempts == attempt:
        error = event.last_error
    else:  # moved on since (replayed, or never went dead): did that attempt end dead?
        ended = {a.attempt: a for a in hub.store.history(event)} if event is not None else {}
        dead = ended.get(attempt)
        error = dead.error if dead is not None and dead.outcome == DEAD else None
    if event is not None and error is not None:
        _tell(hub, f"alert/dead/{event_id}/{attempt}", event_id, _dead_text(hub, event, attempt, error))
    hub.store.kv_put(DYING, event_id, None)
    return 1


def _count_failure(hub: Hub, event: Event) -> None:
    settings = hub.settings
    failures, _ = hub.store.hit(FAILURES, event.source, window_seconds=settings.hub_alert_window_seconds)
    if failures < settings.hub_alert_failures:
        return
    state = hub.store.kv_get(SOURCES, event.source) or {"episode": 0, "alarm": False}
    if state.get("alarm"):
        return  # told already; the next message about this source is its recovery
    # Two instances crossing at once compute the same episode, hence the same delivery ids.
    episode = int(state.get("episode", 0)) + 1
    text = (
        f"hub: {event.source} is failing: {failures} failed attempts within "
        f"{_duration(settings.hub_alert_window_seconds)} (alert at {settings.hub_alert_failures}). "
        f"Latest: {event.type} {event.id}: {event.last_error[:ERROR_CHARS]}"
    )
    # The delivery first: a crash before the state is saved repeats this episode, deduplicated.
    _tell(hub, f"alert/source/{event.source}/{episode}/failing", event.id, text)
    hub.store.kv_put(SOURCES, event.source, {"episode": episode, "alarm": True})


def _dead_text(hub: Hub, event: Event, attempt: int, error: str) -> str:
    text = (
        f"hub: event {event.id} ({event.source} {event.type}) is dead after "
        f"{attempt} attempt(s): {error[:ERROR_CHARS]}"
    )
    if hub.settings.hub_public_url:
        text += f"\nReplay it from {hub.settings.hub_public_url}/admin/events/{event.id}"
    return text


def _tell(hub: Hub, scope: str, event_id: str, text: str) -> None:
    """One delivery per admin chat, due now; its id names the alert (`effect`), not the
    text, which differs between the instances that notice (counts, timing)."""
    now = hub.store.clock()
    deliveries = [
        Delivery.new(scope, event_id, "telegram", chat, text, {}, now=now + n * 1e-6, effect="alert")
        for n, chat in enumerate(hub.settings.hub_admin_chat_ids)
    ]
    hub.store.add_deliveries(deliveries)  # ones recorded before (same id) stay as they are
    if hub.store.release_deliveries(scope):
        log.info("operator alert recorded: %s", scope, extra={"event_id": event_id, "stage": "alert"})
        hub.tasks.enqueue_deliveries()


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
