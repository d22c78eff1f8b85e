"""Real provider payloads from `tests/events/<source>/<name>.json`, and requests carrying them.

Each builder signs the way the provider does, with the helpers hub itself uses for
`hub simulate` (the SDKs' own signing code), so a test changes one thing at a time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from hub.simulate import SignedRequest
from integrations.samples import PATHS
from integrations.stripe import signature_header
from integrations.twilio import signature

EVENTS = Path(__file__).resolve().parent.parent / "events"
LOCAL = "http://localhost"  # the base URL the Flask test client requests


def load_event(source: str, name: str) -> dict[str, Any]:
    """A fresh copy of a recorded payload (Twilio: form fields; Google: headers)."""
    return json.loads((EVENTS / source / f"{name}.json").read_text())


def _text(body: dict[str, Any] | list[Any] | str | bytes) -> bytes:
    if isinstance(body, bytes):
        return body
    return (body if isinstance(body, str) else json.dumps(body)).encode()


def telegram_request(
    secret: str | None, update: dict[str, Any] | str | bytes, *, content_type: str | None = "application/json"
) -> SignedRequest:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    if content_type:
        headers["Content-Type"] = content_type
    return SignedRequest(PATHS["telegram"], _text(update), headers)


def stripe_request(
    secret: str, event: dict[str, Any] | str | bytes, *, timestamp: int | None = None
) -> SignedRequest:
    body = _text(event)
    header = signature_header(body.decode("utf-8", "replace"), secret, timestamp)
    return SignedRequest(
        PATHS["stripe"], body, {"Content-Type": "application/json", "Stripe-Signature": header}
    )


def twilio_request(
    auth_token: str,
    params: dict[str, str],
    *,
    source: str = "twilio",
    signed_base: str = LOCAL,
    query: str = "",
) -> SignedRequest:
    """A form callback signed for `signed_base` + path (+ `?query`), as Twilio signs it."""
    path = PATHS[source] + (f"?{query}" if query else "")
    return SignedRequest(
        path,
        urlencode(params).encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature(signed_base + path, params, auth_token),
        },
    )


def twilio_json_request(
    auth_token: str, body: dict[str, Any] | str, *, source: str = "twilio", signed_base: str = LOCAL
) -> SignedRequest:
    """A JSON callback: the body's SHA-256 rides in the signed URL as `bodySHA256`."""
    raw = _text(body)
    path = f"{PATHS[source]}?bodySHA256={hashlib.sha256(raw).hexdigest()}"
    return SignedRequest(
        path,
        raw,
        {
            "Content-Type": "application/json",
            "X-Twilio-Signature": signature(signed_base + path, raw.decode(), auth_token),
        },
    )


def google_request(token: str | None, headers: dict[str, str]) -> SignedRequest:
    sent = dict(headers)
    if token is not None:
        sent["X-Goog-Channel-Token"] = token
    return SignedRequest(PATHS["google"], b"", sent)
