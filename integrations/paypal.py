"""PayPal webhooks, verified offline as PayPal documents, and the intake's answer.

PayPal signs `transmission_id|transmission_time|webhook_id|crc32(body)` with SHA256withRSA
and names its certificate in PAYPAL-CERT-URL
(https://developer.paypal.com/api/rest/webhooks/rest/#link-selfverificationmethod).
Checking it here, rather than asking PayPal's verify-webhook-signature API, keeps the
ack free of a network call and of the SDK: the certificate is fetched once and cached.
API calls (orders, webhook registration) live in `integrations.paypal_api`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import zlib
from typing import TYPE_CHECKING

from flask import Response, jsonify

from hub.errors import BadRequestError
from hub.events import Event, body_digest
from hub.payloads import json_object, read_body, required_str
from hub.services import current_hub
from integrations import paypal_certs

if TYPE_CHECKING:
    from flask import Request

    from hub.config import Settings
    from hub.services import Acceptance

ALGORITHM = "SHA256withRSA"
TOLERANCE_SECONDS = 300  # as for Stripe: each PayPal retry is a new transmission, newly timed
HEADERS = (
    "PAYPAL-TRANSMISSION-ID",
    "PAYPAL-TRANSMISSION-TIME",
    "PAYPAL-TRANSMISSION-SIG",
    "PAYPAL-CERT-URL",
    "PAYPAL-AUTH-ALGO",
)
MAX_HEADER = 2048


def verify(request: Request, settings: Settings) -> Event:
    """A PayPal webhook as an Event, or 400 (bad headers, certificate or signature; bad body).

    503 only when PayPal's certificate cannot be fetched, so that PayPal delivers again.
    """
    transmission_id, time, signature, cert_url, algorithm = _headers(request)
    if algorithm != ALGORITHM:
        raise BadRequestError(f"PAYPAL-AUTH-ALGO must be {ALGORITHM}", code="bad_algorithm")
    _check_time(time)
    body = read_body(request)
    cert = _certificate(cert_url, settings)
    message = f"{transmission_id}|{time}|{settings.paypal_webhook_id}|{zlib.crc32(body)}".encode()
    if not _signed(cert, message, signature):
        raise BadRequestError(
            "PAYPAL-TRANSMISSION-SIG does not match the body for PAYPAL_WEBHOOK_ID; check that it "
            "holds the id of the webhook PayPal delivers to this URL",
            code="bad_signature",
        )
    try:
        data = json_object(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequestError("the body is not valid UTF-8", code="bad_payload") from None
    return Event(
        source="paypal",
        type=required_str(data, "event_type"),
        provider_id=required_str(data, "id"),
        payload=data,
        body_sha256=body_digest(body),
    )


def respond(acceptance: Acceptance) -> Response:
    return jsonify(received=True, event_id=acceptance.event.id, duplicate=acceptance.duplicate)


def _headers(request: Request) -> list[str]:
    values = [request.headers.get(name, "").strip() for name in HEADERS]
    missing = [name for name, value in zip(HEADERS, values, strict=True) if not value]
    if missing:
        raise BadRequestError(f"the {', '.join(missing)} header(s) are missing", code="missing_signature")
    if any(len(v) > MAX_HEADER or not v.isascii() for v in values) or "|" in values[0] + values[1]:
        # A "|" would let one field pose as two in the signed string.
        raise BadRequestError("a PAYPAL-* header is malformed", code="bad_signature")
    return values


def _check_time(text: str) -> None:
    """Refuse a transmission more than the tolerance from now, in either direction."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise BadRequestError(
            "PAYPAL-TRANSMISSION-TIME is not an ISO 8601 time with a zone", code="bad_signature"
        )
    skew = dt.datetime.now(dt.UTC).timestamp() - when.timestamp()
    if abs(skew) > TOLERANCE_SECONDS:
        where = "old" if skew > 0 else "in the future"
        raise BadRequestError(
            f"PAYPAL-TRANSMISSION-TIME is {abs(skew):.0f} s {where} (tolerance {TOLERANCE_SECONDS} s): "
            "a replayed delivery, or check this server's clock",
            code="stale_transmission",
        )


def _certificate(url: str, settings: Settings) -> paypal_certs.CheckedCert:
    if settings.hub_dry_run:
        from integrations import paypal_dev

        if paypal_dev.is_dev_cert_url(url):  # simulated webhooks: a dry-run hub only
            return paypal_dev.dev_signing_cert(url, settings)
    paypal_certs.check_url(url)
    return paypal_certs.signing_cert(url, settings, current_hub().cache)


def _signed(cert: paypal_certs.CheckedCert, message: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    return cert.verify(message, raw)
