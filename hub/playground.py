"""The chat playground: talk to the bot as a Telegram user or an SMS sender, with no keys.

Each message becomes a correctly signed webhook (`hub.simulate`) sent into this same app,
so it takes the real path: verification, the event log, the router, the handlers, the
outbox. Replies are what a provider would have shown: the inline answer in the webhook
response, plus the outbound calls the handlers recorded for that event, with their
keyboards (`reply_markup`) as buttons.

A reload rebuilds each chat from the event log: the playground's own chat's events, their
outbound calls, and the inline answers, which only the webhook response carried (so the
playground keeps the last ones it saw, in the store's small keyed state).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from hub.admin.auth import guard_page, secure_headers
from hub.admin.mount import main_app
from hub.errors import BadRequestError, ConflictError
from hub.events import Event
from hub.services import Hub, current_hub
from hub.simulate import SignedRequest, build, simulate_types
from hub.store import OutboxEntry

bp = Blueprint("playground", __name__, url_prefix="/admin/playground")
bp.before_request(guard_page)
bp.after_request(secure_headers)

CHANNELS = ("telegram", "sms", "paypal")  # paypal: the text is an event type, e.g. PAYMENT.CAPTURE.COMPLETED
PLAYGROUND_CHAT_ID = 777000111
PLAYGROUND_PHONE = "+15005550006"  # Twilio's documented magic test number: never a real person
BASE_URL = "http://localhost"  # what the in-process client signs Twilio requests for
MAX_TEXT = 1000
HISTORY = 30  # messages a reloaded chat shows
REPLIES_NAMESPACE = "playground-replies"  # kv: channel -> {event id: inline answers}


def _signed(hub: Hub, channel: str, text: str) -> tuple[SignedRequest, str, str]:
    """The webhook a provider would send for `text`, its source and provider id."""
    settings = hub.settings
    if channel == "telegram":
        signed = build(
            settings,
            "telegram",
            "message",
            BASE_URL,
            text,
            chat_id=PLAYGROUND_CHAT_ID,
            first_name="Playground",
        )
        return signed, "telegram", str(json.loads(signed.body)["update_id"])
    if channel == "paypal":  # signed with the development certificate, about the playground chat
        known = simulate_types("paypal")
        if text.upper() not in known:
            raise BadRequestError(f"write a PayPal event type: {', '.join(known)}", code="bad_text")
        signed = build(settings, "paypal", text.upper(), BASE_URL, custom_id=f"telegram:{PLAYGROUND_CHAT_ID}")
        return signed, "paypal", str(json.loads(signed.body)["id"])
    signed = build(settings, "twilio", "sms.received", BASE_URL, text, sender=PLAYGROUND_PHONE)
    return signed, "twilio", parse_qs(signed.body.decode())["MessageSid"][0]


def _inline_messages(channel: str, response: Any) -> list[dict[str, Any]]:
    """The answer riding in the webhook response: a Bot API method or TwiML messages."""
    if response.status_code >= 400 or channel == "paypal":  # PayPal's answer is an ack
        return []
    if channel == "telegram":
        body = response.get_json(silent=True) or {}
        if body.get("method") != "sendMessage" or "text" not in body:
            return []
        return [message(str(body["text"]), body.get("reply_markup"))]
    import xml.etree.ElementTree as ElementTree  # only here: a cold webhook never needs it

    root = ElementTree.fromstring(response.get_data(as_text=True))  # our own TwiML, not input
    return [message(m.text or "") for m in root.iter("Message")]


def message(text: str, markup: Any = None, via: str = "") -> dict[str, Any]:
    """One bot message as the page draws it: text, button rows, where it came from."""
    return {"text": text, "buttons": buttons(markup), "via": via}


def buttons(markup: Any) -> list[list[dict[str, str]]]:
    """`reply_markup` as rows of buttons: {"text", and "url" (a link) or "send" (a reply
    keyboard key, sent as a message) or "callback" (shown, not simulated)}."""
    if not isinstance(markup, dict):
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    drawn: list[list[dict[str, str]]] = []
    for row in rows if isinstance(rows, list) else []:
        keys = []
        for key in row if isinstance(row, list) else []:
            key = {"text": key} if isinstance(key, str) else key
            if not isinstance(key, dict) or not isinstance(key.get("text"), str):
                continue
            url = key.get("url")
            if isinstance(url, str) and url.startswith(("https://", "http://")):
                keys.append({"text": key["text"], "url": url})
            elif "inline_keyboard" in markup:
                keys.append({"text": key["text"], "callback": str(key.get("callback_data", ""))})
            else:
                keys.append({"text": key["text"], "send": key["text"]})
        if keys:
            drawn.append(keys)
    return drawn


def _outbox_messages(entries: list[OutboxEntry]) -> list[dict[str, Any]]:
    """Messages the handlers sent through the outbox; other calls (a Checkout session) as
    one line each, with `call` set and no bubble text."""
    shown = []
    for e in entries:
        text = e.payload.get("text") or e.payload.get("body")
        via = f"via outbox: {e.integration} {e.action} ({e.status})"
        shown.append(
            message(str(text), e.payload.get("reply_markup"), via=via)
            if text
            else {"text": "", "buttons": [], "via": via, "call": True}
        )
    return shown


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
    client = main_app().test_client()  # the app with the webhook routes (hub/admin/mount.py)
    response = client.post(signed.path, data=signed.body, headers=signed.headers, base_url=BASE_URL)
    inline = _inline_messages(channel, response)
    result: dict[str, Any] = {
        "channel": channel,
        "text": text,
        "webhook_status": response.status_code,
        "replies": [m["text"] for m in inline],
        "outbox": [],
        "event": None,
        "messages": inline,
    }
    if response.status_code >= 400:
        error = response.get_json(silent=True) or {}
        result["error"] = error.get("message") or f"the webhook answered {response.status_code}"
    event = _find_event(hub, source, provider_id)
    if event is not None:
        _remember(hub, channel, event.id, inline)
        result["event"] = _event_view(event)
        entries = list(reversed(hub.store.outbox(event_id=event.id)))
        result["outbox"] = [
            {
                "integration": e.integration,
                "action": e.action,
                "status": e.status,
                "text": str(e.payload.get("text") or e.payload.get("body") or ""),
                "payload": e.payload,
            }
            for e in entries
        ]
        result["messages"] = inline + _outbox_messages(entries)
    return result


def _event_view(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "status": event.status,
        "attempts": event.attempts,
        "last_error": event.last_error or None,
        "url": url_for("admin_dashboard.event_page", event_id=event.id),
    }


def _remember(hub: Hub, channel: str, event_id: str, inline: list[dict[str, Any]]) -> None:
    """Keep the inline answers of the newest exchanges: only the response carried them."""
    kept = hub.store.kv_get(REPLIES_NAMESPACE, channel) or {}
    kept[event_id] = inline
    hub.store.kv_put(REPLIES_NAMESPACE, channel, dict(list(kept.items())[-HISTORY:]))


def conversation(hub: Hub, channel: str) -> list[dict[str, Any]]:
    """The chat's newest exchanges, oldest first, rebuilt from the event log."""
    source, address = (
        ("telegram", str(PLAYGROUND_CHAT_ID)) if channel == "telegram" else ("twilio", PLAYGROUND_PHONE)
    )
    kept = hub.store.kv_get(REPLIES_NAMESPACE, channel) or {}
    mine = [
        e
        for e in hub.store.events(source=source, limit=200 + HISTORY)
        if e.message is not None and e.message.address == address
    ][:HISTORY]
    exchanges = []
    for event in reversed(mine):
        entries = list(reversed(hub.store.outbox(event_id=event.id)))
        exchanges.append(
            {
                "text": event.message.text if event.message else "",
                "messages": list(kept.get(event.id, [])) + _outbox_messages(entries),
                "error": None,
                "event": _event_view(event),
            }
        )
    return exchanges


def _page(status: int = 200) -> tuple[str, int]:
    hub = current_hub()
    chats = {channel: conversation(hub, channel) for channel in CHANNELS}
    return render_template(
        "admin/playground.html",
        chats=chats,
        channels=CHANNELS,
        phone=PLAYGROUND_PHONE,
        chat_id=PLAYGROUND_CHAT_ID,
    ), status


@bp.get("")
def page() -> tuple[str, int]:
    return _page()


@bp.post("/send")
def send_view() -> Response | tuple[str, int]:
    """JSON in, JSON out for the page's script; a plain form post re-renders the page."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequestError("send a JSON object with channel and text", code="bad_payload")
        return jsonify(send(str(body.get("channel", "")), str(body.get("text", ""))))
    send(request.form.get("channel", ""), request.form.get("text", ""))
    return _page()  # the page rebuilt from the log now shows the exchange
