"""Admin authentication: a bearer token, or a login that puts the token's proof in a session.

`Authorization: Bearer <HUB_ADMIN_TOKEN>` (scripts, the CLI) or the signed session cookie
set by the login form (the dashboard in a browser). Cookie-authenticated requests that
change something must also carry the session's CSRF token; bearer requests need none,
since a browser never adds that header by itself.

Sessions can be ended on the server: each carries the generation it was issued in, kept
in the store (shared by every process and Lambda instance). Logout and a new admin token
start a new generation, so every older session, and any copy of its cookie, is refused.
Wrong tokens are counted per client in the store: after `MAX_TOKEN_FAILURES` in a window,
that client gets 429 (Retry-After) until the window closes; other clients are unaffected.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from hub.config import Settings
from hub.errors import ForbiddenError, TooManyRequestsError, UnauthorizedError
from hub.store import Store

bp = Blueprint("admin_auth", __name__, url_prefix="/admin")

SESSION_KEY = "hub_admin"
CSRF_KEY = "hub_csrf"
ISSUED_KEY = "hub_issued"
GENERATION_KEY = "hub_generation"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE_SECONDS = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# In the store's small keyed state: {"generation": n, "token": fingerprint of the token}.
SESSIONS_NAMESPACE, SESSIONS_KEY = "admin", "sessions"
THROTTLE_NAMESPACE = "admin-token-failures"
MAX_TOKEN_FAILURES = 10
THROTTLE_WINDOW_SECONDS = 600
# `next` after login: a path inside /admin, printable ASCII only (no CR/LF for the header).
_ADMIN_PATH = re.compile(r"/admin(?:[/?][!-~]*)?")


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_matches(offered: str, settings: Settings) -> bool:
    expected = settings.hub_admin_token
    return bool(expected and offered) and hmac.compare_digest(offered.encode(), expected.encode())


def token_fingerprint(settings: Settings) -> str:
    """What the session keeps instead of the token: changing the token ends every session.

    Keyed with the app's secret key: the cookie is signed, not encrypted, so its holder can
    read it, and a plain hash of a short token could be guessed offline.
    """
    key, token = str(current_app.secret_key).encode(), settings.hub_admin_token.encode()
    return hmac.new(key, b"hub-admin-session:" + token, hashlib.sha256).hexdigest()


def _generation(store: Store, fingerprint: str) -> int:
    """The sessions' current generation; the first request under a new token starts a new one.

    (Two instances deployed with different tokens at once would keep ending each other's
    sessions until the rollout finishes: acceptable for a dashboard.)
    """
    record = store.kv_get(SESSIONS_NAMESPACE, SESSIONS_KEY) or {}
    generation = int(record.get("generation", 0))
    if not hmac.compare_digest(str(record.get("token", "")).encode(), fingerprint.encode()):
        generation += 1
        store.kv_put(SESSIONS_NAMESPACE, SESSIONS_KEY, {"generation": generation, "token": fingerprint})
    return generation


def end_sessions(store: Store, settings: Settings) -> None:
    """End every session issued so far, everywhere (logout)."""
    fingerprint = token_fingerprint(settings)
    generation = _generation(store, fingerprint) + 1
    store.kv_put(SESSIONS_NAMESPACE, SESSIONS_KEY, {"generation": generation, "token": fingerprint})


def _session_valid(settings: Settings, store: Store) -> bool:
    if not current_app.secret_key or SESSION_KEY not in session:
        return False
    fingerprint = token_fingerprint(settings)
    if not hmac.compare_digest(str(session.get(SESSION_KEY, "")).encode(), fingerprint.encode()):
        return False
    age = store.clock() - float(session.get(ISSUED_KEY, 0))
    if not -60 < age < SESSION_MAX_AGE_SECONDS:  # a minute of clock skew between instances
        return False
    generation = _generation(store, fingerprint)  # a number, not a secret: `==` is fine
    return session.get(GENERATION_KEY) == generation


def _client(request: Request) -> str:
    """Who is guessing: the peer address (on Lambda, API Gateway's source IP of the caller)."""
    return request.remote_addr or "unknown"


def offered_token_valid(offered: str, request: Request, settings: Settings, store: Store) -> bool:
    """Check an offered token, counting a wrong one against the client.

    Raises 429 once the client has had too many wrong tokens in the window, even for the
    right one: otherwise the throttled client would still learn which guess was right.
    """
    if token_matches(offered, settings):
        failures, left = store.hits(THROTTLE_NAMESPACE, _client(request))
        if failures < MAX_TOKEN_FAILURES:
            return True
    else:
        failures, left = store.hit(
            THROTTLE_NAMESPACE, _client(request), window_seconds=THROTTLE_WINDOW_SECONDS
        )
        if failures <= MAX_TOKEN_FAILURES:
            return False
    wait = math.ceil(left)
    raise TooManyRequestsError(
        f"too many wrong admin tokens from this address; try again in {wait} s",
        retry_after=wait,
        code="too_many_attempts",
    )


def require_admin(request: Request, settings: Settings) -> str:
    """Raise 401 unless the request carries the admin token or a login session.

    Returns how it was authenticated ("bearer" or "session"). A session request that
    changes state without the session's CSRF token gets 403.
    """
    if not settings.hub_admin_token:
        raise UnauthorizedError(
            "the admin interface is disabled: set HUB_ADMIN_TOKEN to enable it",
            code="admin_disabled",
        )
    from hub.services import current_hub

    store = current_hub().store
    offered = bearer_token(request)
    if offered and offered_token_valid(offered, request, settings, store):
        return "bearer"
    if _session_valid(settings, store):
        if request.method not in SAFE_METHODS:
            check_csrf(request)
        return "session"
    raise UnauthorizedError(
        "send 'Authorization: Bearer <HUB_ADMIN_TOKEN>' to use the admin API, or log in at /admin/login"
    )


def check_csrf(request: Request) -> None:
    expected = str(session.get(CSRF_KEY, ""))
    offered = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    if not (expected and offered and hmac.compare_digest(offered.encode(), expected.encode())):
        raise ForbiddenError(
            f"this form has expired or did not come from the dashboard: reload the page "
            f"(scripts: send the {CSRF_HEADER} header)",
            code="bad_csrf_token",
        )


def csrf_token() -> str:
    """The session's CSRF token for forms and scripts ('' when not logged in by session)."""
    return str(session.get(CSRF_KEY, "")) if current_app.secret_key else ""


@bp.app_context_processor
def _template_globals() -> dict[str, object]:
    return {"csrf_token": csrf_token, "csrf_field": CSRF_FIELD}


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not a script that would rather read JSON)."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def login_page(message: str = "", *, status: int = 401) -> tuple[str, int]:
    target = request.full_path.rstrip("?") if request.method == "GET" else url_for("admin_dashboard.index")
    return render_template("admin/login.html", message=message, next=_safe_next(target)), status


def _safe_next(target: str | None) -> str:
    """Only a path inside /admin: never an open redirect to another site, never a header break."""
    if target and _ADMIN_PATH.fullmatch(target) and not target.startswith("/admin/login"):
        return target
    return url_for("admin_dashboard.index")


@bp.get("/login")
def login_form() -> tuple[str, int]:
    return render_template("admin/login.html", message="", next=_safe_next(request.args.get("next"))), 200


@bp.post("/login")
def login() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    from hub.services import current_hub

    hub = current_hub()
    settings = hub.settings
    if not settings.hub_admin_token or not current_app.secret_key:
        return login_page("The admin interface is disabled: set HUB_ADMIN_TOKEN to enable it.")
    offered = request.form.get("token", "").strip()
    try:
        if not (offered and offered_token_valid(offered, request, settings, hub.store)):
            return login_page("That is not the admin token (HUB_ADMIN_TOKEN).")
    except TooManyRequestsError as exc:
        page, status = login_page(f"Too many wrong tokens: try again in {exc.retry_after} s.", status=429)
        return page, status, exc.headers()
    # The answer first: if building it failed, no session would have been set.
    response = redirect(_safe_next(request.form.get("next")), code=303)
    fingerprint = token_fingerprint(settings)
    session.clear()  # a fresh session: no fixation of a cookie set before login
    session[SESSION_KEY] = fingerprint
    session[CSRF_KEY] = secrets.token_urlsafe(32)
    session[ISSUED_KEY] = hub.store.clock()
    session[GENERATION_KEY] = _generation(hub.store, fingerprint)
    return response


@bp.post("/logout")
def logout() -> Response:
    """End this session and every other one (copies of its cookie included), everywhere."""
    from hub.services import current_hub

    hub = current_hub()
    if SESSION_KEY in session:
        check_csrf(request)
        if hub.settings.hub_admin_token and _session_valid(hub.settings, hub.store):
            end_sessions(hub.store, hub.settings)
    session.clear()
    return redirect(url_for("admin_auth.login_form"), code=303)


def guard_page() -> tuple[str, int] | None:
    """`before_request` for admin pages: a browser without a login gets the login form (401)."""
    from hub.services import current_hub

    try:
        require_admin(request, current_hub().settings)
    except UnauthorizedError as exc:
        if wants_html(request):
            return login_page(exc.message if exc.code == "admin_disabled" else "")
        raise
    return None


def secure_headers(response: Response) -> Response:
    """`after_request` for admin pages: no framing, no inline script, nothing cached."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


bp.after_request(secure_headers)


class AdminSessions(SecureCookieSessionInterface):
    """Signed-cookie sessions for the admin pages only: webhooks and the rest never open one
    (no cookie to verify on the hot path, and no session a webhook could ever set)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path == "/admin" or request.path.startswith("/admin/"):
            return super().open_session(app, request)
        return self.make_null_session(app)
