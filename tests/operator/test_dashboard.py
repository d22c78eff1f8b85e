"""The dashboard at /admin: login, events with filters, an event's page, replay, outbox,
charts and configured integrations, all behind the admin token."""

from __future__ import annotations

import re

import pytest

from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event, telegram_message
from tests.conftest import ADMIN_TOKEN, post
from tests.operator.admin_session import BROWSER, csrf_of, log_in

STRIPE_KEY = "sk_test_DASHBOARDplanted0123456789"


@pytest.fixture
def router():
    router = Router()

    @router.on("stripe", "invoice.payment_failed")
    def failing(event, ctx):
        raise RuntimeError(f"card declined (key {ctx.settings.stripe_api_key})")

    @router.on("stripe", "invoice.paid")
    def paid(event, ctx):
        ctx.send_text("telegram", "1001", "Thanks, invoice paid")

    @router.command("start")
    def start(event, ctx):
        ctx.reply("hello")

    return router


@pytest.fixture
def app(make_app, router):
    return make_app({"STRIPE_API_KEY": STRIPE_KEY}, router=router)


def page(client, path, **kwargs):
    return client.get(path, headers={**BROWSER, **kwargs.pop("headers", {})}, **kwargs)


def test_dashboard_needs_the_token(client, admin_headers):
    assert client.get("/admin").status_code == 401
    assert client.get("/admin").json["error"] == "unauthorized"
    login = page(client, "/admin")
    assert login.status_code == 401
    assert "<form" in login.get_data(as_text=True) and 'name="token"' in login.get_data(as_text=True)
    assert page(client, "/admin", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert page(client, "/admin", headers=admin_headers).status_code == 200
    assert page(client, "/admin/outbox").status_code == 401
    assert client.post("/admin/events/evt_x/replay").status_code == 401


def test_login_sets_a_secure_session_cookie_and_logout_ends_it(make_app):
    app = make_app({"HUB_PUBLIC_URL": "https://hub.example.com"})
    client = app.test_client()
    wrong = client.post("/admin/login", data={"token": "nope"}, headers=BROWSER)
    assert wrong.status_code == 401 and "not the admin token" in wrong.get_data(as_text=True)

    response = client.post("/admin/login", data={"token": ADMIN_TOKEN, "next": "https://evil.example/x"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin", "never redirects off-site"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert ADMIN_TOKEN not in cookie

    dashboard = page(client, "/admin")
    assert dashboard.status_code == 200
    assert client.get("/admin/api/events").status_code == 200, "the API accepts the session too"
    csrf = csrf_of(dashboard.get_data(as_text=True))
    assert client.post("/admin/logout").status_code == 403, "logout needs the CSRF token"
    assert client.post("/admin/logout", data={"csrf_token": csrf}).status_code == 303
    assert page(client, "/admin").status_code == 401


def test_local_http_session_cookie_is_not_marked_secure(client):
    response = client.post("/admin/login", data={"token": ADMIN_TOKEN})
    assert "Secure" not in response.headers["Set-Cookie"]


def test_a_new_admin_token_ends_existing_sessions(make_app):
    first = make_app({"HUB_SECRET_KEY": "k" * 32})
    client = first.test_client()
    log_in(client)
    cookie = client.get_cookie("session").value
    rotated = make_app({"HUB_SECRET_KEY": "k" * 32, "HUB_ADMIN_TOKEN": "a-brand-new-admin-token"})
    other = rotated.test_client()
    other.set_cookie("session", cookie)
    assert page(other, "/admin").status_code == 401


def test_events_list_filters_and_live_refresh(app, client):
    hub = hub_of(app)
    post(client, stripe_event(hub.settings, "invoice.paid", event_id="evt_paid"))
    post(client, stripe_event(hub.settings, "invoice.payment_failed", event_id="evt_declined"))
    post(client, telegram_message(hub.settings, "/start"))
    log_in(client)

    html = page(client, "/admin").get_data(as_text=True)
    assert html.count("/admin/events/evt_") == 3
    assert 'src="/static/admin.js"' in html
    assert 'data-poll="/admin/api/events?limit=50"' in html

    stripe_only = page(client, "/admin?source=stripe").get_data(as_text=True)
    assert stripe_only.count("/admin/events/evt_") == 2 and "telegram" not in stripe_only.split("<table")[1]
    failed = page(client, "/admin?status=failed").get_data(as_text=True)
    assert failed.count("/admin/events/evt_") == 1 and "card declined" in failed
    typed = page(client, "/admin?source=stripe&type=invoice.paid").get_data(as_text=True)
    assert typed.count("/admin/events/evt_") == 1
    assert 'data-poll="/admin/api/events?source=stripe&amp;type=invoice.paid&amp;limit=50"' in typed

    polled = client.get("/admin/api/events?source=stripe&type=invoice.paid&limit=50").json
    assert [e["type"] for e in polled] == ["invoice.paid"]


def test_event_page_shows_payload_attempts_errors_and_outbox(app, client):
    hub = hub_of(app)
    declined = post(client, stripe_event(hub.settings, "invoice.payment_failed")).json["event_id"]
    paid = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    log_in(client)

    html = page(client, f"/admin/events/{declined}").get_data(as_text=True)
    assert declined in html and "invoice.payment_failed" in html
    assert '<dd id="attempts">1</dd>' in html
    assert "RuntimeError: card declined" in html
    assert STRIPE_KEY not in html, "secrets in stored errors are masked"
    assert "&#34;object&#34;: &#34;event&#34;" in html, "the payload, pretty-printed"

    html = page(client, f"/admin/events/{paid}").get_data(as_text=True)
    assert "Thanks, invoice paid" in html and "recorded" in html
    assert page(client, "/admin/events/evt_missing").status_code == 404


def test_replay_button_runs_the_event_again_and_needs_the_csrf_token(app, client):
    hub = hub_of(app)
    event_id = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    csrf = log_in(client)

    refused = client.post(f"/admin/events/{event_id}/replay", data={})
    assert refused.status_code == 403 and refused.json["error"] == "bad_csrf_token"
    refused = client.post(f"/admin/api/events/{event_id}/replay")
    assert refused.status_code == 403, "the API too, when the session authenticates it"
    assert hub.store.get(event_id).attempts == 1

    response = client.post(f"/admin/events/{event_id}/replay", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["Location"] == f"/admin/events/{event_id}"
    html = page(client, response.headers["Location"]).get_data(as_text=True)
    assert '<dd id="attempts">2</dd>' in html and "Replayed: attempt 2 finished as done" in html
    api = client.post(f"/admin/api/events/{event_id}/replay", headers={"X-CSRF-Token": csrf})
    assert api.status_code == 200 and api.json["attempts"] == 3


def test_outbox_page_charts_and_integrations(app, client):
    hub = hub_of(app)
    post(client, stripe_event(hub.settings, "invoice.paid"))
    post(client, stripe_event(hub.settings, "invoice.payment_failed"))
    post(client, telegram_message(hub.settings, "/start"))
    log_in(client)

    outbox = page(client, "/admin/outbox").get_data(as_text=True)
    assert "Thanks, invoice paid" in outbox and "telegram" in outbox and "recorded" in outbox

    html = page(client, "/admin").get_data(as_text=True)
    assert 'aria-label="Events per source"' in html
    assert 'aria-label="Attempts and failed attempts per hour' in html
    assert "2 (1 failing)" in html, "stripe: two events, one failing"
    hours = re.findall(r"class=\"bar\"><title>(\d\d:00) UTC: (\d+) attempts, (\d+) failed", html)
    assert len(hours) == 24
    assert sum(int(a) for _, a, _ in hours) == 3 and sum(int(f) for _, _, f in hours) == 1
    assert STRIPE_KEY not in html and "sk_test_••••••" in html
    for secret in hub.settings.secret_values():
        assert secret not in html, "every secret is masked"
    assert "TELEGRAM_BOT_TOKEN" in html and "missing" in html


def test_pages_forbid_framing_and_inline_script(client, admin_headers):
    response = page(client, "/admin", headers=admin_headers)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self' covers it
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_masked_settings_show_no_character_of_a_secret():
    from hub.admin.dashboard import mask

    assert mask("123456789:AAE-bot-token-secret-part") == "••••••"
    assert mask("whsec_abcdef0123456789") == "whsec_••••••"
    assert mask("sk_live_abcdef0123456789") == "sk_live_••••••"


def test_only_admin_pages_carry_a_session_cookie(app, client):
    webhook = post(client, stripe_event(hub_of(app).settings, "invoice.paid"))
    assert webhook.status_code == 200 and "Set-Cookie" not in webhook.headers
    login = client.post("/admin/login", data={"token": ADMIN_TOKEN})
    assert "session=" in login.headers.get("Set-Cookie", "")
