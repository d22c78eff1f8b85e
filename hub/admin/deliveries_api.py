"""Admin JSON API for deliveries: list them, see one, replay one or many."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, request

from hub.admin.api import MAX_LIMIT, limit_arg
from hub.admin.auth import require_admin
from hub.deliveries import DELIVERY_STATUSES, HELD, SENT, Delivery
from hub.errors import BadRequestError, ConflictError, NotFoundError
from hub.services import current_hub

if TYPE_CHECKING:
    from hub.services import Hub

bp = Blueprint("admin_deliveries_api", __name__, url_prefix="/admin/api/deliveries")


@bp.before_request
def _authenticate() -> None:
    require_admin(request, current_hub().settings)


def _status(raw: str | None) -> str | None:
    if raw and raw not in DELIVERY_STATUSES:
        raise BadRequestError(f"status must be one of {', '.join(DELIVERY_STATUSES)}", code="bad_status")
    return raw or None


@bp.get("")
def list_deliveries() -> Response:
    event_id = request.args.get("event_id") or None
    status = _status(request.args.get("status"))
    found = current_hub().store.deliveries(event_id=event_id, status=status, limit=limit_arg())
    return jsonify([d.summary() for d in found])


@bp.get("/<delivery_id>")
def show_delivery(delivery_id: str) -> Response:
    hub = current_hub()
    delivery = hub.store.get_delivery(delivery_id)
    if delivery is None:
        raise NotFoundError(f"no delivery {delivery_id}; list them at /admin/api/deliveries")
    return jsonify({**delivery.summary(), "options": delivery.options, "outbox": _calls(delivery)})


# The outbox call each channel's sender makes, numbered per message part (a long Telegram
# text goes as several): the keys `Context.call` gives them under the delivery's id.
CHANNEL_CALLS = {"telegram": "telegram:sendMessage", "sms": "twilio:messages.create"}


def _calls(delivery: Delivery) -> list[dict]:
    calls, part = [], 1
    while (
        entry := current_hub().store.outbox_by_key(
            f"{delivery.id}:{CHANNEL_CALLS.get(delivery.channel, '')}:{part}"
        )
    ) is not None:
        calls.append(entry.summary())
        part += 1
    return calls


@bp.post("/<delivery_id>/replay")
def replay_delivery(delivery_id: str) -> Response:
    """Make a delivery that was not sent (dead, failed, skipped) due now and start a delivery
    run (its attempts go on counting)."""
    return jsonify(replay_one(current_hub(), delivery_id).summary())


def replay_one(hub: Hub, delivery_id: str) -> Delivery:
    """The replay both the API and the dashboard's button make; refusals are HubErrors."""
    delivery = hub.store.get_delivery(delivery_id)
    if delivery is None:
        raise NotFoundError(f"no delivery {delivery_id}; list them at /admin/api/deliveries")
    if delivery.status == HELD:
        raise ConflictError("the delivery waits for its handler's run to succeed; replay the event")
    if delivery.status == SENT:  # its outbox call is done: a new message needs a new run
        raise ConflictError("the delivery was sent; replay its event to tell again")
    if hub.store.replay_delivery(delivery_id) is None:
        raise ConflictError("the delivery is being sent right now; try again when it finishes")
    hub.tasks.enqueue_deliveries()
    return hub.store.get_delivery(delivery_id) or delivery


@bp.post("/replay")
def replay_deliveries() -> Response:
    """Bulk replay of the deliveries matching `status` (and `event_id`), e.g. every dead one
    (up to 500 per call)."""
    body = request.get_json(silent=True) if request.is_json else None
    given = {**request.args.to_dict(), **(body if isinstance(body, dict) else {})}
    status = _status(str(given.get("status") or "") or None)
    if status is None:
        raise BadRequestError("give a status to replay (e.g. dead)", code="missing_filter")
    if status in (HELD, SENT):
        raise BadRequestError(f"{status} deliveries are not replayed; replay their events", code="bad_status")
    hub = current_hub()
    event_id = str(given.get("event_id") or "") or None
    replayed = sum(
        1
        for d in hub.store.deliveries(event_id=event_id, status=status, limit=MAX_LIMIT)
        if hub.store.replay_delivery(d.id) is not None
    )
    if replayed:
        hub.tasks.enqueue_deliveries()
    return jsonify({"replayed": replayed})
