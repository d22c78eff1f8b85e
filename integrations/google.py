"""Google: Calendar push-notification verification (the channel token)."""

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


# -- Google APIs: service-account credentials, services, Calendar channel and sync, Sheets ------
#
# Services are built once per process from the library's static discovery documents (no
# network at build). Each request runs over its own authorised connection, because
# httplib2 connections are not thread-safe and HUB_TASKS=thread runs handlers in threads;
# the credentials (and so the access token) are shared. (Imports sit here, apart from the
# verification code above, so the two halves of this module can change independently.)

import hashlib  # noqa: E402
import json  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

if TYPE_CHECKING:
    from hub.context import Context
    from hub.outbox import CallResult

SCOPES = (
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/spreadsheets",
)
HTTP_TIMEOUT = 20  # seconds, per request
CHANNEL_TTL = 7 * 86400  # the longest Calendar keeps a push channel
WEBHOOK_PATH = "/webhooks/google/calendar"


class GoogleNotConfiguredError(RuntimeError):
    """A Google feature was used without the settings it needs; the message names them."""


class SyncTokenExpiredError(Exception):
    """Calendar answered 410 Gone: the sync token is no longer valid, a full sync is needed."""


def new_http() -> Any:
    """The transport under every Google request (tests hand in googleapiclient's HttpMock here)."""
    import httplib2

    return httplib2.Http(timeout=HTTP_TIMEOUT)


class GoogleApis:
    """One service account's credentials and its built services."""

    def __init__(self, account_json: str) -> None:
        from google.oauth2 import service_account

        self.credentials = service_account.Credentials.from_service_account_info(
            _account_info(account_json), scopes=list(SCOPES)
        )
        self._services: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def service(self, name: str, version: str) -> Any:
        with self._lock:
            if (name, version) not in self._services:
                from googleapiclient.discovery import build

                self._services[(name, version)] = build(
                    name,
                    version,
                    credentials=self.credentials,
                    static_discovery=True,
                    cache_discovery=False,
                )
            return self._services[(name, version)]

    def execute(self, request: Any) -> dict[str, Any]:
        from google_auth_httplib2 import AuthorizedHttp

        return request.execute(http=AuthorizedHttp(self.credentials, http=new_http()), num_retries=1)


_APIS: dict[str, GoogleApis] = {}
_APIS_LOCK = threading.Lock()


def apis(settings: Settings) -> GoogleApis:
    """The `GoogleApis` for the configured service account's key.

    Shared by the apps of a process that use the same key (same credentials, one token),
    and looked up by the key itself, not by the setting's text: with a path, a key file
    replaced at that path gets its own credentials instead of the old ones.
    """
    account_json = settings.google_service_account_json
    if not account_json:
        raise GoogleNotConfiguredError("Google is not configured: set GOOGLE_SERVICE_ACCOUNT_JSON")
    key_text = _key_text(account_json)
    key = hashlib.sha256(key_text.encode()).hexdigest()
    with _APIS_LOCK:
        if key not in _APIS:
            _APIS[key] = GoogleApis(key_text)
        return _APIS[key]


def forget_apis() -> None:
    """Drop built services and tokens (tests; a rotated key is picked up by its new hash anyway)."""
    with _APIS_LOCK:
        _APIS.clear()


def _key_text(account_json: str) -> str:
    """GOOGLE_SERVICE_ACCOUNT_JSON holds the key file's JSON text itself, or a path to it."""
    text = account_json.strip()
    if text.startswith("{"):
        return text
    try:
        return Path(text).read_text()
    except (OSError, ValueError):  # ValueError: e.g. a NUL in what was taken for a path
        raise _unusable_key() from None


def _unusable_key() -> GoogleNotConfiguredError:
    # Never echo the value: it may be a private key.
    return GoogleNotConfiguredError(
        "GOOGLE_SERVICE_ACCOUNT_JSON is neither a service-account key's JSON nor a readable path to one"
    )


def _account_info(account_json: str) -> dict[str, Any]:
    try:
        info = json.loads(_key_text(account_json))
    except ValueError:
        raise _unusable_key() from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise GoogleNotConfiguredError("GOOGLE_SERVICE_ACCOUNT_JSON is not a service-account key")
    return info


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
        google = apis(settings)
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
        google = apis(ctx.settings)
        google.execute(google.service("calendar", "v3").channels().stop(body=body))
        return {}

    ctx.call("google", "calendar.channels.stop", body, send)


def list_events(
    settings: Settings, *, all_pages: bool = True, **params: Any
) -> tuple[list[dict[str, Any]], str]:
    """events.list, every page unless `all_pages` is False; returns (items, nextSyncToken).

    A read, not an action: it runs in dry-run too. 410 Gone -> SyncTokenExpiredError.
    """
    from googleapiclient.errors import HttpError

    google = apis(settings)
    events = google.service("calendar", "v3").events()
    items: list[dict[str, Any]] = []
    page_token = None
    while True:
        try:
            request = events.list(calendarId=calendar_id(settings), pageToken=page_token, **params)
            page = google.execute(request)
        except HttpError as exc:
            if exc.resp.status == 410:
                raise SyncTokenExpiredError("the calendar sync token expired") from None
            raise
        items.extend(page.get("items", []))
        page_token = page.get("nextPageToken")
        if not page_token or not all_pages:
            return items, page.get("nextSyncToken", "")


def append_sheet_row(ctx: Context, values: list[Any]) -> CallResult | None:
    """Append one row to GOOGLE_SHEET_ID (recorded only, in dry-run); None when no sheet is set."""
    sheet_id = ctx.settings.google_sheet_id
    if not sheet_id:
        return None
    row = ["" if v is None else v if isinstance(v, int | float | bool) else str(v) for v in values]
    payload = {"spreadsheet_id": sheet_id, "range": "A1", "values": [row]}

    def send() -> dict[str, Any]:
        google = apis(ctx.settings)
        # RAW, not USER_ENTERED: a chat user's "=IMPORTXML(...)" stays text, never a formula.
        request = (
            google.service("sheets", "v4")
            .spreadsheets()
            .values()
            .append(
                spreadsheetId=sheet_id,
                range="A1",
                valueInputOption="RAW",
                insertDataOption="INSERT_ROWS",
                body={"values": [row]},
            )
        )
        answer = google.execute(request)
        return {"ref": answer.get("updates", {}).get("updatedRange", "")}

    return ctx.call("google", "sheets.values.append", payload, send)
