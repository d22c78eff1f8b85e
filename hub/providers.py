"""The shape of a provider declaration, and the one way hub reaches the registry of them.

A provider (Telegram, Stripe, ...) is declared once, in `integrations/`, as plain data:
its webhook routes, senders, settings, setup step, doctor check and `hub simulate`
samples. Code is named by "module:attribute" strings, imported only when used, so loading
the registry imports no provider module and no SDK (a cold start's acknowledgement stays
cheap). The framework owns this shape; `integrations/registry.py` lists the declarations;
hub reads them through `providers()`, named by string like the default handlers, so
nothing in hub/ imports an integration.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import field
from functools import cache
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from hub.records import frozen_record

REGISTRY = "integrations.registry:PROVIDERS"

# The declarations below are read, never compared, hashed by value or printed: frozen
# records (hub/records.py) spare every cold start the 48 methods Python 3.11 would write
# and compile for them (docs/PERFORMANCE.md). Frozen still; equality is identity.


@frozen_record
class Setting:
    """One setting a provider reads (a `Settings` field, upper-cased; the README documents it)."""

    name: str
    secret: bool = False  # masked wherever it is shown
    optional: bool = False  # the provider works without it (defaults apply)
    shown: bool = True  # on the dashboard's integrations card (tuning knobs are not)


@frozen_record
class Header:
    """A request header /openapi.json documents for a webhook route."""

    name: str
    required: bool = True
    pattern: str = ""


@frozen_record
class Described:
    """What /openapi.json says of a webhook route: plain OpenAPI fragments.

    `body` is the requestBody (None: headers only); `answers` the success responses
    (empty: hub's JSON acknowledgement); `rejects` the provider's own error codes (401,
    403), beside the ones every webhook may answer (400, 413, 415, 503).
    """

    summary: str
    headers: tuple[Header, ...] = ()
    body: Mapping[str, Any] | None = None
    answers: Mapping[str, Any] = field(default_factory=dict)
    rejects: tuple[str, ...] = ()


@frozen_record
class Route:
    """One webhook endpoint, `POST <path>`.

    `verify(request, settings) -> Event` raises a HubError (4xx) for a request it does not
    trust; `respond(acceptance) -> Response` answers the provider. Without its
    `secret_setting` the route accepts nothing (503 source_disabled).
    """

    path: str  # "/webhooks/twilio/sms"
    endpoint: str  # the blueprint's endpoint name, and the name in hub's log lines
    verify: str
    respond: str
    secret_setting: str
    inline_slots: int = 0  # replies that may ride in the HTTP response
    described: Described | None = None


@frozen_record
class Sender:
    """A chat channel hub can tell messages on (`ctx.send_text(channel, ...)`).

    `send(ctx, address, text, **options) -> CallResult`; `refusal` names the exception it
    raises for a message the provider refuses for good (retrying cannot help);
    `option_checks` name, per send option, a check that fails the handler's run at once
    (a malformed keyboard) instead of a delivery that can never be sent.
    """

    channel: str
    send: str
    refusal: str = ""
    option_checks: Mapping[str, str] = field(default_factory=dict)


@frozen_record
class DoctorCheck:
    """`hub doctor`'s probe: `probe(hub) -> str` says what answered; raising is the finding.
    Without every setting in `needs` the provider is reported disabled, not probed."""

    probe: str
    needs: tuple[str, ...]


@frozen_record
class Simulation:
    """`hub simulate <name> <type>`: a correctly signed sample request.

    `build(settings, type, base_url, text, *, fail) -> SignedRequest` (hub.simulate); the
    types are the sample files in hub/samples/<name>/, or `types` when given (a push that
    has no body). `failable`: the request has a body that can carry `--fail`.
    """

    build: str
    types: tuple[str, ...] = ()
    failable: bool = True


@frozen_record
class Provider:
    """Everything hub knows of one provider; see docs/ARCHITECTURE.md, "Adding a provider"."""

    name: str  # the event source: "stripe"
    title: str  # as the dashboard says it: "Stripe"
    settings: tuple[Setting, ...]
    routes: tuple[Route, ...] = ()
    senders: tuple[Sender, ...] = ()
    # `step(hub, base_url, *, stage, stages, dry_run) -> (action, detail)` for setup-webhooks;
    # it reads the provider's current setting first and changes only what differs.
    webhook_setup: str = ""
    doctor: DoctorCheck | None = None
    simulation: Simulation | None = None

    def references(self) -> list[str]:
        """Every "module:attribute" this declaration names (each must resolve)."""
        found = [ref for route in self.routes for ref in (route.verify, route.respond)]
        for sender in self.senders:
            found += [
                sender.send,
                *([sender.refusal] if sender.refusal else []),
                *sender.option_checks.values(),
            ]
        found += [self.webhook_setup] if self.webhook_setup else []
        found += [self.doctor.probe] if self.doctor else []
        found += [self.simulation.build] if self.simulation else []
        return found

    def needs(self) -> list[str]:
        """The settings a live deployment of this provider cannot do without."""
        return [s.name for s in self.settings if s.shown and not s.optional]


def resolve(reference: str) -> Any:
    """The object a "module:attribute" string names, importing its module now."""
    module, _, attribute = reference.partition(":")
    if not module or not attribute:
        raise ValueError(f"{reference!r} is not a 'module:attribute' reference")
    return getattr(importlib.import_module(module), attribute)


@cache
def providers() -> tuple[Provider, ...]:
    """Every declared provider, in the registry's order (read once per process)."""
    return tuple(resolve(REGISTRY))


def provider(name: str) -> Provider:
    for declared in providers():
        if declared.name == name:
            return declared
    raise LookupError(f"unknown provider {name!r}; known: {', '.join(p.name for p in providers())}")


def routes() -> Mapping[str, Route]:
    """Every webhook route by its endpoint name (read-only, shared: asked on every webhook)."""
    return _indexes(providers())[0]


def senders() -> Mapping[str, Sender]:
    """Every chat channel's sender by channel (read-only, shared)."""
    return _indexes(providers())[1]


_indexed: list[tuple[tuple[Provider, ...], Mapping[str, Route], Mapping[str, Sender]]] = []


def _indexes(declared: tuple[Provider, ...]) -> tuple[Mapping[str, Route], Mapping[str, Sender]]:
    """The registry's routes and senders by name, built once per registry (`providers()`
    is cached; a test that swaps the registry gets new indexes)."""
    if not _indexed or _indexed[0][0] is not declared:
        by_endpoint = {route.endpoint: route for p in declared for route in p.routes}
        by_channel = {sender.channel: sender for p in declared for sender in p.senders}
        _indexed[:] = [(declared, MappingProxyType(by_endpoint), MappingProxyType(by_channel))]
    _, by_endpoint, by_channel = _indexed[0]
    return by_endpoint, by_channel


class StageMismatchError(Exception):
    """setup-webhooks refused: the URL or the bot belongs to another stage."""


def stage_of(url: str, stages: tuple[str, ...]) -> str:
    """The stage an API Gateway URL names in its first path segment ('' for custom domains)."""
    first = urlsplit(url).path.strip("/").split("/", 1)[0]
    return first if first in stages else ""
