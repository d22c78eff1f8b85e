"""The admin dashboard: server-rendered pages over the store, behind the admin login.

Pages read the store directly (no build step, no client framework); the events table
refreshes itself by polling `/admin/api/events` with the page's filters. Every page
works without JavaScript; the script only adds live refresh and local times.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from hub.admin.api import BULK_REPLAY_LIMIT, replay_matching
from hub.admin.auth import csrf_token, guard_page, secure_headers, wants_html
from hub.admin.charts import hourly, per_source
from hub.admin.deliveries_api import replay_one
from hub.admin.integrations import integration_table, mask  # noqa: F401 - mask: the module's old home
from hub.admin.recipients import shown_recipient, without_phones
from hub.admin.timeline import shown_status, timeline
from hub.deliveries import DEAD, DELIVERY_STATUSES, FAILED
from hub.errors import HubError
from hub.events import STATUSES, iso_time
from hub.services import current_hub

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.store.base import OutboxEntry

bp = Blueprint("admin_dashboard", __name__, url_prefix="/admin")
bp.before_request(guard_page)
bp.after_request(secure_headers)

EVENTS_SHOWN = 50
OUTBOX_SHOWN = 50
DELIVERIES_SHOWN = 50
REPLAYABLE = (FAILED, DEAD)  # offered a replay button (a skipped recipient opted out: left alone)
STATS_WINDOW = 1000  # the newest events (matching the filters) the charts count
SOURCES_WINDOW = 200  # the newest events whose sources the filter offers (besides the chosen one)
FILTERS = ("source", "type", "status")


def without_secrets(text: str, settings: Settings) -> str:
    """A stored payload or error as shown: configured secret values and phone numbers masked."""
    for secret in sorted(settings.secret_values(), key=len, reverse=True):
        text = text.replace(secret, "••••••")
    return without_phones(text)


def _filters(source: Any = None) -> dict[str, str]:
    source = source if source is not None else request.args
    chosen = {k: str(source.get(k, "")).strip() for k in FILTERS}
    if chosen["status"] and chosen["status"] not in STATUSES:
        chosen["status"] = ""
    return chosen


def in_doubt(entry: OutboxEntry, settings: Settings, now: float) -> bool:
    """A call still `sending` after any lease would have run out: the run making it died,
    and nobody knows whether it went out (until a retry makes it again, flagged)."""
    lease = max(settings.hub_lease_seconds, settings.hub_delivery_lease_seconds)
    return entry.status == "sending" and now - entry.created_at > lease


def _chosen(filters: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in filters.items() if v}


def _helpers() -> dict[str, Any]:
    """What every page's template uses to show stored text and states."""
    hub = current_hub()
    return {
        "clean": lambda text: without_secrets(text or "", hub.settings),
        "as_json": lambda value, indent=None: without_secrets(
            json.dumps(value, indent=indent, sort_keys=True), hub.settings
        ),
        "shown_status": lambda event: shown_status(hub, event),
        "iso_time": iso_time,
        "recipient": shown_recipient,
        "in_doubt": lambda entry: in_doubt(entry, hub.settings, hub.store.clock()),
        "replayable": REPLAYABLE,
        "settings": hub.settings,
    }


def count_text(shown: int, total: int, *, filtered: bool, older: bool) -> str:
    """What the table shows, out of what ("Newest 50 of 53 events"); admin.js says the same."""
    noun = ("matching " if filtered else "") + ("event" if total == 1 else "events")
    if not total:
        return f"No {noun}." if not filtered else "No matching events."
    return f"{'Older' if older else 'Newest'} {shown} of {total} {noun}."


@bp.app_template_filter("iso")
def _iso(ts: float | None) -> str:
    return iso_time(ts) if ts else ""


@bp.app_template_filter("utc")
def _utc(ts: float | None) -> str:
    """ "2026-05-01 14:03:07 UTC": what a page shows before (or without) its script."""
    return iso_time(ts)[:19].replace("T", " ") + " UTC" if ts else ""


@bp.app_template_filter("breakable")
def _breakable(text: str) -> Markup:
    """A dotted name that may wrap after its dots and underscores on a narrow screen."""
    return Markup(str(escape(text)).replace(".", ".<wbr>").replace("_", "_<wbr>"))


def _cursor(find: Callable[[str], object] | None, item: str, items: str) -> str | None:
    """`?starting_after=`: the last item of the page before. One that `find` no longer finds
    (purged meanwhile) says so and pages from the newest instead."""
    after = request.args.get("starting_after") or None
    if after and find is not None and find(after) is None:
        flash(f"That page is gone (the {item} it starts after was purged): the newest {items}.", "error")
        return None
    return after


def _next_page(endpoint: str, shown: list[Any], page_size: int, chosen: dict[str, str]) -> str | None:
    """The link to the page after a full one, keeping the filters."""
    if len(shown) < page_size:
        return None
    return url_for(endpoint, **chosen, starting_after=shown[-1].id)


@bp.get("")
def index() -> str:
    hub = current_hub()
    filters = _filters()
    chosen = _chosen(filters)
    query = {"source": chosen.get("source"), "type": chosen.get("type"), "status": chosen.get("status")}
    after = _cursor(hub.store.get, "event", "events")
    # The charts describe the newest matching events, whatever page the table shows.
    recent = hub.store.events(**query, limit=STATS_WINDOW)
    events = recent[:EVENTS_SHOWN]
    if after:
        events = hub.store.events(**query, limit=EVENTS_SHOWN, starting_after=after)
    total = hub.store.count_events(**query)
    poll = url_for("admin_api.list_events") + "?" + urlencode({**chosen, "limit": EVENTS_SHOWN})
    next_page = _next_page("admin_dashboard.index", events, EVENTS_SHOWN, chosen)
    everything = hub.store.events(limit=SOURCES_WINDOW) if chosen else recent
    sources = sorted({e.source for e in everything} | ({filters["source"]} - {""}))
    return render_template(
        "admin/dashboard.html",
        events=events,
        count_text=count_text(len(events), total, filtered=bool(chosen), older=bool(after)),
        paged=bool(after),
        next_page=next_page,
        filters=filters,
        chosen=chosen,
        statuses=STATUSES,
        sources=sources,
        poll_url=poll,
        by_source=per_source(recent),
        by_hour=hourly(hub.store.attempts_of([e.id for e in recent]), hub.store.clock()),
        charted=len(recent),
        integrations=integration_table(hub.settings),
        **_helpers(),
    )


@bp.get("/events/<event_id>")
def event_page(event_id: str) -> str:
    hub = current_hub()
    event = hub.store.get(event_id)
    if event is None:
        abort(404, f"There is no event {event_id}: it may have been purged after the retention window.")
    outbox = hub.store.outbox(event_id=event.id, limit=200)
    steps = timeline(hub.store.history(event), outbox)
    attempt_of_call = {call.id: step.attempt.attempt for step in steps for call in step.calls}
    deliveries = hub.store.deliveries(event_id=event.id, limit=DELIVERIES_SHOWN + 1)
    return render_template(
        "admin/event.html",
        event=event,
        steps=list(reversed(steps)),  # newest attempt first, like the events table
        attempt_of_call=attempt_of_call,
        payload=without_secrets(json.dumps(event.payload, indent=2, sort_keys=True), hub.settings),
        outbox=outbox,
        deliveries=deliveries[:DELIVERIES_SHOWN],
        more_deliveries=len(deliveries) > DELIVERIES_SHOWN,
        **_helpers(),
    )


@bp.post("/events/<event_id>/replay")
def replay(event_id: str) -> Response | str:
    hub = current_hub()
    event = hub.store.get(event_id)
    if event is None:
        abort(404, f"There is no event {event_id}.")
    if not hub.settings.hub_dry_run and request.form.get("confirmed") != "yes":
        # Live, a replay can message customers again: say so and ask once more.
        return render_template(
            "admin/confirm.html",
            title="Replay this event?",
            action=url_for("admin_dashboard.replay", event_id=event_id),
            fields={},
            question=f"Replay {event.source} / {event.type} ({event.id}) now?",
            warning="hub is live: its handlers run again and may send messages or payments requests "
            "to real people again.",
            back=url_for("admin_dashboard.event_page", event_id=event_id),
            confirm="Replay",
            settings=hub.settings,
        )
    result = hub.replay(event_id)
    if not result.ran or result.event is None:
        flash("The event is being handled right now; try again when it finishes.", "error")
    elif result.error:
        flash(f"Replayed: the handler failed again ({without_secrets(result.error, hub.settings)}).", "error")
    else:
        flash(f"Replayed: attempt {result.event.attempts} finished as {result.event.status}.", "ok")
    return redirect(url_for("admin_dashboard.event_page", event_id=event_id), code=303)


@bp.get("/events/replay")
def confirm_bulk_replay() -> Response | str:
    """Step one of a bulk replay: how many events the filter matches, then a confirmation."""
    hub = current_hub()
    chosen = _chosen(_filters())
    if not chosen:
        flash("Choose a filter first: bulk replay runs the events matching it.", "error")
        return redirect(url_for("admin_dashboard.index"), code=303)
    matched = hub.store.count_events(**{k: chosen.get(k) for k in FILTERS})
    described = ", ".join(f"{k} {v}" for k, v in chosen.items())
    runs = min(matched, BULK_REPLAY_LIMIT)
    return render_template(
        "admin/confirm.html",
        title="Replay matching events?",
        action=url_for("admin_dashboard.bulk_replay"),
        fields=chosen,
        question=f"Replay {runs} event{'s' if runs != 1 else ''} matching {described}?",
        count=matched,
        warning=(
            f"{matched} match; the newest {BULK_REPLAY_LIMIT} run now, the rest the next time. "
            if matched > BULK_REPLAY_LIMIT
            else ""
        )
        + (
            "Dry-run: their outbound calls are recorded, not sent."
            if hub.settings.hub_dry_run
            else "hub is live: their handlers may send messages or payment requests to real people again."
        ),
        back=url_for("admin_dashboard.index", **chosen),
        confirm=f"Replay {runs}",
        disabled=matched == 0,
        settings=hub.settings,
    )


@bp.post("/events/replay")
def bulk_replay() -> Response:
    hub = current_hub()
    chosen = _chosen(_filters(request.form))
    if not chosen:
        flash("Choose a filter first: bulk replay runs the events matching it.", "error")
        return redirect(url_for("admin_dashboard.index"), code=303)
    done = replay_matching(hub, {k: chosen.get(k) for k in FILTERS})
    left = done["matched"] - done["replayed"] - done["busy"]
    flash(
        f"Replayed {done['replayed']} of {done['matched']} matching events"
        + (f"; {done['busy']} were being handled and were left alone" if done["busy"] else "")
        + (f"; {left} more match: replay again for the next {BULK_REPLAY_LIMIT}" if left > 0 else "")
        + ".",
        "ok",
    )
    return redirect(url_for("admin_dashboard.index", **chosen), code=303)


@bp.get("/outbox")
def outbox_page() -> str:
    hub = current_hub()
    wanted = {k: request.args.get(k, "").strip() for k in ("integration", "status", "event_id")}
    duplicates_only = request.args.get("possible_duplicate") == "true"
    after = _cursor(None, "call", "calls")
    entries = hub.store.outbox(
        event_id=wanted["event_id"] or None,
        limit=OUTBOX_SHOWN,
        integration=wanted["integration"] or None,
        status=wanted["status"] or None,
        possible_duplicate=True if duplicates_only else None,
        starting_after=after,
    )
    chosen = {k: v for k, v in wanted.items() if v}
    if duplicates_only:
        chosen["possible_duplicate"] = "true"
    next_page = _next_page("admin_dashboard.outbox_page", entries, OUTBOX_SHOWN, chosen)
    known = hub.store.outbox(limit=500)
    return render_template(
        "admin/outbox.html",
        entries=entries,
        wanted=wanted,
        duplicates_only=duplicates_only,
        chosen=chosen,
        paged=bool(after),
        next_page=next_page,
        integrations=sorted({e.integration for e in known} | ({wanted["integration"]} - {""})),
        outbox_statuses=sorted({e.status for e in known} | ({wanted["status"]} - {""})),
        **_helpers(),
    )


@bp.get("/deliveries")
def deliveries_page() -> str:
    hub = current_hub()
    wanted = {k: request.args.get(k, "").strip() for k in ("status", "event_id")}
    if wanted["status"] not in DELIVERY_STATUSES:
        wanted["status"] = ""
    chosen = {k: v for k, v in wanted.items() if v}
    after = _cursor(hub.store.get_delivery, "delivery", "deliveries")
    found = hub.store.deliveries(
        event_id=chosen.get("event_id"),
        status=chosen.get("status"),
        limit=DELIVERIES_SHOWN,
        starting_after=after,
    )
    next_page = _next_page("admin_dashboard.deliveries_page", found, DELIVERIES_SHOWN, chosen)
    return render_template(
        "admin/deliveries.html",
        deliveries=found,
        wanted=wanted,
        chosen=chosen,
        statuses=DELIVERY_STATUSES,
        paged=bool(after),
        next_page=next_page,
        back=request.full_path.rstrip("?"),
        **_helpers(),
    )


def _back(default: str) -> str:
    """Where a form asked to return: a dashboard path only (never another site)."""
    back = request.form.get("back", "")
    return back if back.startswith("/admin") and not back.startswith("//") else default


@bp.post("/deliveries/<delivery_id>/replay")
def replay_delivery(delivery_id: str) -> Response | str:
    hub = current_hub()
    delivery = hub.store.get_delivery(delivery_id)
    if delivery is None:
        abort(404, f"There is no delivery {delivery_id}: it may have been purged after the retention window.")
    back = _back(url_for("admin_dashboard.deliveries_page", event_id=delivery.event_id))
    to = shown_recipient(delivery.channel, delivery.address)
    if not hub.settings.hub_dry_run and request.form.get("confirmed") != "yes":
        # Live, this sends a message to a real person (again, if its outcome was unknown).
        return render_template(
            "admin/confirm.html",
            title="Send this delivery again?",
            action=url_for("admin_dashboard.replay_delivery", delivery_id=delivery_id),
            fields={"back": back},
            question=f"Send the {delivery.channel} message to {to} "
            f"({delivery.status}, {delivery.attempts} attempt{'s' if delivery.attempts != 1 else ''}) now?",
            warning="hub is live: the message goes to a real person.",
            back=back,
            confirm="Send again",
            settings=hub.settings,
        )
    try:
        replay_one(hub, delivery_id)
    except HubError as refused:  # sent, held or being sent: the API's 409, said in words
        flash(f"Not replayed: {refused.message}.", "error")
    else:
        flash(f"Replayed: the delivery to {to} is due now.", "ok")
    return redirect(back, code=303)


@bp.app_errorhandler(404)
def not_found(error: HTTPException) -> tuple[Response | str, int]:
    """A browser on a dashboard path gets a page in the dashboard's look; anyone else JSON,
    as every other error (the API's own errors never reach this: they are HubErrors)."""
    status = 404
    dashboard = request.path == "/admin" or request.path.startswith("/admin/")
    if dashboard and not request.path.startswith("/admin/api") and wants_html(request):
        page = render_template(
            "admin/error.html",
            status=status,
            title=error.name,
            message=error.description,
            hide_nav=not csrf_token(),
        )
        return page, status
    return jsonify(error="not_found", message=error.description or error.name), status
