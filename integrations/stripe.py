"""Stripe: webhook verification (several signing secrets for rotation) and API calls."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import stripe
from flask import Response, jsonify

from hub.errors import BadRequestError
from hub.events import Event, body_digest
from hub.payloads import body_text, json_object, required_str

if TYPE_CHECKING:
    from flask import Request

    from hub.config import Settings
    from hub.runtime import Acceptance

TOLERANCE_SECONDS = 300


def verify(request: Request, settings: Settings) -> Event:
    """A Stripe webhook as an Event, or 400: bad signature, stale or future timestamp, bad body.

    Any content type is taken: the signature covers the raw body, and Stripe's contract
    answers 400 (not 415) for a body that is not a JSON event.
    """
    header = request.headers.get("Stripe-Signature", "").strip()
    if not header:
        raise BadRequestError("the Stripe-Signature header is missing", code="missing_signature")
    _check_timestamp(_timestamp(header))
    payload = body_text(request)
    if not any(_signed_with(payload, header, secret) for secret in settings.stripe_webhook_secret):
        raise BadRequestError(
            "the Stripe-Signature does not match the body with any STRIPE_WEBHOOK_SECRET; "
            "check that it holds this endpoint's signing secret (whsec_...)",
            code="bad_signature",
        )
    data = json_object(payload)
    return Event(
        source="stripe",
        type=required_str(data, "type"),
        provider_id=required_str(data, "id"),
        payload=data,
        body_sha256=body_digest(payload.encode()),
    )


def _signed_with(payload: str, header: str, secret: str) -> bool:
    """The SDK's own check (constant-time, scheme v1, past tolerance) for one secret."""
    try:
        return stripe.WebhookSignature.verify_header(payload, header, secret, TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        return False


def _timestamp(header: str) -> int:
    """`t` from `t=<unix time>,v1=<hex>[,v1=...]`, or 400 when the header is not of that form."""
    items = [item.strip().partition("=") for item in header.split(",")]
    stamps = [value for key, _, value in items if key == "t"]
    has_v1 = any(key == "v1" and value for key, _, value in items)
    # ASCII digits, and few enough that int() and the SDK's float arithmetic cannot overflow.
    valid_stamp = len(stamps) == 1 and stamps[0].isascii() and stamps[0].isdigit() and len(stamps[0]) <= 12
    if not valid_stamp or not has_v1:
        raise BadRequestError(
            "the Stripe-Signature header is malformed: expected t=<timestamp>,v1=<signature>",
            code="bad_signature",
        )
    return int(stamps[0])


def _check_timestamp(timestamp: int) -> None:
    """Refuse a signature more than the tolerance from now, in either direction.

    The SDK checks only the past; a future timestamp would stay replayable for as long.
    """
    skew = int(time.time()) - timestamp
    if abs(skew) > TOLERANCE_SECONDS:
        when = "old" if skew > 0 else "in the future"
        raise BadRequestError(
            f"the Stripe-Signature timestamp is {abs(skew)} s {when} (tolerance "
            f"{TOLERANCE_SECONDS} s): a replayed delivery, or check this server's clock",
            code="bad_signature",
        )


def respond(acceptance: Acceptance) -> Response:
    return jsonify(received=True, event_id=acceptance.event.id, duplicate=acceptance.duplicate)


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A valid Stripe-Signature for `payload` (for `hub simulate` and tests)."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)
