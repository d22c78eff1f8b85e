"""The application factory."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from hub import __version__
from hub.cache import LazyCache
from hub.config import Settings, load_settings
from hub.devsecrets import with_dev_secrets
from hub.errors import HubError, StoreUnavailableError
from hub.logs import configure_logging
from hub.outbox import Outbox
from hub.providers import providers
from hub.router import Router
from hub.services import Hub, hub_of
from hub.store import Store, open_store
from hub.strict_json import StrictJSONProvider
from hub.tasks import TaskQueue
from hub.url_rules import LazyBuilderRule

log = logging.getLogger("hub")

MAX_BODY_BYTES = 1024 * 1024
DEFAULT_HANDLERS = "handlers"


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    router: Router | None = None,
    transports: Mapping[str, Callable[[], Any]] | None = None,
) -> Flask:
    """Build the hub. Keys in `config` override environment variables of the same name.

    `router` replaces the default one (the `handlers` package) - for tests and embedding.
    `transports` replaces an integration's connection factory, by integration name
    ({"google": factory of httplib2-style connections}) - for tests at the wire.
    """
    config = dict(config or {})
    environ = _environment()
    instance_path = config.get("HUB_INSTANCE_PATH") or environ.get("HUB_INSTANCE_PATH")
    app = Flask("hub", instance_path=str(Path(instance_path).resolve()) if instance_path else None)
    app.url_rule_class = LazyBuilderRule  # url_for's builders compiled when first used (hub/url_rules.py)
    app.json = StrictJSONProvider(app)
    settings = with_dev_secrets(load_settings(config, app.instance_path, environ))
    on_lambda = bool(environ.get("AWS_LAMBDA_FUNCTION_NAME"))
    configure_logging(settings.secret_values(), json_lines=on_lambda)

    app.config.update(
        SECRET_KEY=settings.hub_secret_key or None,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        HUB_SETTINGS=settings,
        HUB_ON_LAMBDA=on_lambda,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.hub_public_url.startswith("https://"),
    )
    cache = LazyCache(app, lambda: _cache_config(settings))  # built by its first use (hub/cache.py)
    store = open_store(settings)
    hub = Hub(
        settings=settings,
        store=store,
        cache=cache,
        router=router or _default_router(),
        outbox=Outbox(store, dry_run=settings.hub_dry_run),
        tasks=TaskQueue(app, settings.hub_tasks),
        transports=dict(transports or {}),
    )
    app.extensions["hub"] = hub

    from hub.admin.mount import mount_admin
    from hub.health import bp as health
    from hub.observability import init_sentry, report_failure
    from hub.openapi import bp as openapi
    from hub.webhooks import bp as webhooks

    app.register_blueprint(webhooks)
    app.register_blueprint(health)
    if init_sentry(app, settings, transport=config.get("SENTRY_TRANSPORT")):
        hub.failure_reporters.append(report_failure)
    app.register_blueprint(openapi)
    # The dashboard, its API and the playground: built by the first /admin request (a
    # webhook's cold start never imports them; hub/admin/mount.py).
    mount_admin(app, lambda app: _admin_part(app, store))
    _register_error_handlers(app, store)
    return app


def _admin_part(app: Flask, store: Store) -> Flask:
    from hub.admin.api import bp as admin_api
    from hub.admin.auth import AdminSessions
    from hub.admin.auth import bp as admin_auth
    from hub.admin.dashboard import bp as admin_dashboard
    from hub.admin.deliveries_api import bp as admin_deliveries_api
    from hub.admin.mount import part_of
    from hub.playground import bp as playground

    part = part_of(app)
    part.session_interface = AdminSessions()
    for blueprint in (admin_api, admin_deliveries_api, admin_auth, admin_dashboard, playground):
        part.register_blueprint(blueprint)
    _register_error_handlers(part, store)
    return part


def _environment() -> dict[str, str]:
    """The process environment over a `.env` file in the working directory, as Flask reads it."""
    dotenv = Path.cwd() / ".env"
    if not dotenv.is_file():
        return dict(os.environ)
    from dotenv import dotenv_values  # only when there is a file to read (saves ~8 ms at start)

    values = {k: v for k, v in dotenv_values(dotenv).items() if v is not None}
    return {**values, **os.environ}


def _default_router() -> Router:
    import importlib

    return importlib.import_module(DEFAULT_HANDLERS).router


def _cache_config(settings: Settings) -> dict[str, Any]:
    if settings.redis_url:
        from hub.store.redis_client import connect

        # Flask-Caching's RedisCache over hub's own client: one server or a cluster, as the
        # node says, made on first use (its RedisClusterCache would connect here, and an
        # app whose Redis is down at start would fail instead of answering 503).
        client = connect(settings.redis_url, cluster=settings.hub_redis_cluster, decode_responses=False)
        return {
            "CACHE_TYPE": "hub.cache_redis.RedisCache",  # Flask-Caching's, without `import redis`
            "CACHE_REDIS_HOST": client,
            "CACHE_KEY_PREFIX": settings.hub_redis_prefix + "cache:",
            "CACHE_DEFAULT_TIMEOUT": 600,
        }
    return {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 600}


def _register_error_handlers(app: Flask, store: Store) -> None:
    @app.errorhandler(HubError)
    def hub_error(error: HubError) -> tuple[Response, int]:
        return jsonify(error.to_dict()), error.STATUS_CODE, error.headers()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        response = jsonify(error=code, message=error.description or error.name)
        # Keep what the error says in headers (a 405's Allow, a 401's WWW-Authenticate).
        response.headers.extend((k, v) for k, v in error.get_headers() if k.lower() != "content-type")
        return response, error.code or 500

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        # Asked here, not registered per class at start: which errors mean "store down"
        # grows when redis-py is first loaded (hub.store.redis_client.unavailable_errors).
        if isinstance(error, store.unavailable_errors):
            log.error("store unreachable: %s", type(error).__name__)
            down = StoreUnavailableError("the event store is unreachable; deliver again later")
            return jsonify(down.to_dict()), down.STATUS_CODE
        log.exception("unexpected error")
        return jsonify(error="internal_error", message="hub failed unexpectedly; see its log"), 500


def announce(app: Flask) -> None:
    """One clear line per disabled provider, instead of a failure later.

    Said by what starts serving (`hub.wsgi`, `hub serve`), not by `create_app`: a command
    that only reads (`hub events`, `hub --help`) has nothing to announce.
    """
    settings = hub_of(app).settings
    if settings.dev_secrets:
        log.info("development secrets in use for: %s", ", ".join(settings.dev_secrets))
    if settings.hub_dry_run:
        log.info("dry-run: outbound calls are recorded in the outbox, not sent")
        return
    for provider in providers():  # what each declares a live deployment needs
        missing = [n for n in provider.needs() if not getattr(settings, n.lower())]
        if missing:
            log.warning("%s disabled: set %s to enable it", provider.name, ", ".join(missing))


__all__ = ["announce", "create_app", "hub_of", "__version__"]
