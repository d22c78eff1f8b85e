"""The admin API as an event console: attempt history with the calls each attempt made,
the headers received (secrets masked), bulk replay, cursor paging and outbox filters."""

from __future__ import annotations

import pytest

from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event, telegram_message
from tests.conftest import post

STRIPE_KEY = "sk_test_HISTORYplanted0123456789"


@pytest.fixture
def router():
    router = Router()
    runs = {"declined": 0}

    @router.on("stripe", "invoice.payment_failed")
    def declined(event, ctx):
        runs["declined"] += 1
        ctx.send_text("telegram", "1001", f"notice {runs['declined']}")
        if runs["declined"] == 1:  # the first run fails, a replay succeeds
            raise RuntimeError(f"card declined (key {ctx.settings.stripe_api_key})")

    @router.on("stripe", "invoice.paid")
    def paid(event, ctx):
        ctx.send_text("telegram", "1001", "Thanks, invoice paid")

    return router


@pytest.fixture
def app(make_app, router):
    return make_app({"STRIPE_API_KEY": STRIPE_KEY}, router=router)


def test_history_keeps_the_failed_attempt_after_a_replay(app, client, admin_headers):
    event_id = post(client, stripe_event(hub_of(app).settings, "invoice.payment_failed")).json["event_id"]
    assert client.post(f"/admin/api/events/{event_id}/replay", headers=admin_headers).json["attempts"] == 2

    detail = client.get(f"/admin/api/events/{event_id}", headers=admin_headers).json
    history = detail["history"]
    assert [(h["attempt"], h["outcome"]) for h in history] == [(1, "failed"), (2, "done")]
    assert "RuntimeError: card declined" in history[0]["error"] and history[1]["error"] is None
    assert STRIPE_KEY not in str(detail), "the stored error is scrubbed like last_error"
    assert all(h["started_at"] <= h["finished_at"] for h in history)
    assert history[0]["finished_at"] <= history[1]["started_at"]

    # Each attempt names the outbound calls it made, and each call its attempt. A message
    # told by the failed run is never sent (deliveries wait for their run to succeed).
    texts = {o["id"]: o["payload"]["text"] for o in detail["outbox"]}
    assert [[texts[i] for i in h["outbox"]] for h in history] == [[], ["notice 2"]]
    assert [(o["attempt"], o["payload"]["text"]) for o in detail["outbox"]] == [(2, "notice 2")]


def test_the_headers_received_are_kept_with_secrets_masked(app, client, admin_headers):
    signed = stripe_event(hub_of(app).settings, "invoice.paid")
    extra = {"X-Request-Id": "req-42", "X-Echo": f"key={STRIPE_KEY}"}  # a secret under an innocent name
    answer = client.post(signed.path, data=signed.body, headers={**signed.headers, **extra})
    event_id = answer.json["event_id"]
    headers = client.get(f"/admin/api/events/{event_id}", headers=admin_headers).json["headers"]
    assert headers["Content-Type"] == "application/json" and headers["X-Request-Id"] == "req-42"
    assert headers["Stripe-Signature"] == "••••••" and headers["X-Echo"] == "••••••"
    assert STRIPE_KEY not in str(hub_of(app).store.get(event_id).to_record())
    stored = hub_of(app).store.get(event_id)
    assert signed.headers["Stripe-Signature"] not in str(stored.to_record()), "never stored"

    telegram = telegram_message(hub_of(app).settings, "hi")
    assert post(client, telegram).status_code == 200
    event_id = hub_of(app).store.events(source="telegram")[0].id
    headers = client.get(f"/admin/api/events/{event_id}", headers=admin_headers).json["headers"]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "••••••"
    assert "test-telegram-secret" not in str(hub_of(app).store.get(event_id).to_record())


def test_an_event_no_handler_took_says_so(app, client, admin_headers):
    event_id = post(client, stripe_event(hub_of(app).settings, "customer.created")).json["event_id"]
    detail = client.get(f"/admin/api/events/{event_id}", headers=admin_headers).json
    assert detail["status"] == "done" and detail["handled"] is False, "status stays contract-compatible"
    listed = client.get("/admin/api/events", headers=admin_headers).json
    assert listed[0]["id"] == event_id and listed[0]["handled"] is False
    paid = post(client, stripe_event(hub_of(app).settings, "invoice.paid")).json["event_id"]
    assert client.get(f"/admin/api/events/{paid}", headers=admin_headers).json["handled"] is True


def test_bulk_replay_runs_the_events_matching_a_filter(app, client, admin_headers):
    hub = hub_of(app)
    declined = [
        post(client, stripe_event(hub.settings, "invoice.payment_failed")).json["event_id"] for _ in range(2)
    ]
    paid = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    assert {hub.store.get(i).status for i in declined} == {"failed", "done"}  # only the first run fails

    answer = client.post(
        "/admin/api/events/replay", json={"type": "invoice.payment_failed"}, headers=admin_headers
    )
    assert answer.status_code == 200 and answer.json["replayed"] == 2 and answer.json["matched"] == 2
    assert [hub.store.get(i).attempts for i in declined] == [2, 2]
    assert hub.store.get(paid).attempts == 1, "events outside the filter are left alone"

    by_query = client.post("/admin/api/events/replay?source=stripe&status=done", headers=admin_headers)
    assert by_query.json["replayed"] == 3
    assert hub.store.get(paid).attempts == 2
    by_form = client.post("/admin/api/events/replay", data={"type": "invoice.paid"}, headers=admin_headers)
    assert by_form.json == {"replayed": 1, "matched": 1, "busy": 0, "limit": 100}
    assert hub.store.get(paid).attempts == 3


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({}, "filter_required"),
        ({"json": {}}, "filter_required"),
        ({"json": {"source": "  "}}, "filter_required"),
        ({"json": {"status": "sleeping"}}, "bad_status"),
        ({"json": {"colour": "red"}}, "bad_filter"),
        ({"json": {"source": ["stripe"]}}, "bad_filter"),
        ({"data": "[1]", "content_type": "application/json"}, "bad_payload"),
        ({"data": '{"source": NaN}', "content_type": "application/json"}, "bad_payload"),
        ({"data": "source=stripe", "content_type": "text/plain"}, "bad_payload"),
    ],
)
def test_bulk_replay_refuses_a_missing_or_bad_filter(app, client, admin_headers, kwargs, code):
    event_id = post(client, stripe_event(hub_of(app).settings, "invoice.paid")).json["event_id"]
    answer = client.post("/admin/api/events/replay", headers=admin_headers, **kwargs)
    assert answer.status_code == 400 and answer.json["error"] == code, answer.json
    assert answer.json["message"]
    assert hub_of(app).store.get(event_id).attempts == 1, "nothing ran"


def test_events_page_beyond_the_first_with_a_cursor(app, client, admin_headers):
    hub = hub_of(app)
    for n in range(7):
        post(client, stripe_event(hub.settings, "invoice.paid", event_id=f"evt_page{n}"))
    first = client.get("/admin/api/events?limit=3", headers=admin_headers)
    assert first.headers["X-Total-Count"] == "7"
    seen = [e["provider_id"] for e in first.json]
    link = first.headers["Link"]
    while link:
        url = link.split(";")[0].strip("<>")
        assert url.startswith("/admin/api/events?") and "limit=3" in url
        page = client.get(url, headers=admin_headers)
        seen += [e["provider_id"] for e in page.json]
        link = page.headers.get("Link")
    assert seen == [f"evt_page{n}" for n in reversed(range(7))], "every event once, newest first"
    filtered = client.get("/admin/api/events?type=nothing", headers=admin_headers)
    assert filtered.json == [] and filtered.headers["X-Total-Count"] == "0" and "Link" not in filtered.headers

    bad = client.get("/admin/api/events?starting_after=evt_nope", headers=admin_headers)
    assert bad.status_code == 400 and bad.json["error"] == "bad_cursor"
    gone = client.get("/admin/api/events?starting_after=evt_" + "0" * 32, headers=admin_headers)
    assert gone.status_code == 404 and gone.json["error"] == "cursor_not_found", "purged: start again"


def test_outbox_pages_and_filters_by_integration_status_event_and_duplicate(app, client, admin_headers):
    hub = hub_of(app)
    paid = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    post(client, stripe_event(hub.settings, "invoice.payment_failed"))  # fails: its message is not sent
    hub.store.add_outbox("twilio", "sms", {"body": "hello"}, event_id=None, status="sent")
    hub.store.add_outbox("telegram", "sendMessage", {"text": "older"}, event_id=None, status="recorded")

    everything = client.get("/admin/api/outbox", headers=admin_headers).json
    assert len(everything) == 3
    assert [
        e["integration"]
        for e in client.get("/admin/api/outbox?integration=twilio", headers=admin_headers).json
    ] == ["twilio"]
    assert len(client.get("/admin/api/outbox?status=recorded", headers=admin_headers).json) == 2
    of_paid = client.get(f"/admin/api/outbox?event_id={paid}", headers=admin_headers).json
    assert [e["payload"]["text"] for e in of_paid] == ["Thanks, invoice paid"]
    assert client.get("/admin/api/outbox?possible_duplicate=true", headers=admin_headers).json == []
    assert len(client.get("/admin/api/outbox?possible_duplicate=false", headers=admin_headers).json) == 3
    bad = client.get("/admin/api/outbox?possible_duplicate=maybe", headers=admin_headers)
    assert bad.status_code == 400 and bad.json["error"] == "bad_flag"

    first = client.get("/admin/api/outbox?limit=2", headers=admin_headers)
    rest = client.get(first.headers["Link"].split(";")[0].strip("<>"), headers=admin_headers).json
    assert [e["id"] for e in first.json + rest] == [e["id"] for e in everything]
    assert client.get("/admin/api/outbox?starting_after=evt_x", headers=admin_headers).status_code == 400


@pytest.mark.redis
def test_history_paging_and_bulk_replay_on_redis(make_app, router, redis_config, admin_headers):
    app = make_app({"STRIPE_API_KEY": STRIPE_KEY, **redis_config}, router=router)
    client, hub = app.test_client(), hub_of(app)
    declined = post(client, stripe_event(hub.settings, "invoice.payment_failed")).json["event_id"]
    for n in range(3):
        post(client, stripe_event(hub.settings, "invoice.paid", event_id=f"evt_r{n}"))
    answer = client.post("/admin/api/events/replay", json={"status": "failed"}, headers=admin_headers).json
    assert answer["replayed"] == 1 and answer["matched"] == 1

    history = client.get(f"/admin/api/events/{declined}", headers=admin_headers).json["history"]
    assert [(h["attempt"], h["outcome"]) for h in history] == [(1, "failed"), (2, "done")]
    assert [len(h["outbox"]) for h in history] == [0, 1], "the failed run's message was never sent"

    first = client.get("/admin/api/events?source=stripe&status=done&limit=3", headers=admin_headers)
    assert first.headers["X-Total-Count"] == "4" and len(first.json) == 3
    rest = client.get(first.headers["Link"].split(";")[0].strip("<>"), headers=admin_headers).json
    assert {e["id"] for e in first.json + rest} == {e.id for e in hub.store.events()}
