"""The webhook blueprint: verify, store once, then answer (inline reply) or queue.

One route per route a provider declares (hub.providers). Each names its verifier and
responder by string, imported on the first request to that route, so a Stripe webhook
never loads the Telegram or Google SDKs.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import TYPE_CHECKING

from flask import Blueprint, Request, Response, request
from flask.blueprints import BlueprintSetupState

from hub.errors import HubError, ServiceUnavailableError
from hub.payloads import read_body
from hub.providers import resolve, routes
from hub.services import current_hub

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.events import Event
    from hub.providers import Route

bp = Blueprint("webhooks", __name__)
log = logging.getLogger("hub.webhooks")


def intake(name: str) -> Response:
    """Disabled? 503. Too big? 413. Then verify (4xx, nothing stored), record, answer.

    Nothing is written before the verifier returns an Event, so a rejected request
    leaves no trace in the store and runs no handler.
    """
    route = routes()[name]
    hub = current_hub()
    if not getattr(hub.settings, route.secret_setting.lower()):
        # Fail closed: without its secret a source cannot verify, so it accepts nothing.
        raise ServiceUnavailableError(
            f"this source is disabled: set {route.secret_setting} to accept its webhooks",
            code="source_disabled",
        )
    verify, respond = _code_of(route)
    # The request itself, not the context-local proxy: each `request.x` through the proxy
    # is three more Python calls, and verification reads a dozen of them.
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    try:
        read_body(req)  # the size limit holds before any verifier looks at the body
        event = verify(req, hub.settings)
    except HubError as error:
        # The provider sees the answer; the operator sees this line (never the offered secret).
        log.warning("%s webhook rejected: %s %s: %s", name, error.STATUS_CODE, error.code, error.message)
        raise
    event = event.with_changes(headers=received_headers(req, hub.settings.secret_values()))
    acceptance = hub.accept(event, inline_slots=route.inline_slots)
    return respond(acceptance)


# Header names whose values prove who sent the request (signatures, tokens, cookies):
# stored as present but masked, so the event log never holds a replayable credential.
SECRET_HEADER = re.compile(r"signature|sig$|token|secret|authorization|cookie|api-key|password", re.I)
MASKED = "••••••"
MAX_HEADERS, MAX_HEADER_VALUE = 50, 500


def received_headers(req: Request, secrets: list[str]) -> dict[str, str]:
    """The request's headers as the event's page shows them: secret-bearing ones masked,
    and any configured secret masked wherever else it appears."""
    environ = req.environ
    received = [
        (name, environ[key], secret_name)
        for key, name, secret_name, cgi in _header_plan(tuple(environ))
        if environ[key] or not cgi
    ][:MAX_HEADERS]
    # Which secrets appear at all, looked for once in all the values not masked by name anyway
    # (a secret token's own header holds its secret): usually none, and then no value needs
    # a look of its own.
    everything = "\n".join([value for _, value, secret_name in received if not secret_name])
    present = [secret for secret in secrets if secret in everything]
    kept: dict[str, str] = {}
    for name, value, secret_name in received:
        if secret_name or (present and any(secret in value for secret in present)):
            kept[name] = MASKED
        else:
            kept[name] = value[:MAX_HEADER_VALUE]
    return kept


@functools.lru_cache(maxsize=64)
def _code_of(route: Route) -> tuple[Callable[..., Event], Callable[..., Response]]:
    """The route's verifier and responder, imported by its first request and kept (a route
    hashes by identity, so a swapped registry's routes resolve afresh)."""
    return resolve(route.verify), resolve(route.respond)


def _view(name: str):  # noqa: ANN202 - a Flask view
    def view() -> Response:
        return intake(name)

    view.__name__ = name
    return view


@functools.lru_cache(maxsize=64)
def _header_plan(environ_keys: tuple[str, ...]) -> tuple[tuple[str, str, bool, bool], ...]:
    """Which environ keys are headers, as `request.headers.items()` names them (werkzeug's
    EnvironHeaders: every HTTP_ key, and the two CGI ones when set), in order: (key, name,
    whether the name marks a secret, whether it is a CGI key). Worked out once per set of
    keys: a server builds every request's environ with the same ones."""
    plan = []
    for key in environ_keys:
        if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            name, cgi = key[5:].replace("_", "-").title(), False
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name, cgi = key.replace("_", "-").title(), True
        else:
            continue
        plan.append((key, name, SECRET_HEADER.search(name) is not None, cgi))
    return tuple(plan)


@bp.record
def _declared_routes(state: BlueprintSetupState) -> None:
    """Each app serves the routes the registry declares when it registers this blueprint."""
    for route in routes().values():
        state.add_url_rule(route.path, route.endpoint, _view(route.endpoint), methods=["POST"])
