"""Admin JSON API: events, outbox, replay.

Listings are JSON arrays, newest first. A full page carries `Link: <...>; rel="next"`
(the same listing, `starting_after` its last item) and `X-Total-Count` where the total is
cheap to know (events).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, request

from hub.admin.auth import CSRF_FIELD, require_admin
from hub.admin.timeline import event_detail, handled
from hub.errors import BadRequestError, ConflictError, NotFoundError
from hub.events import STATUSES
from hub.payloads import body_text, json_object
from hub.services import Hub, current_hub

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")

MAX_LIMIT = 500


@bp.before_request
def _authenticate() -> None:
    require_admin(request, current_hub().settings)


def _limit() -> int:
    raw = request.args.get("limit", "100")
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequestError(f"limit must be a whole number from 1 to {MAX_LIMIT}", code="bad_limit")
    return int(raw)


@bp.get("/events")
def list_events() -> Response:
    status = request.args.get("status")  # present but empty is a bad filter, not "any"
    if status is not None and status not in STATUSES:
        raise BadRequestError(f"status must be one of {', '.join(STATUSES)}", code="bad_status")
    events = current_hub().store.events(
        source=request.args.get("source") or None,
        status=status,
        type=request.args.get("type") or None,
        limit=_limit(),
        starting_after=_cursor("events"),
    )
    hub = current_hub()
    response = jsonify([{**e.summary(), "handled": handled(hub, e)} for e in events])
    total = hub.store.count_events(
        source=request.args.get("source") or None, status=status, type=request.args.get("type") or None
    )
    response.headers["X-Total-Count"] = str(total)
    return _paged(response, [e.id for e in events])


# What a cursor looks like: the id format of each listing's items.
CURSOR_FORMATS = {"events": re.compile(r"evt_[0-9a-f]{32}"), "outbox": re.compile(r"out_[0-9a-f]{32}")}


def _cursor(listing: str) -> str | None:
    """`starting_after`: the id of the last item of the page before, from the same listing.

    A value that is no id of this listing is a 400; an id of an event that is gone (purged
    since the page before was read) is a 404, so a client knows to start again.
    """
    cursor = request.args.get("starting_after") or None
    if cursor is None:
        return None
    if not CURSOR_FORMATS[listing].fullmatch(cursor):
        raise BadRequestError(
            f"starting_after must be the id of an item in the {listing} listing; start again without it",
            code="bad_cursor",
        )
    if listing == "events" and current_hub().store.get(cursor) is None:
        raise NotFoundError(
            f"no event {cursor} to page after: it was purged; start again without starting_after",
            code="cursor_not_found",
        )
    return cursor


def _paged(response: Response, ids: list[str]) -> Response:
    """Link to the next page when this one is full (there may be more)."""
    if ids and len(ids) == _limit():
        query = {k: v for k, v in request.args.items() if k != "starting_after"}
        next_url = f"{request.path}?{urlencode({**query, 'starting_after': ids[-1]})}"
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


@bp.get("/events/<event_id>")
def show_event(event_id: str) -> Response:
    hub = current_hub()
    event = hub.store.get(event_id)
    if event is None:
        raise NotFoundError(f"no event {event_id}; list them at /admin/api/events")
    return jsonify(event_detail(hub, event))


@bp.post("/events/<event_id>/replay")
def replay_event(event_id: str) -> Response:
    hub = current_hub()
    if hub.store.get(event_id) is None:
        raise NotFoundError(f"no event {event_id}; list them at /admin/api/events")
    result = hub.replay(event_id)
    if not result.ran or result.event is None:
        raise ConflictError("the event is being handled right now; try again when it finishes")
    return jsonify({**result.event.summary(), "run_error": result.error or None})


BULK_REPLAY_LIMIT = 100  # events run per request: each runs its handlers now, in this request
BULK_FILTERS = ("source", "status", "type")


@bp.post("/events/replay")
def bulk_replay() -> Response:
    """Replay the newest events matching a filter (JSON body or query); at least one filter."""
    return jsonify(replay_matching(current_hub(), _bulk_filters()))


def replay_matching(hub: Hub, filters: dict[str, str | None]) -> dict[str, int]:
    """Replay the newest `BULK_REPLAY_LIMIT` events matching `filters`, one after another.

    `matched` counts every match, so a caller sees when more are left; `busy` counts the
    events another run held at that moment (not replayed).
    """
    matched = hub.store.count_events(**filters)
    replayed = busy = 0
    for event in hub.store.events(**filters, limit=BULK_REPLAY_LIMIT):
        if hub.replay(event.id).ran:
            replayed += 1
        else:
            busy += 1
    return {"replayed": replayed, "matched": matched, "busy": busy, "limit": BULK_REPLAY_LIMIT}


def _bulk_filters() -> dict[str, Any]:
    given: dict[str, Any] = dict(request.args)
    if request.mimetype == "application/x-www-form-urlencoded":  # a plain HTML form, or curl -d
        given.update({k: v for k, v in request.form.items() if k != CSRF_FIELD})
    elif request.content_length or request.mimetype == "application/json":
        if request.mimetype != "application/json":
            raise BadRequestError("send the filter as a JSON object or in the query", code="bad_payload")
        given.update(json_object(body_text(request) or "{}"))
    unknown = sorted(set(given) - set(BULK_FILTERS))
    if unknown:
        raise BadRequestError(
            f"unknown filter {', '.join(unknown)}; filter by {', '.join(BULK_FILTERS)}", code="bad_filter"
        )
    if any(not isinstance(value, str) for value in given.values()):
        raise BadRequestError("each filter is a string", code="bad_filter")
    filters = {k: v.strip() for k, v in given.items() if v.strip()}
    if not filters:
        raise BadRequestError(
            "give at least one filter (source, status or type): replaying everything is never meant",
            code="filter_required",
        )
    if filters.get("status") and filters["status"] not in STATUSES:
        raise BadRequestError(f"status must be one of {', '.join(STATUSES)}", code="bad_status")
    return {k: filters.get(k) for k in BULK_FILTERS}


@bp.get("/outbox")
def list_outbox() -> Response:
    entries = current_hub().store.outbox(
        event_id=request.args.get("event_id") or None,
        limit=_limit(),
        integration=request.args.get("integration") or None,
        status=request.args.get("status") or None,
        possible_duplicate=_flag("possible_duplicate"),
        starting_after=_cursor("outbox"),
    )
    return _paged(jsonify([entry.summary() for entry in entries]), [entry.id for entry in entries])


def _flag(name: str) -> bool | None:
    raw = request.args.get(name, "").strip().lower()
    if not raw:
        return None
    if raw not in ("true", "false", "1", "0"):
        raise BadRequestError(f"{name} must be true or false", code="bad_flag")
    return raw in ("true", "1")
