"""Admin authentication: a bearer token, or a login that puts the token's proof in a session.

`Authorization: Bearer <HUB_ADMIN_TOKEN>` (scripts, the CLI) or the signed session cookie
set by the login form (the dashboard in a browser). Cookie-authenticated requests that
change something must also carry the session's CSRF token; bearer requests need none,
since a browser never adds that header by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

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
from hub.errors import ForbiddenError, UnauthorizedError

bp = Blueprint("admin_auth", __name__, url_prefix="/admin")

SESSION_KEY = "hub_admin"
CSRF_KEY = "hub_csrf"
ISSUED_KEY = "hub_issued"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE_SECONDS = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_matches(offered: str, settings: Settings) -> bool:
    expected = settings.hub_admin_token
    return bool(expected and offered) and hmac.compare_digest(offered.encode(), expected.encode())


def token_fingerprint(settings: Settings) -> str:
    """What the session keeps instead of the token: changing the token ends every session."""
    return hashlib.sha256(b"hub-admin-session:" + settings.hub_admin_token.encode()).hexdigest()


def _session_valid(settings: Settings) -> bool:
    if not current_app.secret_key or SESSION_KEY not in session:
        return False
    fresh = time.time() - float(session.get(ISSUED_KEY, 0)) < SESSION_MAX_AGE_SECONDS
    proof = str(session.get(SESSION_KEY, ""))
    return fresh and hmac.compare_digest(proof.encode(), token_fingerprint(settings).encode())


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
    if token_matches(bearer_token(request), settings):
        return "bearer"
    if _session_valid(settings):
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
    """Only a path inside /admin: never an open redirect to another site."""
    if target and target.startswith("/admin") and not target.startswith("/admin/login"):
        return target
    return url_for("admin_dashboard.index")


@bp.get("/login")
def login_form() -> tuple[str, int]:
    return render_template("admin/login.html", message="", next=_safe_next(request.args.get("next"))), 200


@bp.post("/login")
def login() -> Response | tuple[str, int]:
    from hub.runtime import current_hub

    settings = current_hub().settings
    if not settings.hub_admin_token or not current_app.secret_key:
        return login_page("The admin interface is disabled: set HUB_ADMIN_TOKEN to enable it.")
    if not token_matches(request.form.get("token", "").strip(), settings):
        return login_page("That is not the admin token (HUB_ADMIN_TOKEN).")
    session.clear()  # a fresh session: no fixation of a cookie set before login
    session[SESSION_KEY] = token_fingerprint(settings)
    session[CSRF_KEY] = secrets.token_urlsafe(32)
    session[ISSUED_KEY] = time.time()
    return redirect(_safe_next(request.form.get("next")), code=303)


@bp.post("/logout")
def logout() -> Response:
    if SESSION_KEY in session:
        check_csrf(request)
    session.clear()
    return redirect(url_for("admin_auth.login_form"), code=303)


def guard_page() -> tuple[str, int] | None:
    """`before_request` for admin pages: a browser without a login gets the login form (401)."""
    from hub.runtime import current_hub

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
