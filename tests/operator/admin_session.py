"""Logging a test client in to the dashboard, as a browser would."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.conftest import ADMIN_TOKEN

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def log_in(client: FlaskClient, token: str = ADMIN_TOKEN) -> str:
    """Log in with the form; returns the session's CSRF token, read from a page."""
    response = client.post("/admin/login", data={"token": token, "next": "/admin"}, headers=BROWSER)
    assert response.status_code == 303, response.get_data(as_text=True)
    return csrf_of(client.get("/admin", headers=BROWSER).get_data(as_text=True))


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert match and match.group(1), "the page carries the session's CSRF token"
    return match.group(1)
