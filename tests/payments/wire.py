"""Providers at the wire for payment and SMS tests: Stripe and Twilio through `responses`
(their SDKs use requests), the Telegram Bot API through respx (PTB uses httpx)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import httpx
import respx

from hub.config import Settings
from hub.simulate import SignedRequest

STRIPE_SESSIONS = "https://api.stripe.com/v1/checkout/sessions"
TWILIO_MESSAGES = re.compile(r"https://api\.twilio\.com/2010-04-01/Accounts/AC[0-9a-f]+/Messages\.json")
ADMIN_CHAT = "4242"
LIVE = {
    "HUB_DRY_RUN": "0",
    "HUB_RETRY_BASE_SECONDS": "0",  # a failed event is due again at once: tests just sweep
    "STRIPE_API_KEY": "sk_test_hub_0123456789",
    "TELEGRAM_BOT_TOKEN": "123456:TEST-token-abcdefghij",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_FROM_NUMBER": "+15550002222",
    "HUB_ADMIN_CHAT_IDS": ADMIN_CHAT,
}


def session_json(session_id: str = "cs_test_a1", **extra: Any) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "open",
        "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        **extra,
    }


def stripe_error(message: str, *, type: str = "invalid_request_error", **extra: Any) -> dict[str, Any]:
    return {"error": {"type": type, "message": message, **extra}}


def message_json(sid: str = "SM" + "a" * 32, status: str = "queued") -> dict[str, Any]:
    return {
        "sid": sid,
        "status": status,
        "to": "+15550001111",
        "from": LIVE["TWILIO_FROM_NUMBER"],
        "body": "",
        "account_sid": LIVE["TWILIO_ACCOUNT_SID"],
    }


def twilio_error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def form(body: bytes | str | None) -> dict[str, str]:
    """A form-encoded request body (as the SDKs send it), flattened."""
    text = body.decode() if isinstance(body, bytes) else body or ""
    return {k: v[0] for k, v in parse_qs(text).items()}


@contextmanager
def telegram_api() -> Iterator[list[dict[str, Any]]]:
    """The Bot API on respx; yields the sendMessage calls' JSON bodies as they arrive."""
    sent: list[dict[str, Any]] = []

    def send_message(request: httpx.Request) -> httpx.Response:
        params = _params(request)
        sent.append(params)
        message = {
            "message_id": len(sent),
            "date": int(time.time()),
            "text": params.get("text", ""),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
        }
        return httpx.Response(200, json={"ok": True, "result": message})

    me = {"id": 123456, "is_bot": True, "first_name": "hub", "username": "hub_test_bot"}
    with respx.mock(base_url="https://api.telegram.org", assert_all_called=False) as mock:
        mock.post(path__regex=r"/bot[^/]+/getMe$").respond(200, json={"ok": True, "result": me})
        mock.post(path__regex=r"/bot[^/]+/sendMessage$").mock(side_effect=send_message)
        yield sent


def _params(request: httpx.Request) -> dict[str, Any]:
    content = request.content.decode()
    if request.headers.get("content-type", "").startswith("application/json"):
        return json.loads(content)
    if request.headers.get("content-type", "").startswith("multipart/"):
        return dict(re.findall(r'name="([^"]+)"\r\n\r\n(.*?)\r\n', content, flags=re.S))
    return form(content)


def signed_stripe(settings: Settings, event: dict[str, Any]) -> SignedRequest:
    """A signed Stripe delivery of exactly `event` (its own id and `created`)."""
    from integrations.stripe import signature_header

    body = json.dumps(event)
    return SignedRequest(
        "/webhooks/stripe",
        body.encode(),
        {
            "Content-Type": "application/json",
            "Stripe-Signature": signature_header(body, settings.stripe_webhook_secret[0]),
        },
    )


def stripe_event_body(type: str, obj: dict[str, Any], *, event_id: str, created: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": type,
        "created": created,
        "livemode": False,
        "data": {"object": obj},
    }
