"""Sentry: a transaction per webhook, spans per handler run and outbound call, scrubbed reports.

Nothing happens unless `SENTRY_DSN` is set: every helper here is a cheap no-op then, so
the worker and the outbox can call them unconditionally.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

from flask import has_request_context

from hub.logs import scrub_text

if TYPE_CHECKING:
    from flask import Flask

    from hub.config import Settings
    from hub.events import Event

log = logging.getLogger("hub.observability")

F = TypeVar("F", bound=Callable[..., Any])

# Keys whose values are dropped whatever they hold (Sentry's own denylist catches more).
SENSITIVE_KEYS = (
    "token",
    "secret",
    "password",
    "passwd",
    "api_key",
    "apikey",
    "authorization",
    "signature",
    "cookie",
    "dsn",
    "private_key",
    "csrf",
    "session",
)
FILTERED = "[Filtered]"
# Identifiers Sentry needs intact; none can hold a secret.
_KEEP = frozenset({"trace_id", "span_id", "parent_span_id", "event_id", "sid", "release"})
FLUSH_TIMEOUT_SECONDS = 2.0


def sentry_enabled() -> bool:
    # sentry_sdk costs ~100 ms to import: it is loaded only by `init_sentry` (SENTRY_DSN set),
    # and a client can only be active once something has imported and initialised it.
    sdk = sys.modules.get("sentry_sdk")
    return sdk is not None and sdk.get_client().is_active()


def _sdk() -> Any:
    """The sentry_sdk module; only called once `sentry_enabled()` said yes."""
    import sentry_sdk

    return sentry_sdk


def init_sentry(app: Flask, settings: Settings, *, transport: Any = None) -> bool:
    """Start Sentry for `app` when `SENTRY_DSN` is set; True if it did (the caller then adds
    `report_failure` to the hub's failure reporters).

    `transport` replaces Sentry's HTTP transport (tests pass an in-memory one).
    """
    if not settings.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    running = _running_scrubber(sentry_sdk.get_client())
    if running is not None:
        # Sentry has one client per process: a second app joins it rather than replacing
        # it with a scrubber that knows only the second app's secrets.
        if sentry_sdk.get_client().dsn != settings.sentry_dsn:
            log.warning("Sentry already reports to another SENTRY_DSN in this process; keeping it")
        running.add(settings.secret_values())
        _flush_on_lambda(app)
        return True
    scrubber = Scrubber(settings.secret_values())
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        integrations=[FlaskIntegration(), LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
        traces_sample_rate=settings.sentry_traces_sample_rate,
        # send_default_pii stays unset: off by default, and naming it is deprecated in newer SDKs.
        before_send=scrubber.before_send,
        before_send_transaction=scrubber.before_send,
        before_breadcrumb=scrubber.before_breadcrumb,
        transport=transport,
        environment="lambda" if app.config.get("HUB_ON_LAMBDA") else "local",
    )
    _flush_on_lambda(app)
    return True


def _running_scrubber(client: Any) -> Scrubber | None:
    """The Scrubber of the process's active Sentry client, if hub started it."""
    hook = client.options.get("before_send") if client.is_active() else None
    owner = getattr(hook, "__self__", None)
    return owner if isinstance(owner, Scrubber) else None


def _flush_on_lambda(app: Flask) -> None:
    if app.config.get("HUB_ON_LAMBDA"):
        # The function freezes right after answering: send what is queued first.
        app.teardown_appcontext(lambda _exc: flush())


def flush(timeout: float = FLUSH_TIMEOUT_SECONDS) -> None:
    """Send queued reports now (call at the end of a Lambda invocation)."""
    if sentry_enabled():
        _sdk().flush(timeout=timeout)


def _event_tags(event: Event) -> dict[str, str]:
    return {"source": event.source, "event_type": event.type, "event_id": event.id}


def report_failure(event: Event, exc: BaseException) -> None:
    """A `Hub.failure_reporters` entry: one Sentry issue report per failed attempt."""
    if not sentry_enabled():
        return
    sentry_sdk = _sdk()
    with sentry_sdk.new_scope() as scope:
        for key, value in _event_tags(event).items():
            scope.set_tag(key, value)
        scope.set_context("hub_event", {"attempts": event.attempts, "provider_id": event.provider_id})
        sentry_sdk.capture_exception(exc)


def handler_span(event: Event) -> AbstractContextManager[None]:
    """A span around one handler run; its own transaction when no webhook request is traced."""
    if not sentry_enabled():
        return _NO_SPAN  # no generator-based context manager to make and step through
    return _traced_handler(event)


_NO_SPAN = nullcontext()


@contextmanager
def _traced_handler(event: Event) -> Iterator[None]:
    sentry_sdk = _sdk()
    name = f"{event.source}/{event.type}"
    tags = _event_tags(event)
    if not has_request_context():  # a queued run: its own transaction, its own scope
        with sentry_sdk.isolation_scope():
            for key, value in tags.items():
                sentry_sdk.set_tag(key, value)
            with sentry_sdk.start_transaction(op="hub.task", name=name), _span("hub.handler", name, tags):
                yield
        return
    for key, value in tags.items():
        sentry_sdk.set_tag(key, value)  # the request's scope: its transaction and errors get them
    with _span("hub.handler", name, tags):
        yield


@contextmanager
def _span(op: str, name: str, tags: Mapping[str, str]) -> Iterator[None]:
    with _sdk().start_span(op=op, name=name) as span:
        for key, value in tags.items():
            span.set_tag(key, value)
        yield


def traced_call(method: F) -> F:
    """Wrap `Outbox.call(self, integration, action, ...)` in an `hub.outbound` span."""

    @functools.wraps(method)
    def wrapper(self: Any, integration: str, action: str, *args: Any, **kwargs: Any) -> Any:
        if not sentry_enabled():
            return method(self, integration, action, *args, **kwargs)
        with _sdk().start_span(op="hub.outbound", name=f"{integration}.{action}") as span:
            span.set_data("dry_run", bool(getattr(self, "dry_run", False)))
            if kwargs.get("event_id"):
                span.set_tag("event_id", kwargs["event_id"])
            return method(self, integration, action, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Scrubber:
    """`before_send` / `before_breadcrumb`: configured secrets, secret-like keys, tokens,
    API keys, signing secrets, phone numbers and e-mail addresses leave nothing behind."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: list[str]) -> None:
        """Scrub these too (another app in the process); longest first, as one may hold another."""
        self.secrets = sorted({*self.secrets, *(s for s in secrets if s)}, key=len, reverse=True)

    def before_send(self, event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        if event.get("logger") == "hub.events" and event.get("level") in ("error", "fatal"):
            return None  # type: ignore[return-value]  # failures are reported once, by report_failure
        return self.clean(event)

    def before_breadcrumb(self, crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        return self.clean(crumb)

    def clean(self, value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            return value if key in _KEEP else scrub_text(value, self.secrets)
        if isinstance(value, dict):
            return {k: FILTERED if _sensitive_key(k) else self.clean(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            cleaned = [self.clean(v, key) for v in value]
            return cleaned if isinstance(value, list) else tuple(cleaned)
        return value


def _sensitive_key(key: Any) -> bool:
    lowered = str(key).lower().replace("-", "_")
    return any(word in lowered for word in SENSITIVE_KEYS)
