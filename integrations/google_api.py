"""The Google APIs client: service-account credentials, built services, and the transport
every request goes over.

Services are built once per process from the library's static discovery documents (no
network at build). Each request runs over its own authorised connection, because httplib2
connections are not thread-safe and HUB_TASKS=thread runs handlers in threads; the
credentials (and so the access token) are shared.

The transport is the app's: `create_app(transports={"google": factory})` hands in a
factory of httplib2-style connections (tests give googleapiclient's HttpMock kind, so the
real google-auth and googleapiclient code runs down to the wire); without one, httplib2.
The SDKs are imported on the first request, not with this module.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.services import Hub

SCOPES = (
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/spreadsheets",
)
HTTP_TIMEOUT = 20  # seconds, per request
TRANSPORT = "google"  # this integration's key in the app's transports (Hub.transports)
MAX_CLIENTS = 4  # clients kept per process (one key in production; tests bring many wires)


class GoogleNotConfiguredError(RuntimeError):
    """A Google feature was used without the settings it needs; the message names them."""


def new_http() -> Any:
    """The default transport: one httplib2 connection, with a timeout."""
    import httplib2

    return httplib2.Http(timeout=HTTP_TIMEOUT)


class GoogleApis:
    """One service account's credentials and its built services, over one transport."""

    def __init__(self, account_json: str, transport: Callable[[], Any] = new_http) -> None:
        from google.oauth2 import service_account

        self.credentials = service_account.Credentials.from_service_account_info(
            _account_info(account_json), scopes=list(SCOPES)
        )
        self._transport = transport
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
        """Run a built request; its token request, when one is due, goes the same way."""
        from google_auth_httplib2 import AuthorizedHttp

        http = AuthorizedHttp(self.credentials, http=self._transport())
        return request.execute(http=http, num_retries=1)


# By (key digest, transport), oldest first. Process-wide on purpose: apps of a process with
# the same key and transport share the credentials (one token) and the built services.
_CLIENTS: dict[tuple[str, Callable[[], Any]], GoogleApis] = {}
_CLIENTS_LOCK = threading.Lock()


def apis(hub: Hub) -> GoogleApis:
    """The `GoogleApis` for the app's service-account key, over the app's transport.

    Looked up by the key itself, not by the setting's text: with a path, a key file
    replaced at that path gets its own credentials instead of the old ones.
    """
    account_json = hub.settings.google_service_account_json
    if not account_json:
        raise GoogleNotConfiguredError("Google is not configured: set GOOGLE_SERVICE_ACCOUNT_JSON")
    key_text = _key_text(account_json)
    transport = hub.transports.get(TRANSPORT, new_http)
    key = (hashlib.sha256(key_text.encode()).hexdigest(), transport)
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = GoogleApis(key_text, transport)
            while len(_CLIENTS) > MAX_CLIENTS:
                del _CLIENTS[next(iter(_CLIENTS))]
        return _CLIENTS[key]


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
