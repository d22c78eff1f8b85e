"""Twilio: SMS webhook verification, TwiML answers and outbound SMS."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from hub.errors import BadRequestError, ForbiddenError
from hub.events import ChatMessage, Event, body_digest
from hub.payloads import body_text, json_object, require_content_type

if TYPE_CHECKING:
    from flask import Request

    from hub.config import Settings
    from hub.context import Context
    from hub.outbox import CallResult
    from hub.runtime import Acceptance

log = logging.getLogger("hub.twilio")

FORM = "application/x-www-form-urlencoded"
# Characters XML 1.0 cannot carry at all, escaped or not: dropped from replies.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def signed_url(request: Request, settings: Settings) -> str:
    """The URL Twilio signed: HUB_PUBLIC_URL + path + query, else the request's own URL
    rebuilt from X-Forwarded-Proto/-Host (API Gateway and proxies change the host)."""
    query = request.query_string.decode("latin-1")
    suffix = request.path + (f"?{query}" if query else "")
    if settings.hub_public_url:
        base_path = urlsplit(settings.hub_public_url).path.rstrip("/")
        origin = settings.hub_public_url[: len(settings.hub_public_url) - len(base_path)]
        if base_path and request.path.startswith(base_path + "/"):
            return origin + suffix  # the proxy kept the stage prefix in the path
        return settings.hub_public_url + suffix
    proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    return f"{proto}://{host}{request.root_path}{suffix}"


def _verified_params(request: Request, settings: Settings) -> dict[str, Any]:
    """Check X-Twilio-Signature (form bodies, or JSON bodies signed with bodySHA256).

    Twilio signs the URL plus the form parameters, so a form must be parsed to be
    checked; a JSON body is checked by its hash before it is parsed.
    """
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        raise ForbiddenError(
            "the X-Twilio-Signature header is missing; only Twilio may call this URL",
            code="missing_signature",
        )
    require_content_type(request, FORM, "application/json", allow_missing=True)
    url = signed_url(request, settings)
    validator = RequestValidator(settings.twilio_auth_token)
    params: dict[str, Any] = {}
    if request.mimetype == "application/json":
        if "bodySHA256" not in request.args:
            raise ForbiddenError("a JSON body must be signed with bodySHA256", code="bad_signature")
        text = body_text(request)
        valid = validator.validate(url, text, signature)
        if valid:
            params = json_object(text)
    else:
        valid = validator.validate(url, request.form, signature)
        params = request.form.to_dict(flat=True)
    if not valid:
        # The URL goes to the operator's log, not to the caller.
        log.warning("X-Twilio-Signature mismatch; the URL checked was %s", url)
        raise ForbiddenError(
            "the X-Twilio-Signature does not match; check TWILIO_AUTH_TOKEN and that "
            "HUB_PUBLIC_URL is the base of the URL configured in Twilio",
            code="bad_signature",
        )
    return params


def _required(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequestError(f"the request has no {key}", code="bad_payload")
    return value


def verify_sms(request: Request, settings: Settings) -> Event:
    params = _verified_params(request, settings)
    sender = _required(params, "From")
    return Event(
        source="twilio",
        type="sms.received",
        provider_id=_required(params, "MessageSid"),
        payload=params,
        message=ChatMessage("sms", sender, str(params.get("Body", "")), sender=sender),
        body_sha256=body_digest(request.get_data()),
    )


def verify_status(request: Request, settings: Settings) -> Event:
    params = _verified_params(request, settings)
    sid, status = _required(params, "MessageSid"), _required(params, "MessageStatus")
    return Event(
        source="twilio",
        type="sms.status",
        provider_id=f"{sid}:{status}",
        payload=params,
        body_sha256=body_digest(request.get_data()),
    )


def respond_sms(acceptance: Acceptance) -> Response:
    """TwiML: the replies a handler gave inline (escaped by the SDK; never raw XML)."""
    twiml = MessagingResponse()
    for reply in acceptance.replies:
        twiml.message(_XML_ILLEGAL.sub("", reply.text))
    return Response(str(twiml), status=200, mimetype="application/xml")


def respond_status(acceptance: Acceptance) -> Response:
    return Response(status=204)


def send_text(ctx: Context, address: str, text: str, **options: Any) -> CallResult:
    """Send an SMS through the REST client (recorded only, in dry-run)."""
    settings = ctx.settings
    payload = {"to": address, "from_": settings.twilio_from_number, "body": text}

    def send() -> dict[str, Any]:
        from twilio.rest import Client

        client = Client(settings.twilio_account_sid, settings.twilio_auth_token)
        message = client.messages.create(**payload)
        return {"ref": message.sid, "status": message.status}

    return ctx.call("twilio", "messages.create", payload, send)


def signature(url: str, params: dict[str, Any] | str, auth_token: str) -> str:
    """A valid X-Twilio-Signature (for `hub simulate` and tests)."""
    validator = RequestValidator(auth_token)
    if isinstance(params, str):
        return validator.compute_signature(url, {})
    return validator.compute_signature(url, params)
