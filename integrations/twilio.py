"""Twilio: SMS webhook verification, TwiML answers and outbound SMS."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from hub.errors import ForbiddenError
from hub.events import ChatMessage, Event, body_digest
from hub.payloads import body_text, json_object, read_body, require_content_type, required_str

if TYPE_CHECKING:
    from flask import Request

    from hub.config import Settings
    from hub.context import Context
    from hub.outbox import CallResult
    from hub.services import Acceptance, Hub

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
    url = f"{proto}://{host}{request.root_path}{suffix}"
    try:
        urlsplit(url)  # the validator parses it too, and a stray "[" would raise there
    except ValueError:
        raise ForbiddenError(
            "the forwarded host does not make a URL Twilio could have signed", code="bad_signature"
        ) from None
    return url


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


def verify_sms(request: Request, settings: Settings) -> Event:
    params = _verified_params(request, settings)
    sender = required_str(params, "From")
    return Event(
        source="twilio",
        type="sms.received",
        provider_id=required_str(params, "MessageSid"),
        payload=params,
        message=ChatMessage("sms", sender, str(params.get("Body", "")), sender=sender),
        body_sha256=body_digest(read_body(request)),
    )


def verify_status(request: Request, settings: Settings) -> Event:
    params = _verified_params(request, settings)
    sid, status = required_str(params, "MessageSid"), required_str(params, "MessageStatus")
    return Event(
        source="twilio",
        type="sms.status",
        provider_id=f"{sid}:{status}",
        payload=params,
        body_sha256=body_digest(read_body(request)),
    )


def respond_sms(acceptance: Acceptance) -> Response:
    """TwiML: the replies a handler gave inline (escaped by the SDK; never raw XML)."""
    twiml = MessagingResponse()
    for reply in acceptance.replies:
        twiml.message(_XML_ILLEGAL.sub("", reply.text))
    return Response(str(twiml), status=200, mimetype="application/xml")


def respond_status(acceptance: Acceptance) -> Response:
    return Response(status=204)


# -- outbound SMS ---------------------------------------------------------------------------------

TIMEOUT_SECONDS = 10
OPTOUT_NAMESPACE = "sms_optout"
SUPPRESSED = "suppressed"
UNSUBSCRIBED_ERROR = 21610  # Twilio: "Attempt to send to unsubscribed recipient"


class SmsRejected(Exception):
    """Twilio refused this message for good (bad number, opted out, ...): retrying cannot help."""

    def __init__(self, reason: str, *, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def rest_client(settings: Settings, *, timeout: float = TIMEOUT_SECONDS) -> Any:
    """A REST client per call, from settings (never from the process environment); its
    HTTP timeout is shortened to what a delivery run has left (`Context.send_timeout`)."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    return Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=TwilioHttpClient(timeout=timeout),
        # Settings are the only source; the SDK falls back to os.environ (TWILIO_EDGE,
        # TWILIO_REGION) for any empty mapping, so it gets one that is not empty.
        environment={"HUB_SETTINGS_ONLY": "1"},
    )


def is_opted_out(ctx: Context, address: str) -> bool:
    return bool((ctx.store.kv_get(OPTOUT_NAMESPACE, address) or {}).get("opted_out"))


def send_text(ctx: Context, address: str, text: str, **options: Any) -> CallResult:
    """Send an SMS through the REST client (recorded only, in dry-run).

    A number that texted STOP is not contacted: the call is recorded as `suppressed`.
    Twilio 5xx, 429 and network errors raise as they are, so the hub retries the event;
    a refusal that retrying cannot fix (4xx: invalid number, unsubscribed) raises
    `SmsRejected`. Either way the outbox records the failure.
    """
    from hub.outbox import CallResult

    settings = ctx.settings
    payload: dict[str, Any] = {"to": address, "from_": settings.twilio_from_number, "body": text}
    if settings.hub_public_url:  # delivery reports come back to /webhooks/twilio/status
        payload["status_callback"] = f"{settings.hub_public_url}/webhooks/twilio/status"
    if is_opted_out(ctx, address):
        entry = ctx.store.add_outbox(
            "twilio",
            "messages.create",
            payload,
            event_id=ctx.event.id,
            status=SUPPRESSED,
            detail="the recipient texted STOP",
        )
        return CallResult(entry, {}, reused=False)

    def send() -> dict[str, Any]:
        from twilio.base.exceptions import TwilioRestException

        if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number):
            raise SmsRejected(
                "SMS is not set up: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER"
            )
        try:
            client = rest_client(settings, timeout=ctx.send_timeout(TIMEOUT_SECONDS))
            message = client.messages.create(**payload)
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise  # Twilio's trouble, not ours: the hub retries the event with backoff
            if exc.code == UNSUBSCRIBED_ERROR:
                record_optout(ctx, address, opted_out=True, via="twilio-21610")
            said = exc.msg.removeprefix("Unable to create record: ")  # the SDK's own preface
            raise SmsRejected(
                f"Twilio refused the SMS to {address}: {said} (error {exc.code})", code=exc.code
            ) from None
        return {"ref": message.sid, "status": message.status}

    return ctx.call("twilio", "messages.create", payload, send)


def record_optout(ctx: Context, address: str, *, opted_out: bool, via: str) -> None:
    """Remember that `address` opted out (STOP) or back in (START)."""
    ctx.store.kv_put(
        OPTOUT_NAMESPACE, address, {"opted_out": opted_out, "via": via, "at": ctx.event.received_at}
    )


def signature(url: str, params: dict[str, Any] | str, auth_token: str) -> str:
    """A valid X-Twilio-Signature (for `hub simulate` and tests)."""
    validator = RequestValidator(auth_token)
    if isinstance(params, str):
        return validator.compute_signature(url, {})
    return validator.compute_signature(url, params)


# -- webhook registration (hub setup-webhooks)


def _rest(settings: Settings):  # noqa: ANN202
    from twilio.rest import Client

    return Client(settings.twilio_account_sid, settings.twilio_auth_token)


def number_webhooks(settings: Settings) -> dict[str, str] | None:
    """The sender number's sid and SMS URL, or None when the account does not own it."""
    numbers = _rest(settings).incoming_phone_numbers.list(phone_number=settings.twilio_from_number, limit=1)
    if not numbers:
        return None
    number = numbers[0]
    return {"sid": number.sid, "sms_url": number.sms_url or "", "sms_method": number.sms_method or ""}


def set_number_webhooks(settings: Settings, number_sid: str, sms_url: str) -> None:
    _rest(settings).incoming_phone_numbers(number_sid).update(sms_url=sms_url, sms_method="POST")


def account_status(settings: Settings) -> str:
    """The account's status ("active"), proving the credentials work (for `hub doctor`)."""
    return _rest(settings).api.v2010.accounts(settings.twilio_account_sid).fetch().status


# -- the registry's setup-webhooks step and doctor probe (integrations/twilio_provider.py)


def setup_webhook(
    hub: Hub, base: str, *, stage: str, stages: tuple[str, ...], dry_run: bool
) -> tuple[str, str]:
    """The sender number's SMS webhook; delivery receipts are asked for per message."""
    settings = hub.settings
    if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number):
        return "skipped", "TWILIO_ACCOUNT_SID, _AUTH_TOKEN or _FROM_NUMBER is not set"
    target = f"{base}/webhooks/twilio/sms"
    number = number_webhooks(settings)
    if number is None:
        return "refused", f"the account does not own {settings.twilio_from_number}"
    note = f"; delivery receipts: pass status_callback={base}/webhooks/twilio/status when sending"
    if number["sms_url"] == target and number["sms_method"].upper() == "POST":
        return "unchanged", f"{settings.twilio_from_number} SMS -> {target}{note}"
    if not dry_run:
        set_number_webhooks(settings, number["sid"], target)
    was = number["sms_url"] or "unset"
    return "update", f"{settings.twilio_from_number} SMS -> {target} (was {was}){note}"


def doctor_probe(hub: Hub) -> str:
    return f"account {account_status(hub.settings)}"
