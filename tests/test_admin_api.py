"""The admin JSON API: bearer token, events list and filters, outbox, replay."""

from __future__ import annotations

import pytest

from integrations.samples import stripe_event, telegram_message
from tests.conftest import post


def test_admin_api_requires_the_bearer_token(client):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = client.get("/admin/api/events", headers=headers)
        assert response.status_code == 401
        assert response.json["error"] == "unauthorized"
    assert client.post("/admin/api/events/evt_x/replay").status_code == 401


def test_admin_is_disabled_without_a_token_outside_dry_run(make_app):
    app = make_app({"HUB_ADMIN_TOKEN": "", "HUB_DRY_RUN": "0"})
    response = app.test_client().get("/admin/api/events", headers={"Authorization": "Bearer "})
    assert response.status_code == 401
    assert response.json["error"] == "admin_disabled"
    assert "HUB_ADMIN_TOKEN" in response.json["message"]


def test_events_newest_first_with_filters(client, hub, admin_headers):
    post(client, stripe_event(hub.settings, "invoice.paid", event_id="evt_old"))
    post(client, telegram_message(hub.settings, "/start"))
    post(client, stripe_event(hub.settings, "invoice.payment_failed", event_id="evt_new"))

    listed = client.get("/admin/api/events", headers=admin_headers).json
    assert [e["type"] for e in listed] == ["invoice.payment_failed", "message", "invoice.paid"]
    assert set(listed[0]) >= {"id", "source", "type", "status", "attempts", "received_at"}

    stripe_only = client.get("/admin/api/events?source=stripe", headers=admin_headers).json
    assert {e["source"] for e in stripe_only} == {"stripe"} and len(stripe_only) == 2
    done = client.get("/admin/api/events?status=done&limit=1", headers=admin_headers).json
    assert len(done) == 1


@pytest.mark.parametrize("query", ["status=finished", "limit=0", "limit=abc", "limit=100000"])
def test_bad_filters_get_a_clear_400(client, admin_headers, query):
    response = client.get(f"/admin/api/events?{query}", headers=admin_headers)
    assert response.status_code == 400
    assert set(response.json) == {"error", "message"}


def test_replay_of_an_unknown_event_is_404(client, admin_headers):
    response = client.post("/admin/api/events/evt_nope/replay", headers=admin_headers)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_outbox_lists_dry_run_calls_with_their_event(make_app, admin_headers):
    from hub.router import Router

    router = Router()

    @router.on("stripe", "invoice.paid")
    def notify(event, ctx):
        ctx.send_text("telegram", "1001", "Invoice paid, thank you!")

    app = make_app(router=router)
    client = app.test_client()
    from hub.services import hub_of

    event_id = post(client, stripe_event(hub_of(app).settings, "invoice.paid")).json["event_id"]
    outbox = client.get("/admin/api/outbox", headers=admin_headers).json
    assert len(outbox) == 1
    entry = outbox[0]
    assert (entry["integration"], entry["action"], entry["event_id"]) == ("telegram", "sendMessage", event_id)
    assert entry["payload"] == {"chat_id": "1001", "text": "Invoice paid, thank you!"}
    assert entry["status"] == "recorded"
    detail = client.get(f"/admin/api/events/{event_id}", headers=admin_headers).json
    assert detail["payload"]["type"] == "invoice.paid"
    assert [o["id"] for o in detail["outbox"]] == [entry["id"]]


def test_a_retried_handler_does_not_repeat_its_outbound_calls(make_app, admin_headers):
    from hub.router import Router
    from hub.services import hub_of

    router = Router()
    runs = []

    @router.on("stripe", "invoice.paid")
    def notify_then_fail_once(event, ctx):
        ctx.send_text("telegram", "1001", "Invoice paid")
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("the second step failed")

    app = make_app({"HUB_RETRY_BASE_SECONDS": "0"}, router=router)
    hub = hub_of(app)
    post(app.test_client(), stripe_event(hub.settings, "invoice.paid"))
    assert hub.sweep().done == 1
    assert len(runs) == 2
    assert len(hub.store.outbox()) == 1, "the message from the failed run is not sent again"


def test_a_named_effect_is_found_again_even_when_the_call_order_changes(make_app):
    from hub.router import Router
    from hub.services import hub_of

    router = Router()
    runs = []

    @router.on("stripe", "invoice.paid")
    def order_changes_between_runs(event, ctx):
        runs.append(1)
        names = ["receipt", "notice"] if len(runs) == 1 else ["notice", "receipt"]
        for name in names:
            ctx.call("telegram", "sendMessage", {"text": name}, lambda: {}, effect=name)
        if len(runs) == 1:
            raise RuntimeError("fail after both calls")

    app = make_app({"HUB_RETRY_BASE_SECONDS": "0"}, router=router)
    hub = hub_of(app)
    post(app.test_client(), stripe_event(hub.settings, "invoice.paid"))
    assert hub.sweep().done == 1
    assert sorted(entry.payload["text"] for entry in hub.store.outbox()) == ["notice", "receipt"]
