"""The chat playground: talk to the bot as a Telegram user or an SMS sender, with no keys.

Each message becomes a correctly signed webhook (`hub.simulate`) sent into this same app,
so it takes the real path: verification, the event log, the router, the handlers, the
outbox. Replies are what a provider would have shown: the inline answer in the webhook
response, plus the outbound calls the handlers recorded for that event.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from typing import Any
from urllib.parse import parse_qs

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for

from hub.admin.auth import guard_page, secure_headers
from hub.errors import BadRequestError, ConflictError
from hub.events import Event
from hub.runtime import Hub, current_hub
from hub.simulate import SignedRequest, paypal_event, sample_types, telegram_message, twilio_sms

bp = Blueprint("playground", __name__, url_prefix="/admin/playground")
bp.before_request(guard_page)
bp.after_request(secure_headers)

CHANNELS = ("telegram", "sms", "paypal")  # paypal: the text is an event type, e.g. PAYMENT.CAPTURE.COMPLETED
PLAYGROUND_CHAT_ID = 777000111
PLAYGROUND_PHONE = "+15005550006"  # Twilio's documented magic test number: never a real person
BASE_URL = "http://localhost"  # what the in-process client signs Twilio requests for
MAX_TEXT = 1000


def _signed(hub: Hub, channel: str, text: str) -> tuple[SignedRequest, str, str]:
    """The webhook a provider would send for `text`, its source and provider id."""
    if channel == "telegram":
        signed = telegram_message(hub.settings, text, chat_id=PLAYGROUND_CHAT_ID, first_name="Playground")
        return signed, "telegram", str(json.loads(signed.body)["update_id"])
    if channel == "paypal":  # signed with the development certificate, about the playground chat
        known = sample_types("paypal")
        if text.upper() not in known:
            raise BadRequestError(f"write a PayPal event type: {', '.join(known)}", code="bad_text")
        signed = paypal_event(hub.settings, text.upper(), custom_id=f"telegram:{PLAYGROUND_CHAT_ID}")
        return signed, "paypal", str(json.loads(signed.body)["id"])
    signed = twilio_sms(hub.settings, BASE_URL, text, sender=PLAYGROUND_PHONE)
    return signed, "twilio", parse_qs(signed.body.decode())["MessageSid"][0]


def _inline_replies(channel: str, response: Any) -> list[str]:
    """The answer riding in the webhook response: a Bot API method or TwiML messages."""
    if response.status_code >= 400 or channel == "paypal":  # PayPal's answer is an ack
        return []
    if channel == "telegram":
        body = response.get_json(silent=True) or {}
        return [str(body["text"])] if body.get("method") == "sendMessage" and "text" in body else []
    root = ElementTree.fromstring(response.get_data(as_text=True))  # our own TwiML, not input
    return [message.text or "" for message in root.iter("Message")]


def _find_event(hub: Hub, source: str, provider_id: str) -> Event | None:
    for event in hub.store.events(source=source, limit=50):
        if event.provider_id == provider_id:
            return event
    return None


def send(channel: str, text: str) -> dict[str, Any]:
    """Send one playground message through the webhook endpoint; what came back."""
    hub = current_hub()
    if channel not in CHANNELS:
        raise BadRequestError(f"channel must be one of {', '.join(CHANNELS)}", code="bad_channel")
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise BadRequestError(f"write a message of 1 to {MAX_TEXT} characters", code="bad_text")
    if not hub.settings.hub_dry_run:
        # Replies to the playground's made-up chat would go to real providers.
        raise ConflictError("the playground works in dry-run only (HUB_DRY_RUN=1)", code="playground_live")
    signed, source, provider_id = _signed(hub, channel, text)
    client = current_app.test_client()
    response = client.post(signed.path, data=signed.body, headers=signed.headers, base_url=BASE_URL)
    result: dict[str, Any] = {
        "channel": channel,
        "text": text,
        "webhook_status": response.status_code,
        "replies": _inline_replies(channel, response),
        "outbox": [],
        "event": None,
    }
    if response.status_code >= 400:
        error = response.get_json(silent=True) or {}
        result["error"] = error.get("message") or f"the webhook answered {response.status_code}"
    event = _find_event(hub, source, provider_id)
    if event is not None:
        result["event"] = {
            "id": event.id,
            "status": event.status,
            "attempts": event.attempts,
            "last_error": event.last_error or None,
            "url": url_for("admin_dashboard.event_page", event_id=event.id),
        }
        result["outbox"] = [
            {"integration": e.integration, "action": e.action, "status": e.status,
             "text": str(e.payload.get("text") or e.payload.get("body") or ""), "payload": e.payload}
            for e in reversed(hub.store.outbox(event_id=event.id))
        ]  # fmt: skip
    return result


@bp.get("")
def page() -> str:
    return render_template("admin/playground.html", exchange=None, channels=CHANNELS,
                           phone=PLAYGROUND_PHONE, chat_id=PLAYGROUND_CHAT_ID)  # fmt: skip


@bp.post("/send")
def send_view() -> Response | tuple[str, int]:
    """JSON in, JSON out for the page's script; a plain form post re-renders the page."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequestError("send a JSON object with channel and text", code="bad_payload")
        return jsonify(send(str(body.get("channel", "")), str(body.get("text", ""))))
    exchange = send(request.form.get("channel", ""), request.form.get("text", ""))
    return render_template("admin/playground.html", exchange=exchange, channels=CHANNELS,
                           phone=PLAYGROUND_PHONE, chat_id=PLAYGROUND_CHAT_ID), 200  # fmt: skip
