"""Google Calendar calls: open and stop push channels to hub's webhook, list events."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from integrations.google_api import GoogleNotConfiguredError, apis

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.context import Context

CHANNEL_TTL = 7 * 86400  # the longest Calendar keeps a push channel
WEBHOOK_PATH = "/webhooks/google/calendar"


class SyncTokenExpiredError(Exception):
    """Calendar answered 410 Gone: the sync token is no longer valid, a full sync is needed."""


def calendar_id(settings: Settings) -> str:
    if not settings.google_calendar_id:
        raise GoogleNotConfiguredError("the calendar is not configured: set GOOGLE_CALENDAR_ID")
    return settings.google_calendar_id


def watch_calendar(ctx: Context) -> dict[str, Any]:
    """Register a push channel to our webhook; returns the channel (id, resourceId, expiration ms)."""
    settings = ctx.settings
    if not settings.hub_public_url or not settings.google_channel_token:
        raise GoogleNotConfiguredError("a push channel needs HUB_PUBLIC_URL and GOOGLE_CHANNEL_TOKEN")
    cal_id, channel_id = calendar_id(settings), "hub-" + uuid.uuid4().hex
    address = settings.hub_public_url + WEBHOOK_PATH
    payload = {"calendar_id": cal_id, "id": channel_id, "address": address, "ttl": CHANNEL_TTL}

    def send() -> dict[str, Any]:
        google = apis(ctx.hub)
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": settings.google_channel_token,
            "params": {"ttl": str(CHANNEL_TTL)},
        }
        answer = google.execute(google.service("calendar", "v3").events().watch(calendarId=cal_id, body=body))
        return {"ref": answer["id"], **_channel(answer), "address": address}

    def dry() -> dict[str, Any]:
        expires = int((time.time() + CHANNEL_TTL) * 1000)
        return {
            "ref": channel_id,
            "id": channel_id,
            "resourceId": "dry-run",
            "expiration": str(expires),
            "address": address,
        }

    return ctx.call("google", "calendar.events.watch", payload, send, dry_response=dry).response


def _channel(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: answer.get(k, "") for k in ("id", "resourceId", "expiration")}


def stop_channel(ctx: Context, channel: dict[str, Any]) -> None:
    """Stop an old push channel so Google stops calling us on it."""
    body = {"id": channel["id"], "resourceId": channel["resourceId"]}

    def send() -> dict[str, Any]:
        google = apis(ctx.hub)
        google.execute(google.service("calendar", "v3").channels().stop(body=body))
        return {}

    ctx.call("google", "calendar.channels.stop", body, send)


def list_events(ctx: Context, *, all_pages: bool = True, **params: Any) -> tuple[list[dict[str, Any]], str]:
    """events.list, every page unless `all_pages` is False; returns (items, nextSyncToken).

    A read, not an action: it runs in dry-run too. 410 Gone -> SyncTokenExpiredError.
    """
    from googleapiclient.errors import HttpError

    google = apis(ctx.hub)
    events = google.service("calendar", "v3").events()
    items: list[dict[str, Any]] = []
    page_token = None
    while True:
        try:
            request = events.list(calendarId=calendar_id(ctx.settings), pageToken=page_token, **params)
            page = google.execute(request)
        except HttpError as exc:
            if exc.resp.status == 410:
                raise SyncTokenExpiredError("the calendar sync token expired") from None
            raise
        items.extend(page.get("items", []))
        page_token = page.get("nextPageToken")
        if not page_token or not all_pages:
            return items, page.get("nextSyncToken", "")
