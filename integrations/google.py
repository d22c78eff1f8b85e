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


# -- webhook registration (hub setup-webhooks)

CALENDAR_SCOPES = ["https://www.googleapis.com/auth/calendar.readonly"]


def _calendar(settings: Settings, http: object | None = None):  # noqa: ANN202
    """A Calendar v3 client from the bundled discovery document (no discovery request)."""
    import json

    from googleapiclient.discovery import build

    if http is not None:  # tests pass googleapiclient.http.HttpMock(Sequence)
        return build("calendar", "v3", http=http, static_discovery=True)
    from google.oauth2 import service_account

    info = json.loads(settings.google_service_account_json)
    credentials = service_account.Credentials.from_service_account_info(info, scopes=CALENDAR_SCOPES)
    return build("calendar", "v3", credentials=credentials, static_discovery=True)


def watch_calendar(
    settings: Settings, address: str, channel_id: str, ttl_seconds: int, *, http: object | None = None
) -> dict[str, str]:
    """Open a push channel on the calendar; Google posts changes to `address` with our token."""
    body = {
        "id": channel_id,
        "type": "web_hook",
        "address": address,
        "token": settings.google_channel_token,
        "params": {"ttl": str(ttl_seconds)},
    }
    events = _calendar(settings, http).events()
    answer = events.watch(calendarId=settings.google_calendar_id, body=body).execute()
    return {"id": answer.get("id", channel_id), "resource_id": answer.get("resourceId", ""),
            "expiration": str(answer.get("expiration", ""))}  # fmt: skip
