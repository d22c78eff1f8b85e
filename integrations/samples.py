"""Correctly signed sample webhooks, one builder per provider: what `hub simulate`, the
playground and tests send. Each provider's declaration names its builder
(`Simulation.build`); signing uses the same secrets the running hub verifies with."""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from hub.providers import routes
from hub.simulate import SignedRequest, load_sample, with_planned_failures

if TYPE_CHECKING:
    from hub.config import Settings

# Where each sample is posted: the path of the route its provider declares.
_ROUTES = {name: route.path for name, route in routes().items()}
PATHS = {
    "telegram": _ROUTES["telegram"],
    "stripe": _ROUTES["stripe"],
    "paypal": _ROUTES["paypal"],
    "twilio": _ROUTES["twilio_sms"],
    "twilio-status": _ROUTES["twilio_status"],
    "google": _ROUTES["google_calendar"],
}
# A Google push carries no body, only its resource state: `hub simulate google <state>`.
GOOGLE_STATES = ("exists", "not_exists", "sync")


def stripe_event(
    settings: Settings,
    type: str,
    data: dict[str, Any] | None = None,
    *,
    event_id: str | None = None,
    timestamp: int | None = None,
    fail: int = 0,
) -> SignedRequest:
    """A signed Stripe event of `type`; `data` replaces the sample's `data.object`."""
    from integrations.stripe import signature_header

    try:
        event = load_sample("stripe", type)
    except LookupError:
        event = {"object": "event", "type": type, "data": {"object": {}}}
    event["id"] = event_id or "evt_sim_" + secrets.token_hex(8)
    event["created"] = int(time.time())
    if data is not None:
        event["data"] = {"object": data}
    body = json.dumps(with_planned_failures(event, fail))
    header = signature_header(body, settings.stripe_webhook_secret[0], timestamp)
    return SignedRequest(
        PATHS["stripe"],
        body.encode(),
        {"Content-Type": "application/json", "Stripe-Signature": header},
    )


def paypal_event(
    settings: Settings,
    type: str,
    resource: dict[str, Any] | None = None,
    *,
    event_id: str | None = None,
    time: str | None = None,
    custom_id: str = "",
    fail: int = 0,
) -> SignedRequest:
    """A PayPal webhook of `type` signed with the development certificate (dry-run hubs only).

    `resource` replaces the sample's `resource`; `custom_id` the chat it names;
    `time` sets PAYPAL-TRANSMISSION-TIME.
    """
    from integrations.paypal_dev import dev_signer

    event = load_sample("paypal", type)
    event["id"] = event_id or "WH-SIM-" + secrets.token_hex(8).upper()
    if resource is not None:
        event["resource"] = resource
    if custom_id:
        for holder in [event["resource"], *event["resource"].get("purchase_units", [])]:
            if "custom_id" in holder:
                holder["custom_id"] = custom_id
    body = json.dumps(with_planned_failures(event, fail)).encode()
    headers = dev_signer(settings).headers(settings, body, time=time)
    return SignedRequest(PATHS["paypal"], body, {"Content-Type": "application/json", **headers})


def telegram_message(
    settings: Settings,
    text: str,
    *,
    chat_id: int = 1001,
    update_id: int | None = None,
    first_name: str = "Sam",
    fail: int = 0,
) -> SignedRequest:
    update = load_sample("telegram", "message")
    update["update_id"] = update_id if update_id is not None else secrets.randbelow(2**31)
    message = update["message"]
    message.update(message_id=secrets.randbelow(2**31), date=int(time.time()), text=text)
    message["chat"].update(id=chat_id, first_name=first_name)
    message["from"].update(id=chat_id, first_name=first_name)
    return SignedRequest(
        PATHS["telegram"],
        json.dumps(with_planned_failures(update, fail)).encode(),
        {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": settings.telegram_webhook_secret,
        },
    )


def twilio_form(
    settings: Settings, base_url: str, source: str, params: dict[str, str], *, fail: int = 0
) -> SignedRequest:
    """A form-encoded Twilio callback signed for the URL Twilio would have used."""
    from integrations.twilio import signature

    params = {k: str(v) for k, v in with_planned_failures(params, fail).items()}
    path = PATHS[source]
    signed_url = (settings.hub_public_url or base_url.rstrip("/")) + path
    return SignedRequest(
        path,
        urlencode(params).encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature(signed_url, params, settings.twilio_auth_token),
        },
    )


def twilio_sms(
    settings: Settings,
    base_url: str,
    text: str,
    *,
    sender: str = "+15550001111",
    sid: str | None = None,
    fail: int = 0,
) -> SignedRequest:
    params = load_sample("twilio", "sms.received")
    params.update(Body=text, From=sender, MessageSid=sid or "SM" + secrets.token_hex(16))
    return twilio_form(settings, base_url, "twilio", params, fail=fail)


def google_push(settings: Settings, *, state: str = "exists", number: int | None = None) -> SignedRequest:
    headers = load_sample("google", "calendar.push")
    headers.update(
        {
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(number if number is not None else int(time.time() * 1000)),
            "X-Goog-Channel-Token": settings.google_channel_token,
        }
    )
    return SignedRequest(PATHS["google"], b"", headers)


# -- `hub simulate <source> <type>` and the playground: each declaration's Simulation.build.
# `options` are the sample's own (a chat id, a sender), for the playground.


def simulate_stripe(
    settings: Settings, type: str, base_url: str, text: str | None, *, fail: int = 0, **options: Any
) -> SignedRequest:
    return stripe_event(settings, type, fail=fail, **options)


def simulate_paypal(
    settings: Settings, type: str, base_url: str, text: str | None, *, fail: int = 0, **options: Any
) -> SignedRequest:
    return paypal_event(settings, type, fail=fail, **options)


def simulate_telegram(
    settings: Settings, type: str, base_url: str, text: str | None, *, fail: int = 0, **options: Any
) -> SignedRequest:
    return telegram_message(settings, text or "/start", fail=fail, **options)


def simulate_twilio(
    settings: Settings, type: str, base_url: str, text: str | None, *, fail: int = 0, **options: Any
) -> SignedRequest:
    if type == "sms.status":
        return twilio_form(
            settings, base_url, "twilio-status", load_sample("twilio", "sms.status"), fail=fail
        )
    return twilio_sms(settings, base_url, text or "HELP", fail=fail, **options)


def simulate_google(
    settings: Settings, type: str, base_url: str, text: str | None, *, fail: int = 0, **options: Any
) -> SignedRequest:
    return google_push(settings, state=type, **options)
