"""Deliveries on the dashboard: the Deliveries page (newest first, filters, paging, masked
phone numbers, a replay button that says why a replay is refused), an event's deliveries on
its page, and the outbox's unknown outcomes and provider reports in columns of their own."""

from __future__ import annotations

import re

import pytest

from hub.admin.mount import rules as rules_of
from hub.deliveries import DEAD, FAILED, Delivery
from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event
from tests.conftest import post
from tests.operator.admin_session import BROWSER, log_in

PHONE = "+15551234567"


@pytest.fixture(params=["sqlite", "redis"])
def backend(request):
    return request.getfixturevalue("redis_config") if request.param == "redis" else {}


@pytest.fixture
def app(make_app, backend):
    router = Router()

    @router.on("stripe", "invoice.paid")
    def paid(event, ctx):
        ctx.send_text("telegram", "1001", "Thanks for paying")

    return make_app(backend, router=router)


def html(client, path):
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def ended(hub, event_id, address, text, *, status, error, channel="sms"):
    """A delivery as the runner leaves it after its attempts: failed (due again) or dead."""
    told = Delivery.new(event_id, event_id, channel, address, text, {}, now=hub.store.clock())
    hub.store.add_deliveries([told])
    hub.store.release_deliveries(event_id)
    (claimed,) = hub.store.claim_deliveries(1, lease_seconds=30)
    retry = hub.store.clock() + 600 if status == FAILED else None
    return hub.store.finish_delivery(claimed, status=status, last_error=error, next_attempt_at=retry)


def rows(page):
    return re.findall(r'<tr id="(dlv_\w+)">', page)


def test_the_deliveries_page_lists_masks_filters_and_pages(app, client):
    hub = hub_of(app)
    paid = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    dead = ended(
        hub, paid, PHONE, "Your order shipped", status=DEAD, error=f"21610: unsubscribed recipient {PHONE}"
    )
    log_in(client)

    page = html(client, "/admin/deliveries")
    assert '<a href="/admin/deliveries">Deliveries</a>' in page, "the nav links the page"
    assert rows(page)[0] == dead.id, "newest first"
    assert len(rows(page)) == 2 and "Newest 2 deliveries." in page
    assert PHONE not in page and "+••••••4567" in page, "a phone number shows its last digits only"
    assert "<code>1001</code>" in page, "a Telegram chat id is no phone number"
    assert "21610: unsubscribed recipient +••••••4567" in page and 'class="badge badge-dead">dead<' in page
    assert page.count('class="replay"') == 1, "only the dead one offers a replay (the sent one cannot)"

    only_dead = html(client, "/admin/deliveries?status=dead")
    assert rows(only_dead) == [dead.id] and "Newest 1 matching delivery." in only_dead
    assert '<option value="dead" selected>' in only_dead
    assert rows(html(client, "/admin/deliveries?event_id=evt_other")) == []
    assert "No delivery matches these filters." in html(client, "/admin/deliveries?event_id=evt_other")
    assert len(rows(html(client, "/admin/deliveries?status=nonsense"))) == 2, "a bad status: no filter"

    for n in range(55):
        ended(hub, paid, f"+1555000{n:04d}", f"digest {n}", status=FAILED, error="timeout")
    first = html(client, "/admin/deliveries?status=failed")
    assert len(rows(first)) == 50 and "Newest 50 matching deliveries." in first
    older = re.search(r'id="older" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "status=failed" in older
    second = html(client, older)
    assert len(rows(second)) == 5 and "Older 5 matching deliveries." in second
    assert not set(rows(first)) & set(rows(second)), "paging repeats nothing"
    assert 'id="older"' not in second
    gone = client.get("/admin/deliveries?starting_after=dlv_purged", headers=BROWSER).get_data(as_text=True)
    assert "That page is gone" in gone and len(rows(gone)) == 50


def test_replay_from_the_page_sends_a_dead_delivery_and_says_why_a_sent_one_is_refused(app, client):
    hub = hub_of(app)
    paid = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    dead = ended(
        hub,
        paid,
        "2002",
        "Your order shipped",
        status=DEAD,
        error="Forbidden: bot was blocked",
        channel="telegram",
    )
    csrf = log_in(client)

    no_token = client.post(f"/admin/deliveries/{dead.id}/replay", headers=BROWSER)
    assert no_token.status_code in (400, 403) and hub.store.get_delivery(dead.id).status == DEAD

    back = f"/admin/events/{paid}"
    done = client.post(
        f"/admin/deliveries/{dead.id}/replay", data={"csrf_token": csrf, "back": back}, headers=BROWSER
    )
    assert done.status_code == 303 and done.headers["Location"].endswith(back)
    replayed = hub.store.get_delivery(dead.id)
    assert (replayed.status, replayed.attempts) == ("sent", 2), "dry-run: recorded by a delivery run"
    assert "Replayed: the delivery to 2002 is due now." in html(client, back)

    sent = client.post(
        f"/admin/deliveries/{dead.id}/replay",
        data={"csrf_token": csrf, "back": "https://evil.example/"},
        headers=BROWSER,
    )
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"/admin/deliveries?event_id={paid}")
    refused = html(client, "/admin/deliveries")
    assert "Not replayed: the delivery was sent; replay its event to tell again." in refused
    assert hub.store.get_delivery(dead.id).attempts == 2, "nothing changed"
    missing = client.post("/admin/deliveries/dlv_nope/replay", data={"csrf_token": csrf}, headers=BROWSER)
    assert missing.status_code == 404 and "There is no delivery dlv_nope" in missing.get_data(as_text=True)


def test_live_replay_asks_first(make_app):
    app = make_app({"HUB_DRY_RUN": "false", "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35})
    hub, client = hub_of(app), app.test_client()
    dead = ended(hub, "evt_live", PHONE, "hello", status=DEAD, error="boom")
    csrf = log_in(client)
    asked = client.post(f"/admin/deliveries/{dead.id}/replay", data={"csrf_token": csrf}, headers=BROWSER)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Send this delivery again?" in page and "+••••••4567" in page
    assert 'name="confirmed" value="yes"' in page and PHONE not in page
    assert hub.store.get_delivery(dead.id).status == DEAD, "nothing sent before the operator confirms"


def test_the_event_page_lists_its_deliveries(app, client):
    hub = hub_of(app)
    paid = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    dead = ended(hub, paid, PHONE, "Your order shipped", status=DEAD, error="undeliverable")
    log_in(client)
    page = html(client, f"/admin/events/{paid}")
    section = page[page.index('id="deliveries"') :]
    assert rows(section) == [dead.id, hub.store.deliveries(event_id=paid)[1].id]
    assert "Thanks for paying" in section and "+••••••4567" in section and PHONE not in page
    assert f'name="back" value="/admin/events/{paid}"' in section, "a replay comes back to the event"
    quiet = post(client, stripe_event(hub.settings, "customer.created")).json["event_id"]
    assert "None: its handlers told no message." in html(client, f"/admin/events/{quiet}")


def test_the_outbox_flags_possible_duplicates_and_shows_the_provider_report_apart(app, client):
    hub = hub_of(app)
    hub.store.add_outbox(
        "twilio", "messages.create", {"to": PHONE, "body": "hi"}, event_id=None, status="sent", ref="SM1"
    )
    hub.store.record_provider_report("SM1", status="undelivered", detail="30003 unreachable")
    from dataclasses import replace

    doubled = hub.store.add_outbox(
        "telegram", "sendMessage", {"chat_id": 7, "text": "paid"}, event_id=None, status="sending"
    )
    hub.store.finish_outbox(replace(doubled, status="sent", possible_duplicate=True))
    log_in(client)
    page = html(client, "/admin/outbox")
    assert "<th>Status</th><th>Delivery report</th>" in page
    twilio = page[page.index("messages.create") :]
    twilio = twilio[: twilio.index("</tr>")]
    assert 'badge-sent">sent<' in twilio and 'badge-undelivered">undelivered<' in twilio, "two fields"
    assert 'class="badge badge-duplicate"' in page and "possible duplicate" in page
    assert PHONE not in page and "+••••••4567" in twilio, "a payload's phone number is masked too"
    only = html(client, "/admin/outbox?possible_duplicate=true")
    assert "sendMessage" in only and "messages.create" not in only


def test_the_api_document_describes_every_deliveries_endpoint(app, client):
    paths = client.get("/openapi.json").json["paths"]
    served = {r.rule for r in rules_of(app) if r.rule.startswith("/admin/api/deliveries")}
    assert {rule.replace("<", "{").replace(">", "}") for rule in served} <= set(paths)
    assert {"400", "401"} <= set(paths["/admin/api/deliveries"]["get"]["responses"])
    assert {"404", "409"} <= set(paths["/admin/api/deliveries/{delivery_id}/replay"]["post"]["responses"])


def test_a_call_left_sending_by_a_dead_run_shows_its_outcome_unknown(app, client):
    hub = hub_of(app)
    paid = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    hub.store.add_outbox(
        "telegram", "sendMessage", {"chat_id": 9, "text": "in flight"}, event_id=paid, status="sending"
    )
    log_in(client)
    assert "outcome unknown" not in html(client, "/admin/outbox"), "a call in flight is no doubt yet"
    started = hub.store.clock()
    hub.store.clock = lambda: started + 3600  # an hour on, its run long dead
    for path in ("/admin/outbox", f"/admin/events/{paid}"):
        row = html(client, path)
        row = row[row.index("in flight") - 900 : row.index("in flight")]
        assert 'class="badge badge-unknown"' in row and "outcome unknown" in row, path
    event_page = html(client, f"/admin/events/{paid}")
    assert event_page.count(">outcome unknown<") == 2, "in its attempt and among its outbound calls"
