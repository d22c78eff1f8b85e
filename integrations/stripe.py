"""Stripe: webhook verification (several signing secrets for rotation) and API calls.

The SDK is imported by the API calls only. Intake checks Stripe's signature scheme v1
itself (https://docs.stripe.com/webhooks#verify-manually), exactly as
`stripe.WebhookSignature.verify_header` does: importing the SDK costs 110-230 ms (it loads
requests, httpx and anyio at import), which on a cold Lambda is longer than the whole bare
Flask start. `tests/hostile/test_stripe_scheme.py` holds our verdict equal to the SDK's for
generated headers, so an SDK upgrade that changes the scheme fails CI.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import TYPE_CHECKING, Any

from flask import Response, jsonify

from hub.errors import BadRequestError
from hub.events import Event, body_digest
from hub.payloads import body_text, environ_key, json_object, required_str

if TYPE_CHECKING:
    import stripe
    from flask import Request

    from hub.config import Settings
    from hub.context import Context
    from hub.services import Acceptance, Hub

TOLERANCE_SECONDS = 300
SCHEME = "v1"  # the only scheme Stripe signs live events with
SIGNATURE_HEADER = "Stripe-Signature"
SIGNATURE_ENVIRON = environ_key(SIGNATURE_HEADER)
log = logging.getLogger("hub.stripe")


def verify(request: Request, settings: Settings) -> Event:
    """A Stripe webhook as an Event, or 400: bad signature, stale or future timestamp, bad body.

    Any content type is taken: the signature covers the raw body, and Stripe's contract
    answers 400 (not 415) for a body that is not a JSON event.
    """
    header = request.environ.get(SIGNATURE_ENVIRON, "").strip()
    if not header:
        raise BadRequestError("the Stripe-Signature header is missing", code="missing_signature")
    timestamp = _timestamp(header)
    _check_timestamp(timestamp)
    payload = body_text(request)
    signatures = _signatures(header)
    secrets = settings.stripe_webhook_secret
    if not any(_signed_with(payload, timestamp, signatures, secret) for secret in secrets):
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
        payload_json=payload,
        body_sha256=body_digest(payload.encode()),
    )


def _signed_with(payload: str, timestamp: int, signatures: list[str], secret: str) -> bool:
    """True if one of the header's v1 signatures is the HMAC of `timestamp.payload` under `secret`."""
    expected = _compute_signature(f"{timestamp}.{payload}", secret)
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


def _compute_signature(signed_payload: str, secret: str) -> str:
    return hmac.digest(secret.encode("utf-8"), signed_payload.encode("utf-8"), "sha256").hex()


def _signatures(header: str) -> list[str]:
    """The header's v1 signatures, read as the SDK reads them (`key=value`, split at most twice).

    The SDK refuses the whole header when a `v1` item has no `=`; so do we.
    """
    items = [item.split("=", 2) for item in header.split(",")]
    if any(len(item) == 1 and item[0] == SCHEME for item in items):
        raise _malformed()
    return [item[1] for item in items if item[0] == SCHEME]


def _timestamp(header: str) -> int:
    """`t` from `t=<unix time>,v1=<hex>[,v1=...]`, or 400 when the header is not of that form."""
    items = [item.partition("=") for item in header.split(",")]
    stamps = [value for key, _, value in items if key == "t"]
    has_v1 = any(key == SCHEME and value for key, _, value in items)
    # ASCII digits, and few enough that int() and the SDK's float arithmetic cannot overflow.
    valid_stamp = len(stamps) == 1 and stamps[0].isascii() and stamps[0].isdigit() and len(stamps[0]) <= 12
    if not valid_stamp or not has_v1:
        raise _malformed()
    return int(stamps[0])


def _malformed() -> BadRequestError:
    return BadRequestError(
        "the Stripe-Signature header is malformed: expected t=<timestamp>,v1=<signature>",
        code="bad_signature",
    )


def _check_timestamp(timestamp: int) -> None:
    """Refuse a signature more than the tolerance from now, in either direction.

    The SDK checks only the past; a future timestamp would stay replayable for as long.
    """
    skew = time.time() - timestamp  # a float, as the SDK compares: 300.4 s old is too old
    if abs(skew) > TOLERANCE_SECONDS:
        when = "old" if skew > 0 else "in the future"
        raise BadRequestError(
            f"the Stripe-Signature timestamp is {abs(skew):.0f} s {when} (tolerance "
            f"{TOLERANCE_SECONDS} s): a replayed delivery, or check this server's clock",
            code="bad_signature",
        )


def respond(acceptance: Acceptance) -> Response:
    return jsonify(received=True, event_id=acceptance.event.id, duplicate=acceptance.duplicate)


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A valid Stripe-Signature for `payload` (for `hub simulate` and tests)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},{SCHEME}={_compute_signature(f'{timestamp}.{payload}', secret)}"


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
    import stripe

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
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": amount_cents,
                    "product_data": {"name": description},
                },
            }
        ],
        "metadata": {"telegram_chat_id": chat_id, "description": description, "hub_event_id": ctx.event.id},
        "payment_intent_data": {"metadata": {"telegram_chat_id": chat_id}},
    }
    if settings.stripe_success_url:
        params["success_url"] = settings.stripe_success_url
    if settings.twilio_from_number:  # a phone number lets us text the receipt
        params["phone_number_collection"] = {"enabled": True}
    idempotency_key = f"hub-{ctx.event.id}-checkout"

    def send() -> dict[str, Any]:
        import stripe

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
        "stripe",
        "checkout.sessions.create",
        {**params, "idempotency_key": idempotency_key},
        send,
        dry_response=dry_response,
    )
    return {"url": str(result.response.get("url", "")), "id": str(result.response.get("id", ""))}


def _checkout_error(exc: stripe.StripeError) -> CheckoutError:
    """Turn an SDK error (already retried by the SDK where that helps) into words for the payer."""
    import stripe

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
    import stripe

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


# -- the registry's setup-webhooks step and doctor probe (integrations/stripe_provider.py)

DEFAULT_EVENTS = ["checkout.session.completed"]  # when no handler names a Stripe type


def setup_webhook(
    hub: Hub, base: str, *, stage: str, stages: tuple[str, ...], dry_run: bool
) -> tuple[str, str]:
    """The endpoint for `base`, enabled for the event types hub's handlers take."""
    settings = hub.settings
    if not settings.stripe_api_key:
        return "skipped", "STRIPE_API_KEY is not set"
    target = f"{base}/webhooks/stripe"
    events = sorted({t for (source, t) in hub.router.registrations() if source == "stripe" and t != "*"})
    events = events or DEFAULT_EVENTS
    existing = next((e for e in webhook_endpoints(settings) if e["url"] == target), None)
    if existing is None:
        if dry_run:
            return "create", f"{target} for {', '.join(events)}"
        created = create_webhook_endpoint(settings, target, events)
        return (
            "create",
            f"{target} ({created['id']}). Store its signing secret as STRIPE_WEBHOOK_SECRET "
            f"(append with a comma while rotating): {created['secret']}",
        )
    if sorted(existing["enabled_events"]) == events:
        return "unchanged", f"{target} ({existing['id']}) for {', '.join(events)}"
    if not dry_run:
        update_webhook_endpoint(settings, existing["id"], events)
    return "update", f"{existing['id']} events: {', '.join(events)}"


def doctor_probe(hub: Hub) -> str:
    return f"account {account_reachable(hub.settings)}"
