"""Correctly signed sample webhooks, like `stripe trigger`: for `hub simulate`, the
playground and tests. Signing uses the same secrets the running hub verifies with."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from hub.config import Settings
from hub.faults import FAIL_FIELD

PATHS = {
    "telegram": "/webhooks/telegram",
    "stripe": "/webhooks/stripe",
    "paypal": "/webhooks/paypal",
    "twilio": "/webhooks/twilio/sms",
    "twilio-status": "/webhooks/twilio/status",
    "google": "/webhooks/google/calendar",
}
# A Google push carries no body, only its resource state: `hub simulate google <state>`.
GOOGLE_STATES = ("exists", "not_exists", "sync")
# Samples whose signed body can carry `--fail` (a Google push has headers only).
FAILABLE = ("stripe", "paypal", "telegram", "twilio")


@dataclass
class SignedRequest:
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def url(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.path


def sources() -> list[str]:
    """The sources `hub simulate` sends: one folder of samples each under hub/samples/."""
    return sorted(p.name for p in (resources.files("hub") / "samples").iterdir() if p.is_dir())


def sample_types(source: str) -> list[str]:
    folder = resources.files("hub") / "samples" / source.split("-")[0]
    if not folder.is_dir():
        return []
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


def simulate_types(source: str) -> list[str]:
    """The types `hub simulate <source>` accepts: one per sample (Google's: the push states)."""
    return list(GOOGLE_STATES) if source == "google" else sample_types(source)


def with_planned_failures(payload: dict[str, Any], fail: int) -> dict[str, Any]:
    """`payload` asking a dry-run hub to fail its first `fail` attempts (hub.faults)."""
    return {**payload, FAIL_FIELD: fail} if fail else payload


def load_sample(source: str, type: str) -> dict[str, Any]:
    path = resources.files("hub") / "samples" / source / f"{type}.json"
    if not path.is_file():
        raise LookupError(f"no sample {source}/{type}; samples: {', '.join(sample_types(source)) or 'none'}")
    return json.loads(path.read_text())


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
    try:
        event = load_sample("stripe", type)
    except LookupError:
        event = {"object": "event", "type": type, "data": {"object": {}}}
    event["id"] = event_id or "evt_sim_" + secrets.token_hex(8)
    event["created"] = int(time.time())
    if data is not None:
        event["data"] = {"object": data}
    body = json.dumps(with_planned_failures(event, fail))
    from integrations.stripe import signature_header

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
    event = load_sample("paypal", type)
    event["id"] = event_id or "WH-SIM-" + secrets.token_hex(8).upper()
    if resource is not None:
        event["resource"] = resource
    if custom_id:
        for holder in [event["resource"], *event["resource"].get("purchase_units", [])]:
            if "custom_id" in holder:
                holder["custom_id"] = custom_id
    body = json.dumps(with_planned_failures(event, fail)).encode()
    from integrations.paypal_dev import dev_signer

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


def build(
    settings: Settings, source: str, type: str, base_url: str, text: str | None = None, *, fail: int = 0
) -> SignedRequest:
    """The request `hub simulate <source> <type>` sends; `fail`: see hub.faults."""
    if type not in simulate_types(source):
        known = ", ".join(simulate_types(source)) or "none"
        raise LookupError(f"no {source} sample {type!r}; known types: {known}")
    if fail and source not in FAILABLE:
        raise LookupError(f"--fail needs a sample with a body to carry it: {', '.join(FAILABLE)}")
    if source == "stripe":
        return stripe_event(settings, type, fail=fail)
    if source == "paypal":
        return paypal_event(settings, type, fail=fail)
    if source == "telegram":
        return telegram_message(settings, text or "/start", fail=fail)
    if source == "twilio" and type == "sms.status":
        params = load_sample("twilio", "sms.status")
        return twilio_form(settings, base_url, "twilio-status", params, fail=fail)
    if source == "twilio":
        return twilio_sms(settings, base_url, text or "HELP", fail=fail)
    if source == "google":
        return google_push(settings, state=type)
    raise LookupError(f"unknown source {source!r}: use one of {', '.join(sources())}")
