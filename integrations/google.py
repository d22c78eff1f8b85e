"""Google: Calendar push-notification verification (the channel token)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from flask import Response, jsonify

from hub.errors import BadRequestError, ForbiddenError
from hub.events import Event

if TYPE_CHECKING:
    from flask import Request

    from hub.config import Settings
    from hub.runtime import Acceptance


def verify_calendar(request: Request, settings: Settings) -> Event:
    """A push notification as an Event; 403 unless X-Goog-Channel-Token matches."""
    token = request.headers.get("X-Goog-Channel-Token", "")
    if not hmac.compare_digest(token.encode(), settings.google_channel_token.encode()):
        raise ForbiddenError("the X-Goog-Channel-Token header is missing or wrong", code="bad_channel_token")
    channel_id = request.headers.get("X-Goog-Channel-ID", "")
    number = request.headers.get("X-Goog-Message-Number", "")
    if not channel_id or not number.isdigit():
        raise BadRequestError(
            "X-Goog-Channel-ID and a numeric X-Goog-Message-Number are required", code="bad_payload"
        )
    payload = {
        "channel_id": channel_id,
        "message_number": int(number),
        "resource_id": request.headers.get("X-Goog-Resource-ID", ""),
        "resource_state": request.headers.get("X-Goog-Resource-State", ""),
        "resource_uri": request.headers.get("X-Goog-Resource-URI", ""),
        "channel_expiration": request.headers.get("X-Goog-Channel-Expiration", ""),
    }
    return Event(
        source="google", type="calendar.push", provider_id=f"{channel_id}:{number}", payload=payload
    )


def respond(acceptance: Acceptance) -> Response:
    return jsonify(received=True, event_id=acceptance.event.id, duplicate=acceptance.duplicate)
