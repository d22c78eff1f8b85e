"""Telegram updates in: the webhook's verification and answer, and updates as Events.

Intake reads the Update JSON itself and answers in the webhook response, so a cold start
that only replies never imports python-telegram-bot (about 100 ms and 20 MiB with httpx);
PTB comes in with the first Bot API call (`integrations.telegram_bot`).
"""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING, Any

from flask import Response, jsonify

from hub.errors import BadRequestError, ForbiddenError, UnauthorizedError
from hub.events import ChatMessage, Event, body_digest
from hub.payloads import body_text, environ_key, json_object, require_content_type
from integrations.telegram_send import send_message_params

if TYPE_CHECKING:
    from flask import Request

    from hub.config import Settings
    from hub.services import Acceptance

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_ENVIRON = environ_key(SECRET_HEADER)
# Update fields that name the kind of update; the first present one is the event type.
UPDATE_KINDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "callback_query",
    "inline_query",
    "chosen_inline_result",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "pre_checkout_query",
    "shipping_query",
    "poll",
    "poll_answer",
    "message_reaction",
    "business_message",
)


LATEST_DATE = 253402300799  # 9999-12-31: any later `date` cannot be a datetime
# Update kinds that carry a Message: the fields hub reads from it are type-checked.
MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post", "business_message")


def verify(request: Request, settings: Settings) -> Event:
    """An update as an Event; 401 without the secret token, 403 with a wrong one.

    The token is checked before the body is read; then 415 for a body that is not
    JSON (a missing Content-Type is read as JSON) and 400 for one that is not an Update.
    """
    given = request.environ.get(SECRET_ENVIRON, "")
    if not given:
        raise UnauthorizedError(
            f"the {SECRET_HEADER} header is missing; register the webhook with "
            "secret_token=TELEGRAM_WEBHOOK_SECRET (hub setup-webhooks does)",
            code="missing_secret_token",
        )
    # Constant-time, and the offered value is never logged (unlike PTB's own webhook server).
    if not hmac.compare_digest(given.encode(), settings.telegram_webhook_secret.encode()):
        raise ForbiddenError(
            f"the {SECRET_HEADER} header does not match TELEGRAM_WEBHOOK_SECRET",
            code="bad_secret_token",
        )
    require_content_type(request, "application/json", allow_missing=True)
    text = body_text(request)
    data = json_object(text)
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise BadRequestError("the update has no integer update_id", code="bad_payload")
    kind = next((k for k in UPDATE_KINDS if data.get(k) is not None), "update")
    if kind != "update" and not isinstance(data[kind], dict):
        raise BadRequestError(f"the update's {kind} is not an object", code="bad_payload")
    if kind in MESSAGE_KINDS:
        _check_message(data[kind])
    return Event(
        source="telegram",
        type=kind,
        provider_id=str(update_id),
        payload=data,
        payload_json=text,
        message=_chat_message(data),
        body_sha256=body_digest(text.encode()),
    )


def event_from_update(data: dict[str, Any]) -> Event:
    """An update fetched by getUpdates (PTB's own to_dict) as an Event, like `verify` makes."""
    return Event(
        source="telegram",
        type=next((k for k in UPDATE_KINDS if k in data), "update"),
        provider_id=str(data["update_id"]),
        payload=data,
        message=_chat_message(data),
        body_sha256=body_digest(json.dumps(data, separators=(",", ":")).encode()),
    )


def _check_message(message: Any) -> None:
    """The fields hub reads from a message must have their Bot API types (else 400)."""
    chat = message.get("chat")
    sender = message.get("from")
    entities = message.get("entities", [])
    valid = (
        isinstance(chat, dict)
        and _is_int(chat.get("id"))
        and _is_int(message.get("message_id"))
        and _is_int(message.get("date"))
        and 0 <= message["date"] <= LATEST_DATE
        and isinstance(message.get("text", ""), str)
        and isinstance(entities, list)
        and all(isinstance(entity, dict) for entity in entities)
        and (sender is None or (isinstance(sender, dict) and _is_int(sender.get("id"))))
    )
    if not valid:
        raise BadRequestError(
            "the update's message needs integer message_id, date (unix time) and chat.id "
            "(and from.id), a string text and a list of entities",
            code="bad_payload",
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _chat_message(update: dict[str, Any]) -> ChatMessage | None:
    """The text message (new or edited) of an Update whose message `_check_message` passed."""
    message = update.get("message") or update.get("edited_message")
    if not isinstance(message, dict) or not isinstance(message.get("text"), str):
        return None
    sender = str(message["from"]["id"]) if message.get("from") else ""
    return ChatMessage("telegram", str(message["chat"]["id"]), message["text"], sender=sender)


def respond(acceptance: Acceptance) -> Response:
    """Answer with the first inline reply as a Bot API method: no outbound call needed."""
    if not acceptance.replies or acceptance.event.message is None:
        return jsonify({})
    reply = acceptance.replies[0]
    return jsonify(send_message_params(acceptance.event.message.address, reply.text, reply.options))
