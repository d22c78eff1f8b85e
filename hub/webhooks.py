"""The webhook blueprint: verify, store once, then answer (inline reply) or queue.

One route per route a provider declares (hub.providers). Each names its verifier and
responder by string, imported on the first request to that route, so a Stripe webhook
never loads the Telegram or Google SDKs.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import TYPE_CHECKING, Any

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
    received = _headers_of(req.environ)[:MAX_HEADERS]
    # Which secrets appear at all, looked for once in all the values not masked by name anyway
    # (a secret token's own header holds its secret): usually none, and then no value needs
    # a look of its own.
    everything = "\n".join([value for name, value in received if not _names_a_secret(name)])
    present = [secret for secret in secrets if secret in everything]
    kept: dict[str, str] = {}
    for name, value in received:
        if _names_a_secret(name) or (present and any(secret in value for secret in present)):
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


def _headers_of(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's headers as `request.headers.items()` gives them (werkzeug's
    EnvironHeaders: every HTTP_ key, and the two CGI ones when set), each name translated once."""
    found = []
    for key, value in environ.items():
        name, cgi = _header_name(key)
        if name and (value or not cgi):
            found.append((name, value))
    return found


@functools.lru_cache(maxsize=1024)
def _header_name(environ_key: str) -> tuple[str, bool]:
    """("Content-Type", True) for a CGI key, ("X-Foo", False) for HTTP_X_FOO, ("", False) else."""
    if environ_key.startswith("HTTP_") and environ_key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        return environ_key[5:].replace("_", "-").title(), False
    if environ_key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return environ_key.replace("_", "-").title(), True
    return "", False


@functools.lru_cache(maxsize=512)
def _names_a_secret(header: str) -> bool:
    """`SECRET_HEADER`'s verdict, kept: a provider sends the same few names every time."""
    return SECRET_HEADER.search(header) is not None


@bp.record
def _declared_routes(state: BlueprintSetupState) -> None:
    """Each app serves the routes the registry declares when it registers this blueprint."""
    for route in routes().values():
        state.add_url_rule(route.path, route.endpoint, _view(route.endpoint), methods=["POST"])
