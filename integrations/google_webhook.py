"""Google Calendar push notifications in: the channel token's check, and the answer."""

from __future__ import annotations

import hmac
import re
from typing import TYPE_CHECKING

from flask import Response, jsonify

from hub.errors import BadRequestError, ForbiddenError
from hub.events import Event

if TYPE_CHECKING:
    from flask import Request

    from hub.config import Settings
    from hub.services import Acceptance

_MESSAGE_NUMBER = re.compile(r"[0-9]{1,20}")


def verify_calendar(request: Request, settings: Settings) -> Event:
    """A push notification as an Event; 403 unless X-Goog-Channel-Token matches.

    Google sends everything in headers (the body is empty), so the body is not parsed.
    """
    token = request.headers.get("X-Goog-Channel-Token", "")
    if not hmac.compare_digest(token.encode(), settings.google_channel_token.encode()):
        raise ForbiddenError(
            "the X-Goog-Channel-Token header is missing or does not match GOOGLE_CHANNEL_TOKEN "
            "(the token given when the watch channel was created)",
            code="bad_channel_token",
        )
    channel_id = request.headers.get("X-Goog-Channel-ID", "").strip()
    number = request.headers.get("X-Goog-Message-Number", "").strip()
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if not channel_id or not _MESSAGE_NUMBER.fullmatch(number):
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
    return Event(source="google", type="calendar.push", provider_id=f"{channel_id}:{number}", payload=payload)


def respond(acceptance: Acceptance) -> Response:
    return jsonify(received=True, event_id=acceptance.event.id, duplicate=acceptance.duplicate)
