"""PayPal's REST API through the official `paypal-server-sdk`: orders, OAuth, webhooks.

The SDK (and requests, which it sends with) is imported on the first call only, never
by the webhook ack. Its OAuth token is kept in the shared cache until shortly before it
expires, so the many short-lived Lambda instances share one token instead of each
asking PayPal for their own. The SDK has no notifications API: webhook registration
calls /v1/notifications/webhooks with requests, under the SDK's token.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask_caching import Cache
    from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

    from hub.config import Settings
    from hub.context import Context
    from hub.services import Hub

log = logging.getLogger("hub.paypal")

BASE_URLS = {"live": "https://api-m.paypal.com", "sandbox": "https://api-m.sandbox.paypal.com"}
TIMEOUT_SECONDS = 10
MAX_RETRIES = 2  # POSTs too: every one carries a PayPal-Request-Id, so a retry is safe
TOKEN_EARLY_SECONDS = 300  # a cached token is dropped this long before PayPal's expiry
APPROVE_RELS = ("approve", "payer-action")


class PayPalError(Exception):
    """PayPal would not do it; `user_message` is safe to show the payer."""

    def __init__(self, user_message: str, *, transient: bool = False, issue: str = "") -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.transient = transient
        self.issue = issue  # PayPal's issue code (ORDER_ALREADY_CAPTURED, INSTRUMENT_DECLINED)


def base_url(settings: Settings) -> str:
    return settings.paypal_api_url or BASE_URLS[settings.paypal_environment]


def client(settings: Settings, cache: Cache) -> PaypalServersdkClient:
    """An SDK client on this configuration's credentials, host and shared token cache."""
    from paypalserversdk.configuration import Configuration, Environment, Server
    from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
    from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

    environment = Environment.PRODUCTION if settings.paypal_environment == "live" else Environment.SANDBOX
    credentials = ClientCredentialsAuthCredentials(
        o_auth_client_id=settings.paypal_client_id,
        o_auth_client_secret=settings.paypal_client_secret,
        o_auth_token_provider=lambda _last, manager: cached_token(settings, cache, manager),
    )
    config = Configuration(
        environment=environment,
        timeout=TIMEOUT_SECONDS,
        max_retries=MAX_RETRIES,
        backoff_factor=0.5,
        retry_methods=["GET", "PUT", "POST", "PATCH"],
        client_credentials_auth_credentials=credentials,
    )
    config.environments = {environment: {Server.DEFAULT: base_url(settings)}}  # PAYPAL_API_URL
    return PaypalServersdkClient(config=config)


def cached_token(settings: Settings, cache: Cache, manager: Any) -> Any:
    """The SDK's OAuth token from the shared cache, else fetched by the SDK and cached."""
    from paypalserversdk.models.o_auth_token import OAuthToken

    identity = f"{base_url(settings)}|{settings.paypal_client_id}|{settings.paypal_client_secret}"
    key = "paypal:oauth:" + hashlib.sha256(identity.encode()).hexdigest()
    stored = cache.get(key)
    if isinstance(stored, dict):
        return OAuthToken(**stored)
    token = manager.fetch_token()
    lifetime = int(getattr(token, "expires_in", 0) or 0)
    if token.access_token and lifetime > TOKEN_EARLY_SECONDS:
        fields = {
            "access_token": token.access_token,
            "token_type": token.token_type,
            "expires_in": lifetime,
            "expiry": getattr(token, "expiry", None),
        }
        cache.set(key, fields, timeout=lifetime - TOKEN_EARLY_SECONDS)
    return token


def bearer(settings: Settings, cache: Cache) -> str:
    """`Bearer <token>` for the calls the SDK does not cover (webhook registration)."""
    from paypalserversdk.exceptions.api_exception import ApiException

    sdk = client(settings, cache)
    try:
        return f"Bearer {cached_token(settings, cache, sdk.oauth_2).access_token}"
    except ApiException as exc:
        raise PayPalError(
            f"PayPal's OAuth refused PAYPAL_CLIENT_ID/PAYPAL_CLIENT_SECRET (HTTP {exc.response_code}): "
            f"check the REST app's credentials and its PAYPAL_ENVIRONMENT ({settings.paypal_environment})"
        ) from None


# -- orders ---------------------------------------------------------------------------------------


def create_order(ctx: Context, value: str, currency: str, description: str, custom_id: str) -> dict[str, str]:
    """An Orders v2 order (intent CAPTURE) for one payment, as {"url", "id"}; raises PayPalError.

    `custom_id` names the chat the confirmation goes to. The PayPal-Request-Id comes from
    the triggering event, so a retried handler gets the same order back.
    """
    request_id = f"hub-{ctx.event.id}-order"
    body = {
        "intent": "CAPTURE",
        "purchase_units": [
            {
                "custom_id": custom_id,
                "description": description[:127],
                "amount": {"currency_code": currency.upper(), "value": value},
            }
        ],
    }
    settings, cache = ctx.settings, ctx.cache

    def send() -> dict[str, Any]:
        from paypalserversdk.models.order_request import OrderRequest

        if not (settings.paypal_client_id and settings.paypal_client_secret):
            raise PayPalError("PayPal is not set up yet. Please tell the operator.")
        order = _call(
            lambda: client(settings, cache).orders.create_order(
                {
                    "body": OrderRequest.from_dictionary(body),
                    "paypal_request_id": request_id,
                    "prefer": "return=minimal",
                }
            )
        )
        links = {link.get("rel"): link.get("href") for link in order.get("links") or []}
        url = next((links[rel] for rel in APPROVE_RELS if links.get(rel)), "")
        return {"ref": order.get("id", ""), "id": order.get("id", ""), "url": url}

    def dry_response() -> dict[str, Any]:
        fake_id = "DRY" + ctx.event.id.removeprefix("evt_")[:14].upper()
        return {"ref": fake_id, "id": fake_id, "url": f"http://127.0.0.1/dry-run/paypal/approve/{fake_id}"}

    result = ctx.call(
        "paypal", "orders.create", {**body, "paypal_request_id": request_id}, send, dry_response=dry_response
    )
    return {"url": str(result.response.get("url", "")), "id": str(result.response.get("id", ""))}


def capture_order(ctx: Context, order_id: str) -> dict[str, Any]:
    """Capture an approved order, as {"id", "status"}; raises PayPalError.

    The PayPal-Request-Id is the order's own, so however often the approval arrives or
    is replayed, PayPal captures once and answers the same capture again.
    """
    request_id = f"hub-capture-{order_id}"
    settings, cache = ctx.settings, ctx.cache

    def send() -> dict[str, Any]:
        order = _call(
            lambda: client(settings, cache).orders.capture_order(
                {"id": order_id, "paypal_request_id": request_id, "prefer": "return=minimal"}
            )
        )
        return {
            "ref": order.get("id", order_id),
            "id": order.get("id", order_id),
            "status": order.get("status", ""),
        }

    def dry_response() -> dict[str, Any]:
        return {"ref": order_id, "id": order_id, "status": "COMPLETED"}

    result = ctx.call(
        "paypal",
        "orders.capture",
        {"id": order_id, "paypal_request_id": request_id},
        send,
        dry_response=dry_response,
    )
    return dict(result.response)


def _call(request: Any) -> dict[str, Any]:
    """Run one SDK request; its answer as a plain dict, or a PayPalError in the payer's words."""
    import requests
    from paypalserversdk.api_helper import APIHelper
    from paypalserversdk.exceptions.api_exception import ApiException

    try:
        response = request()
    except ApiException as exc:
        raise _paypal_error(exc) from exc
    except requests.RequestException as exc:
        raise PayPalError(
            "PayPal is not answering right now; please try again in a few minutes.", transient=True
        ) from exc
    return APIHelper.to_dictionary(response.body) if response.body is not None else {}


def _paypal_error(exc: Any) -> PayPalError:
    status = int(getattr(exc, "response_code", 0) or 0)
    details = getattr(exc, "details", None) or []
    issue = str(getattr(details[0], "issue", "") or "") if details else ""
    if status in (400, 422):
        why = str(getattr(details[0], "description", "") or "") if details else ""
        return PayPalError(f"PayPal refused this payment: {why or issue or 'invalid request'}", issue=issue)
    if status == 429 or status >= 500:
        return PayPalError("PayPal is busy right now; please try again in a minute.", transient=True)
    log.error("paypal refused our request: HTTP %s %s", status, type(exc).__name__)
    return PayPalError("PayPal payments are not working right now; the operator has been told.")


# -- webhook registration (hub setup-webhooks) and `hub doctor` ----------------------------------


def _rest(settings: Settings, cache: Cache, method: str, path: str, body: Any = None) -> Any:
    """One call the SDK does not cover, under its OAuth token; None for a 404."""
    import requests

    response = requests.request(
        method,
        base_url(settings) + path,
        json=body,
        timeout=TIMEOUT_SECONDS,
        headers={"Authorization": bearer(settings, cache), "Content-Type": "application/json"},
    )
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        # PayPal's error name and message, never our credentials.
        is_json = response.headers.get("content-type", "").startswith("application/json")
        error = response.json() if is_json else {}
        raise PayPalError(
            f"PayPal answered {response.status_code} {error.get('name', '')}: "
            f"{error.get('message', '')}".strip()
        )
    return response.json() if response.content else {}


def webhooks(settings: Settings, cache: Cache) -> list[dict[str, Any]]:
    """This app's webhooks: id, url, event_types (names)."""
    found = _rest(settings, cache, "GET", "/v1/notifications/webhooks") or {}
    return [
        {"id": w["id"], "url": w["url"], "event_types": sorted(t["name"] for t in w.get("event_types", []))}
        for w in found.get("webhooks", [])
    ]


def create_webhook(settings: Settings, cache: Cache, url: str, events: list[str]) -> str:
    """Register `url` for `events`; its id is what PAYPAL_WEBHOOK_ID must hold."""
    created = _rest(
        settings,
        cache,
        "POST",
        "/v1/notifications/webhooks",
        {"url": url, "event_types": [{"name": e} for e in events]},
    )
    return str(created["id"])


def update_webhook_events(settings: Settings, cache: Cache, webhook_id: str, events: list[str]) -> None:
    patch = [{"op": "replace", "path": "/event_types", "value": [{"name": e} for e in events]}]
    _rest(settings, cache, "PATCH", f"/v1/notifications/webhooks/{webhook_id}", patch)


def ensure_webhook(
    settings: Settings, cache: Cache, target: str, events: list[str], *, dry_run: bool
) -> tuple[str, str]:
    """Point this app's webhook for `target` at exactly `events`: (action, what to tell).

    Idempotent: an equal webhook is left alone; with `dry_run` it only reads.
    """
    existing = next((w for w in webhooks(settings, cache) if w["url"] == target), None)
    if existing is None:
        if dry_run:
            return "create", f"{target} for {', '.join(events)}"
        webhook_id = create_webhook(settings, cache, target, events)
        return "create", f"{target} ({webhook_id}). Set PAYPAL_WEBHOOK_ID={webhook_id}"
    hint = "" if settings.paypal_webhook_id == existing["id"] else f". Set PAYPAL_WEBHOOK_ID={existing['id']}"
    if existing["event_types"] == events:
        return "unchanged", f"{target} ({existing['id']}) for {', '.join(events)}{hint}"
    if not dry_run:
        update_webhook_events(settings, cache, existing["id"], events)
    return "update", f"{existing['id']} events: {', '.join(events)}{hint}"


def check(settings: Settings, cache: Cache) -> str:
    """OAuth works and PAYPAL_WEBHOOK_ID names one of this app's webhooks (for `hub doctor`)."""
    bearer(settings, cache)  # refused credentials say so first
    if not settings.paypal_webhook_id or settings.paypal_webhook_id.startswith("WH-DEV-"):
        raise PayPalError("OAuth works, but PAYPAL_WEBHOOK_ID is unset: run hub setup-webhooks")
    found = _rest(settings, cache, "GET", f"/v1/notifications/webhooks/{settings.paypal_webhook_id}")
    if found is None:
        raise PayPalError(
            f"OAuth works, but this app has no webhook {settings.paypal_webhook_id}: "
            "run hub setup-webhooks and set the id it prints"
        )
    return f"{settings.paypal_environment} app; webhook {found['id']} -> {found['url']}"


# -- the registry's setup-webhooks step and doctor probe (integrations/paypal_provider.py)


def setup_webhook(
    hub: Hub, base: str, *, stage: str, stages: tuple[str, ...], dry_run: bool
) -> tuple[str, str]:
    """The app's webhook for the event types hub handles; PAYPAL_WEBHOOK_ID must name it."""
    settings = hub.settings
    if not (settings.paypal_client_id and settings.paypal_client_secret):
        return "skipped", "PAYPAL_CLIENT_ID or PAYPAL_CLIENT_SECRET is not set"
    events = sorted({t for (source, t) in hub.router.registrations() if source == "paypal" and t != "*"})
    return ensure_webhook(settings, hub.cache, f"{base}/webhooks/paypal", events, dry_run=dry_run)


def doctor_probe(hub: Hub) -> str:
    return check(hub.settings, hub.cache)
