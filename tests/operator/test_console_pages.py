"""The dashboard's pages as an operator reads them: counts that say what they count,
failed attempts on the chart, unhandled events, confirmations before replays, readiness
in dry-run, HTML error pages, times that a script can make local."""

from __future__ import annotations

import re

import pytest

from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event, telegram_message
from tests.conftest import post
from tests.operator.admin_session import BROWSER, log_in


@pytest.fixture
def router():
    router = Router()
    runs = {"n": 0}

    @router.on("stripe", "invoice.payment_failed")
    def flaky(event, ctx):
        runs["n"] += 1
        if runs["n"] == 1:
            raise RuntimeError("card declined")

    @router.on("stripe", "invoice.paid")
    def paid(event, ctx):
        ctx.send_text("telegram", "1001", "Thanks")

    @router.command("start")
    def start(event, ctx):
        ctx.reply("hello")

    return router


@pytest.fixture
def app(make_app, router):
    return make_app(router=router)


def html(client, path):
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def test_counts_say_what_they_count_on_every_page_and_after_a_refresh(app, client, admin_headers):
    hub = hub_of(app)
    for n in range(53):
        post(client, stripe_event(hub.settings, "invoice.paid", event_id=f"evt_n{n}"))
    post(client, telegram_message(hub.settings, "/start"))
    log_in(client)

    first = html(client, "/admin")
    assert '<p class="muted count" id="count">Newest 50 of 54 events.</p>' in first
    assert first.count('class="id" href="/admin/events/evt_') == 50
    # What the live refresh reads to keep the same sentence: the total of the same filter.
    polled = client.get("/admin/api/events?limit=50", headers=admin_headers)
    assert len(polled.json) == 50 and polled.headers["X-Total-Count"] == "54"

    older = re.search(r'id="older" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = html(client, older)
    assert "Older 4 of 54 events." in second and second.count('class="id" href="/admin/events/evt_') == 4
    assert 'id="older"' not in second and 'id="live"' not in second, "no live refresh on an older page"

    only = html(client, "/admin?source=telegram")
    assert "Newest 1 of 1 matching event." in only
    assert "No matching events." in html(client, "/admin?source=paypal")


def test_failures_over_time_counts_failed_attempts_even_once_fixed(app, client):
    hub = hub_of(app)
    declined = post(client, stripe_event(hub.settings, "invoice.payment_failed")).json["event_id"]
    post(client, telegram_message(hub.settings, "/start"))
    csrf = log_in(client)
    client.post(f"/admin/events/{declined}/replay", data={"csrf_token": csrf})
    assert hub.store.get(declined).status == "done"

    def hours(page):
        found = re.findall(r'class="bar"><title>\d\d:00 UTC: (\d+) attempts, (\d+) failed', page)
        assert len(found) == 24
        return sum(int(a) for a, _ in found), sum(int(f) for _, f in found)

    assert hours(html(client, "/admin")) == (3, 1), "the failed first attempt still counts"
    assert hours(html(client, "/admin?source=telegram")) == (1, 0), "the chart follows the filter"
    page = html(client, "/admin?source=stripe")
    assert "The newest 1 event matching the filters" in page
    ticks = re.findall(r'class="tick" text-anchor="end">(\d+)</text>', page)
    assert ticks == ["0", "1", "2"], "the y axis has values"


def test_an_event_no_handler_took_shows_as_unhandled(app, client, admin_headers):
    hub = hub_of(app)
    event_id = post(client, stripe_event(hub.settings, "customer.created")).json["event_id"]
    log_in(client)
    assert 'badge-unhandled">unhandled</span>' in html(client, "/admin")
    page = html(client, f"/admin/events/{event_id}")
    assert "unhandled" in page and "no handler is registered" in page
    assert hub.store.get(event_id).status == "done", "stored status unchanged (contract)"


def test_times_carry_utc_for_the_script_and_the_hover(app, client):
    post(client, stripe_event(hub_of(app).settings, "invoice.paid"))
    log_in(client)
    page = html(client, "/admin")
    moment = re.search(r'<time class="when" datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', page)
    assert moment and moment.group(1).endswith("Z") and moment.group(2).endswith(" UTC")
    assert 'src="/static/times.js"' in page


def test_bulk_replay_shows_the_count_then_runs_on_confirmation(app, client):
    hub = hub_of(app)
    declined = post(client, stripe_event(hub.settings, "invoice.payment_failed")).json["event_id"]
    paid = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    csrf = log_in(client)

    dashboard = html(client, "/admin?status=failed")
    assert 'id="bulk-replay" href="/admin/events/replay?status=failed"' in dashboard
    assert 'id="bulk-replay"' not in html(client, "/admin"), "never offered without a filter"
    confirm = html(client, "/admin/events/replay?status=failed")
    assert "Replay 1 event matching status failed?" in confirm and "Dry-run" in confirm
    assert hub.store.get(declined).attempts == 1, "asking runs nothing"

    assert client.post("/admin/events/replay", data={"status": "failed"}).status_code == 403, "CSRF"
    form = {"status": "failed", "csrf_token": csrf, "confirmed": "yes"}
    done = client.post("/admin/events/replay", data=form)
    assert done.status_code == 303 and done.headers["Location"] == "/admin?status=failed"
    assert "Replayed 1 of 1 matching events." in html(client, done.headers["Location"])
    assert hub.store.get(declined).attempts == 2 and hub.store.get(paid).attempts == 1

    nothing = client.post("/admin/events/replay", data={"csrf_token": csrf})
    assert nothing.status_code == 303
    assert "Choose a filter first" in html(client, nothing.headers["Location"])
    assert hub.store.get(paid).attempts == 1


def test_a_live_replay_asks_to_confirm_first(make_app, router):
    app = make_app({"HUB_DRY_RUN": "0", "HUB_SECRET_KEY": "s" * 32}, router=router)
    client = app.test_client()
    event_id = post(client, stripe_event(hub_of(app).settings, "customer.created")).json["event_id"]
    csrf = log_in(client)
    assert "Replay…" in html(client, f"/admin/events/{event_id}")

    asked = client.post(f"/admin/events/{event_id}/replay", data={"csrf_token": csrf}, headers=BROWSER)
    assert asked.status_code == 200 and "hub is live" in asked.get_data(as_text=True)
    assert 'name="confirmed" value="yes"' in asked.get_data(as_text=True)
    assert hub_of(app).store.get(event_id).attempts == 1, "not before the confirmation"
    done = client.post(f"/admin/events/{event_id}/replay", data={"csrf_token": csrf, "confirmed": "yes"})
    assert done.status_code == 303 and hub_of(app).store.get(event_id).attempts == 2


def test_a_dry_run_replay_runs_at_once(app, client):
    event_id = post(client, stripe_event(hub_of(app).settings, "invoice.paid")).json["event_id"]
    csrf = log_in(client)
    assert client.post(f"/admin/events/{event_id}/replay", data={"csrf_token": csrf}).status_code == 303
    assert hub_of(app).store.get(event_id).attempts == 2


def test_the_integrations_card_says_what_works_in_dry_run_and_what_live_needs(app, client, make_app):
    log_in(client)
    page = html(client, "/admin")
    assert "works in dry-run; live needs TELEGRAM_BOT_TOKEN" in page
    assert "ready-off" not in page, "nothing is shown as broken in dry-run"
    sentry = re.search(r"<th rowspan=\"1\">Sentry</th><td[^>]*>(.*?)</td>", page).group(1)
    assert "ready-optional" in sentry and "optional, off" in sentry and "missing" not in sentry

    live = make_app({"HUB_DRY_RUN": "0", "HUB_SECRET_KEY": "s" * 32})
    live_client = live.test_client()
    log_in(live_client)
    page = html(live_client, "/admin")
    assert 'ready-off">off</span> <span class="says">off: set TELEGRAM_BOT_TOKEN</span>' in page
    assert "optional, off" in page


def test_a_browser_gets_an_html_page_for_something_missing(app, client, admin_headers):
    anonymous = client.get("/admin/no-such-page", headers=BROWSER)
    assert anonymous.status_code == 404 and "text/html" in anonymous.content_type
    body = anonymous.get_data(as_text=True)
    assert "404 · Not Found" in body and "/static/admin.css" in body and "Log out" not in body

    log_in(client)
    missing = client.get("/admin/events/evt_missing", headers=BROWSER)
    assert missing.status_code == 404 and "text/html" in missing.content_type
    assert "There is no event evt_missing" in missing.get_data(as_text=True)
    assert "Log out" in missing.get_data(as_text=True), "a logged-in operator keeps the navigation"

    api = client.get("/admin/api/events/evt_missing", headers={**BROWSER, **admin_headers})
    assert api.status_code == 404 and api.json["error"] == "not_found", "the API keeps JSON"
    script = client.get("/admin/events/evt_missing", headers={"Accept": "application/json"})
    assert script.status_code == 404 and script.json["error"] == "not_found"
    outside = client.get("/nowhere", headers=BROWSER)
    assert outside.status_code == 404 and outside.json["error"] == "not_found"


def test_the_outbox_page_filters_and_pages(app, client):
    hub = hub_of(app)
    for _ in range(3):
        post(client, stripe_event(hub.settings, "invoice.paid"))
    hub.store.add_outbox("twilio", "sms", {"body": "a text"}, event_id=None, status="sent")
    log_in(client)
    assert html(client, "/admin/outbox").count('<td class="nowrap">') == 4
    twilio = html(client, "/admin/outbox?integration=twilio")
    assert "a text" in twilio and "Thanks" not in twilio and "Newest 1 matching call." in twilio
    assert "No call matches these filters." in html(client, "/admin/outbox?possible_duplicate=true")
    assert "Thanks" in html(client, "/admin/outbox?status=recorded")
