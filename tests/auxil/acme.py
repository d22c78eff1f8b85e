"""A made-up provider, "acme", declared once: what tests/test_providers.py adds to the
registry to show that a declaration alone puts a provider everywhere."""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING, Any

from flask import Response, jsonify

from hub.errors import ForbiddenError
from hub.events import Event
from hub.providers import Described, DoctorCheck, Header, Provider, Route, Setting, Simulation
from hub.simulate import SignedRequest
from integrations.registry import PROVIDERS as DECLARED

if TYPE_CHECKING:
    from flask import Request

    from hub.config import Settings
    from hub.services import Acceptance, Hub

SECRET_HEADER = "X-Acme-Token"


def verify(request: Request, settings: Settings) -> Event:
    offered = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(offered.encode(), settings.hub_secret_key.encode()):
        raise ForbiddenError("wrong X-Acme-Token", code="bad_token")
    data = json.loads(request.get_data(as_text=True))
    return Event(source="acme", type=data["type"], provider_id=data["id"], payload=data)


def respond(acceptance: Acceptance) -> Response:
    return jsonify(received=True, event_id=acceptance.event.id, duplicate=acceptance.duplicate)


def setup_webhook(
    hub: Hub, base: str, *, stage: str, stages: tuple[str, ...], dry_run: bool
) -> tuple[str, str]:
    return "create", f"{base}/webhooks/acme"


def doctor_probe(hub: Hub) -> str:
    return "acme answers"


def build(
    settings: Settings, type: str, base_url: str, text: str | None, *, fail: int = 0, **options: Any
) -> SignedRequest:
    body = json.dumps({"type": type, "id": options.get("id", "acme-1")}).encode()
    headers = {"Content-Type": "application/json", SECRET_HEADER: settings.hub_secret_key}
    return SignedRequest("/webhooks/acme", body, headers)


ACME = Provider(
    name="acme",
    title="Acme",
    settings=(Setting("HUB_SECRET_KEY", secret=True),),
    routes=(
        Route(
            "/webhooks/acme",
            "acme",
            verify="tests.auxil.acme:verify",
            respond="tests.auxil.acme:respond",
            secret_setting="HUB_SECRET_KEY",
            described=Described("An Acme event.", headers=(Header(SECRET_HEADER),)),
        ),
    ),
    webhook_setup="tests.auxil.acme:setup_webhook",
    doctor=DoctorCheck("tests.auxil.acme:doctor_probe", needs=("HUB_SECRET_KEY",)),
    simulation=Simulation("tests.auxil.acme:build", types=("thing.happened",)),
)
PROVIDERS = (*DECLARED, ACME)
