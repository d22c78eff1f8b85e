"""The operator's pages and API as a part of the app built on the first request under /admin.

A cold start that answers a webhook never serves an admin page, yet importing the admin
modules (the dashboard, its API, the playground and `hub.simulate`) and registering their
~25 routes was part of every start (docs/PERFORMANCE.md). So they live in a second Flask
app, the admin part, which the app's WSGI entry hands every `/admin` and `/admin/...`
request to, and which is built on the first of them. Flask cannot add routes to an app
once it has served a request, hence a second app rather than late registration.

The part shares the app's configuration, extensions (the `Hub`), teardown functions and
static files, and has the same JSON, error handling and URL rules; within it `url_for`
builds every admin URL, as its templates need. `rules(app)` lists both apps' routes
(what /openapi.json documents). `main_app()` is the app the part belongs to: the
playground sends its webhooks there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from flask.sessions import SecureCookieSessionInterface

if TYPE_CHECKING:
    from flask import Request
    from flask.sessions import SecureCookieSession
    from werkzeug.routing import Rule

PREFIX = "/admin"
MAIN_APP = "hub.main_app"  # the key, in the shared extensions, of the app the part belongs to


def is_admin_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class NoSessions(SecureCookieSessionInterface):
    """The app's own: outside /admin nothing has a session (no cookie read on a webhook)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        return self.make_null_session(app)


class AdminMount:
    """The app's `wsgi_app`: /admin requests to the admin part (built by the first), the
    rest to the app itself."""

    def __init__(self, app: Flask, build: Callable[[Flask], Flask]) -> None:
        self.app_wsgi = app.wsgi_app
        self._app = app
        self._build = build
        self._part: Flask | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._part is not None

    def part(self) -> Flask:
        if self._part is None:
            with self._lock:  # two first requests at once build it once
                if self._part is None:
                    self._part = self._build(self._app)
        return self._part

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if is_admin_path(environ.get("PATH_INFO", "")):
            return self.part().wsgi_app(environ, start_response)
        return self.app_wsgi(environ, start_response)


def mount_admin(app: Flask, build: Callable[[Flask], Flask]) -> None:
    """Hand /admin to the part `build(app)` makes on first use."""
    app.extensions[MAIN_APP] = app
    app.session_interface = NoSessions()
    app.wsgi_app = AdminMount(app, build)  # type: ignore[method-assign]


def admin_part(app: Flask) -> Flask:
    """The admin part of `app` (built now if no request has built it yet)."""
    return app.wsgi_app.part()  # type: ignore[attr-defined]


def part_of(app: Flask) -> Flask:
    """A new, empty admin part sharing what `app` has: configuration, extensions, teardowns."""
    part = Flask(app.import_name, instance_path=app.instance_path)
    part.url_rule_class = app.url_rule_class
    part.json = type(app.json)(part)
    part.config = app.config  # one configuration: TESTING, SECRET_KEY, HUB_SETTINGS, ...
    part.extensions = app.extensions
    part.teardown_appcontext_funcs = app.teardown_appcontext_funcs  # e.g. Sentry's flush on Lambda
    return part


def rules(app: Flask) -> Iterator[Rule]:
    """Every route `app` serves: its own and its admin part's (the part built if need be)."""
    yield from app.url_map.iter_rules()
    yield from (r for r in admin_part(app).url_map.iter_rules() if r.endpoint != "static")


def main_app() -> Flask:
    """The app the current request's app belongs to (itself, if it is no admin part)."""
    return current_app.extensions.get(MAIN_APP) or current_app._get_current_object()  # type: ignore[attr-defined]
