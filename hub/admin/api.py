"""Admin JSON API: events, outbox, replay."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from hub.admin.auth import require_admin
from hub.errors import BadRequestError, ConflictError, NotFoundError
from hub.events import STATUSES
from hub.runtime import current_hub

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
    )
    return jsonify([e.summary() for e in events])


@bp.get("/events/<event_id>")
def show_event(event_id: str) -> Response:
    hub = current_hub()
    event = hub.store.get(event_id)
    if event is None:
        raise NotFoundError(f"no event {event_id}; list them at /admin/api/events")
    outbox = [entry.summary() for entry in hub.store.outbox(event_id=event.id)]
    return jsonify({**event.summary(), "payload": event.payload, "outbox": outbox})


@bp.post("/events/<event_id>/replay")
def replay_event(event_id: str) -> Response:
    hub = current_hub()
    if hub.store.get(event_id) is None:
        raise NotFoundError(f"no event {event_id}; list them at /admin/api/events")
    result = hub.replay(event_id)
    if not result.ran or result.event is None:
        raise ConflictError("the event is being handled right now; try again when it finishes")
    return jsonify({**result.event.summary(), "run_error": result.error or None})


@bp.get("/outbox")
def list_outbox() -> Response:
    entries = current_hub().store.outbox(event_id=request.args.get("event_id") or None, limit=_limit())
    return jsonify([entry.summary() for entry in entries])
