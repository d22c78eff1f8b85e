"""The webhook blueprint: verify, store once, then answer (inline reply) or queue.

Each source names its integration module by string, imported on the first request
to that route, so a Stripe webhook never loads the Telegram or Google SDKs.
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
from dataclasses import dataclass

from flask import Blueprint, Request, Response, request

from hub.errors import HubError, ServiceUnavailableError
from hub.payloads import read_body
from hub.services import current_hub

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger("hub.webhooks")


@dataclass(frozen=True)
class Intake:
    """How one endpoint turns a request into an Event and answers."""

    module: str
    verify: str
    respond: str
    secret_variable: str
    inline_slots: int = 0  # replies that may ride in the HTTP response


INTAKES = {
    "telegram": Intake("integrations.telegram", "verify", "respond", "TELEGRAM_WEBHOOK_SECRET", 1),
    "stripe": Intake("integrations.stripe", "verify", "respond", "STRIPE_WEBHOOK_SECRET"),
    "paypal": Intake("integrations.paypal", "verify", "respond", "PAYPAL_WEBHOOK_ID"),
    "twilio_sms": Intake("integrations.twilio", "verify_sms", "respond_sms", "TWILIO_AUTH_TOKEN", 5),
    "twilio_status": Intake("integrations.twilio", "verify_status", "respond_status", "TWILIO_AUTH_TOKEN"),
    "google_calendar": Intake("integrations.google", "verify_calendar", "respond", "GOOGLE_CHANNEL_TOKEN"),
}


def intake(name: str) -> Response:
    """Disabled? 503. Too big? 413. Then verify (4xx, nothing stored), record, answer.

    Nothing is written before the verifier returns an Event, so a rejected request
    leaves no trace in the store and runs no handler.
    """
    spec = INTAKES[name]
    hub = current_hub()
    if not getattr(hub.settings, spec.secret_variable.lower()):
        # Fail closed: without its secret a source cannot verify, so it accepts nothing.
        raise ServiceUnavailableError(
            f"this source is disabled: set {spec.secret_variable} to accept its webhooks",
            code="source_disabled",
        )
    module = importlib.import_module(spec.module)
    try:
        read_body(request)  # the size limit holds before any verifier looks at the body
        event = getattr(module, spec.verify)(request, hub.settings)
    except HubError as error:
        # The provider sees the answer; the operator sees this line (never the offered secret).
        log.warning("%s webhook rejected: %s %s: %s", name, error.STATUS_CODE, error.code, error.message)
        raise
    event = event.with_changes(headers=received_headers(request, hub.settings.secret_values()))
    acceptance = hub.accept(event, inline_slots=spec.inline_slots)
    return getattr(module, spec.respond)(acceptance)


# Header names whose values prove who sent the request (signatures, tokens, cookies):
# stored as present but masked, so the event log never holds a replayable credential.
SECRET_HEADER = re.compile(r"signature|sig$|token|secret|authorization|cookie|api-key|password", re.I)
MASKED = "••••••"
MAX_HEADERS, MAX_HEADER_VALUE = 50, 500


def received_headers(req: Request, secrets: list[str]) -> dict[str, str]:
    """The request's headers as the event's page shows them: secret-bearing ones masked,
    and any configured secret masked wherever else it appears."""
    kept: dict[str, str] = {}
    for name, value in list(req.headers.items())[:MAX_HEADERS]:
        if _names_a_secret(name) or any(secret in value for secret in secrets):
            kept[name] = MASKED
        else:
            kept[name] = value[:MAX_HEADER_VALUE]
    return kept


@functools.lru_cache(maxsize=512)
def _names_a_secret(header: str) -> bool:
    """`SECRET_HEADER`'s verdict, kept: a provider sends the same few names every time."""
    return SECRET_HEADER.search(header) is not None


@bp.post("/telegram")
def telegram() -> Response:
    return intake("telegram")


@bp.post("/stripe")
def stripe() -> Response:
    return intake("stripe")


@bp.post("/paypal")
def paypal() -> Response:
    return intake("paypal")


@bp.post("/twilio/sms")
def twilio_sms() -> Response:
    return intake("twilio_sms")


@bp.post("/twilio/status")
def twilio_status() -> Response:
    return intake("twilio_status")


@bp.post("/google/calendar")
def google_calendar() -> Response:
    return intake("google_calendar")
