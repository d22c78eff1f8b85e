"""Admin authentication: `Authorization: Bearer <HUB_ADMIN_TOKEN>`, compared in constant time."""

from __future__ import annotations

import hmac

from flask import Request

from hub.config import Settings
from hub.errors import UnauthorizedError


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_matches(offered: str, settings: Settings) -> bool:
    expected = settings.hub_admin_token
    return bool(expected and offered) and hmac.compare_digest(offered.encode(), expected.encode())


def require_admin(request: Request, settings: Settings) -> None:
    """Raise 401 unless the request carries the admin token."""
    if not settings.hub_admin_token:
        raise UnauthorizedError(
            "the admin interface is disabled: set HUB_ADMIN_TOKEN to enable it",
            code="admin_disabled",
        )
    if not token_matches(bearer_token(request), settings):
        raise UnauthorizedError(
            "send 'Authorization: Bearer <HUB_ADMIN_TOKEN>' to use the admin API"
        )
