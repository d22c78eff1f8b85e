"""Stripe: webhook verification (several signing secrets for rotation) and API calls."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import stripe
from flask import Response, jsonify

from hub.errors import BadRequestError
from hub.events import Event, body_digest
from hub.payloads import body_text, json_object, required_str

if TYPE_CHECKING:
    from flask import Request

    from hub.config import Settings
    from hub.context import Context
    from hub.runtime import Acceptance

TOLERANCE_SECONDS = 300
log = logging.getLogger("hub.stripe")


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


# -- API calls (Checkout) ------------------------------------------------------------------------

# Stripe's own retries (with its backoff, honouring Stripe-Should-Retry) cover 409, 5xx and
# network errors; a timeout keeps a Telegram webhook answer well inside provider limits.
MAX_NETWORK_RETRIES = 2
TIMEOUT_SECONDS = 10


class CheckoutError(Exception):
    """Stripe would not create the session; `user_message` is safe to show the payer."""

    def __init__(self, user_message: str, *, transient: bool = False) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.transient = transient  # True: trying again later may work


def client(settings: Settings) -> stripe.StripeClient:
    """A client per call: the key comes from settings, never from a global `stripe.api_key`."""
    return stripe.StripeClient(
        settings.stripe_api_key,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )


def create_checkout_session(
    ctx: Context, amount_cents: int, currency: str, description: str, chat_id: str
) -> dict[str, str]:
    """A hosted Checkout page for one payment, as {"url", "id"}; raises `CheckoutError`.

    The idempotency key comes from the triggering event, so a retried or replayed handler
    gets the same session back from Stripe instead of creating a second one.
    """
    settings = ctx.settings
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [{
            "quantity": 1,
            "price_data": {
                "currency": currency.lower(),
                "unit_amount": amount_cents,
                "product_data": {"name": description},
            },
        }],
        "metadata": {"telegram_chat_id": chat_id, "description": description, "hub_event_id": ctx.event.id},
        "payment_intent_data": {"metadata": {"telegram_chat_id": chat_id}},
    }  # fmt: skip
    if settings.stripe_success_url:
        params["success_url"] = settings.stripe_success_url
    if settings.twilio_from_number:  # a phone number lets us text the receipt
        params["phone_number_collection"] = {"enabled": True}
    idempotency_key = f"hub-{ctx.event.id}-checkout"

    def send() -> dict[str, Any]:
        if not settings.stripe_api_key:
            raise CheckoutError("Payments are not set up yet (no Stripe key). Please tell the operator.")
        try:
            session = client(settings).v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _checkout_error(exc) from exc
        return {"ref": session.id, "id": session.id, "url": session.url or ""}

    def dry_response() -> dict[str, Any]:
        fake_id = f"cs_dry_{ctx.event.id.removeprefix('evt_')}"
        return {"ref": fake_id, "id": fake_id, "url": f"http://127.0.0.1/dry-run/checkout/{fake_id}"}

    result = ctx.call(
        "stripe", "checkout.sessions.create", {**params, "idempotency_key": idempotency_key}, send,
        dry_response=dry_response,
    )  # fmt: skip
    return {"url": str(result.response.get("url", "")), "id": str(result.response.get("id", ""))}


def _checkout_error(exc: stripe.StripeError) -> CheckoutError:
    """Turn an SDK error (already retried by the SDK where that helps) into words for the payer."""
    if isinstance(exc, stripe.CardError | stripe.InvalidRequestError):
        # Stripe's own message is written for people ("Amount must be at least €0.50 eur").
        return CheckoutError(f"Stripe refused this payment: {exc.user_message or 'invalid request'}")
    if isinstance(exc, stripe.RateLimitError):
        return CheckoutError("Payments are busy right now; please try again in a minute.", transient=True)
    if isinstance(exc, stripe.APIConnectionError | stripe.APIError):
        return CheckoutError(
            "Stripe is not answering right now; please try again in a few minutes.", transient=True
        )
    # Authentication, permission, idempotency conflicts: our configuration, not the payer.
    log.error("stripe refused our request: %s", type(exc).__name__)
    return CheckoutError("Payments are not working right now; the operator has been told.")


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
