"""Stripe: webhook verification (several signing secrets for rotation) and API calls."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import stripe
from flask import Response, jsonify

from hub.errors import BadRequestError
from hub.events import Event, body_digest
from hub.payloads import body_text, json_object, require_content_type, required_str

if TYPE_CHECKING:
    from flask import Request

    from hub.config import Settings
    from hub.runtime import Acceptance

TOLERANCE_SECONDS = 300


def verify(request: Request, settings: Settings) -> Event:
    """A Stripe webhook as an Event, or 400: bad signature, stale or future timestamp, bad body."""
    require_content_type(request, "application/json")
    header = request.headers.get("Stripe-Signature", "")
    if not header:
        raise BadRequestError("the Stripe-Signature header is missing", code="missing_signature")
    payload = body_text(request)
    _reject_future_timestamp(header)
    if not any(_signed_with(payload, header, secret) for secret in settings.stripe_webhook_secret):
        raise BadRequestError(
            "the Stripe-Signature does not match the body, or its timestamp is more than "
            f"{TOLERANCE_SECONDS} s old; check STRIPE_WEBHOOK_SECRET",
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
    try:
        return stripe.WebhookSignature.verify_header(payload, header, secret, TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        return False


def _reject_future_timestamp(header: str) -> None:
    """The SDK checks only that a signature is not too old; we also refuse one from the future."""
    stamps = [part[2:] for part in header.split(",") if part.startswith("t=")]
    try:
        timestamp = int(stamps[0])
    except (IndexError, ValueError):
        raise BadRequestError(
            "the Stripe-Signature header has no timestamp", code="bad_signature"
        ) from None
    if timestamp > time.time() + TOLERANCE_SECONDS:
        raise BadRequestError(
            f"the Stripe-Signature timestamp is more than {TOLERANCE_SECONDS} s in the future",
            code="bad_signature",
        )


def respond(acceptance: Acceptance) -> Response:
    return jsonify(received=True, event_id=acceptance.event.id, duplicate=acceptance.duplicate)


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A valid Stripe-Signature for `payload` (for `hub simulate` and tests)."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)


# -- webhook registration (hub setup-webhooks)


def _client(settings: Settings) -> stripe.StripeClient:
    return stripe.StripeClient(settings.stripe_api_key)


def webhook_endpoints(settings: Settings) -> list[dict[str, Any]]:
    """Existing endpoints: id, url, enabled_events."""
    found = _client(settings).v1.webhook_endpoints.list({"limit": 100})
    return [{"id": e.id, "url": e.url, "enabled_events": list(e.enabled_events)} for e in found.data]


def create_webhook_endpoint(settings: Settings, url: str, events: list[str]) -> dict[str, str]:
    """Create the endpoint; Stripe shows its signing secret only in this answer."""
    created = _client(settings).v1.webhook_endpoints.create(
        {"url": url, "enabled_events": events, "description": "hub"}  # type: ignore[typeddict-item]
    )
    return {"id": created.id, "secret": created.secret or ""}


def update_webhook_endpoint(settings: Settings, endpoint_id: str, events: list[str]) -> None:
    _client(settings).v1.webhook_endpoints.update(endpoint_id, {"enabled_events": events})  # type: ignore[typeddict-item]


def account_reachable(settings: Settings) -> str:
    """The account id, proving the key works (for `hub doctor`)."""
    return _client(settings).v1.accounts.retrieve_current().id
