"""Deliveries as a handler and an operator see them (dry-run: sends are recorded)."""

from __future__ import annotations

import pytest

from hub.errors import ConfigError
from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event
from tests.conftest import post


def flaky_router(fail_times: int, recipients: int = 3) -> Router:  # 3 < a page: never written
    """invoice.paid tells `recipients` chats, then fails its first `fail_times` runs."""
    router = Router()
    runs = {"n": 0}

    @router.on("stripe", "invoice.paid")
    def tell_then_fail(event, ctx):  # noqa: ANN001, ANN202
        runs["n"] += 1
        for chat in range(recipients):
            ctx.send_text("telegram", str(chat), "Paid!")
        if runs["n"] <= fail_times:
            raise RuntimeError("the sheet is down")

    return router


@pytest.fixture(params=["sqlite", "redis"])
def backend(request) -> dict:  # noqa: ANN001
    return request.getfixturevalue("redis_config") if request.param == "redis" else {}


def test_a_failed_run_sends_nothing_and_its_retry_sends_each_once(make_app, backend) -> None:  # noqa: ANN001
    app = make_app({**backend, "HUB_RETRY_BASE_SECONDS": "0"}, router=flaky_router(fail_times=1))
    hub = hub_of(app)
    event_id = post(app.test_client(), stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    assert hub.store.get(event_id).status == "failed"
    assert hub.store.outbox() == [], "a failed run tells nobody"
    assert {d.status for d in hub.store.deliveries(event_id=event_id)} <= {"held"}, "none due"

    report = hub.sweep()
    assert (report.done, hub.store.get(event_id).status) == (1, "done")
    assert sorted(e.payload["chat_id"] for e in hub.store.outbox()) == ["0", "1", "2"]
    assert [d.status for d in hub.store.deliveries(event_id=event_id)] == ["sent"] * 3
    hub.sweep()
    assert len(hub.store.outbox()) == 3, "nothing went twice"


def test_replaying_the_event_tells_again_on_purpose(make_app, admin_headers) -> None:  # noqa: ANN001
    app = make_app(router=flaky_router(fail_times=0, recipients=1))
    hub, client = hub_of(app), app.test_client()
    event_id = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    assert client.post(f"/admin/api/events/{event_id}/replay", headers=admin_headers).status_code == 200
    assert [d.status for d in hub.store.deliveries(event_id=event_id)] == ["sent", "sent"]
    assert len(hub.store.outbox()) == 2


def test_the_deliveries_api_lists_replays_and_refuses_clearly(make_app, admin_headers) -> None:  # noqa: ANN001
    app = make_app(router=flaky_router(fail_times=0, recipients=2))
    hub, client = hub_of(app), app.test_client()
    event_id = post(client, stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    listed = client.get(f"/admin/api/deliveries?event_id={event_id}", headers=admin_headers).json
    assert [(d["channel"], d["status"], d["attempts"]) for d in listed] == [("telegram", "sent", 1)] * 2
    one = client.get(f"/admin/api/deliveries/{listed[0]['id']}", headers=admin_headers).json
    assert [c["action"] for c in one["outbox"]] == ["sendMessage"]

    sent = client.post(f"/admin/api/deliveries/{listed[0]['id']}/replay", headers=admin_headers)
    assert (sent.status_code, sent.json["error"]) == (409, "conflict"), "sent: replay the event instead"
    # (a dead delivery replayed is sent again: tests/faults/test_upstream.py, Twilio timeouts)
    assert client.post(
        "/admin/api/deliveries/replay", json={"status": "dead"}, headers=admin_headers
    ).json == {"replayed": 0}
    refused = client.post("/admin/api/deliveries/replay", json={"status": "sent"}, headers=admin_headers)
    assert (refused.status_code, refused.json["error"]) == (400, "bad_status")

    for path, status, code in [
        ("/admin/api/deliveries/dlv_nope", 404, "not_found"),
        ("/admin/api/deliveries?status=lost", 400, "bad_status"),
        ("/admin/api/deliveries?limit=0", 400, "bad_limit"),
        ("/admin/api/deliveries?limit=²", 400, "bad_limit"),  # a digit to isdigit(), not to int()
    ]:
        answer = client.get(path, headers=admin_headers)
        assert (answer.status_code, answer.json["error"]) == (status, code)
    bulk = client.post("/admin/api/deliveries/replay", json={}, headers=admin_headers)
    assert (bulk.status_code, bulk.json["error"]) == (400, "missing_filter")
    assert client.get("/admin/api/deliveries").status_code == 401


def test_an_unknown_channel_fails_the_run_at_once(make_app) -> None:  # noqa: ANN001
    router = Router()
    router.add_handler("stripe", "invoice.paid", lambda e, ctx: ctx.send_text("pigeon", "1", "hi"))
    app = make_app(router=router)
    hub = hub_of(app)
    event_id = post(app.test_client(), stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    event = hub.store.get(event_id)
    assert event.status == "failed" and "unknown channel 'pigeon'" in event.last_error


def test_subscribers_are_read_in_pages_covering_everyone(make_app, backend) -> None:  # noqa: ANN001
    store = hub_of(make_app(backend)).store
    for n in range(1234):
        store.kv_put("subs", f"k{n:05d}", {"n": n})
    seen, cursor, pages = set(), "", 0
    while True:
        page, cursor = store.kv_page("subs", cursor, 500)
        seen.update(k for k, _ in page)
        pages += 1
        if not cursor:
            break
    assert len(seen) == 1234 and pages >= 3


@pytest.mark.parametrize(
    "name, value",
    [("HUB_TELEGRAM_PER_SECOND", "0"), ("HUB_DELIVERY_CONCURRENCY", "x"), ("HUB_TWILIO_MPS", "nan")],
)
def test_a_bad_limit_setting_stops_start_up_naming_it(make_app, name, value) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match=name):
        make_app({name: value})


def test_a_big_failed_run_leaves_its_pages_held_and_the_retry_releases_them_once(make_app) -> None:  # noqa: ANN001
    app = make_app({"HUB_RETRY_BASE_SECONDS": "0"}, router=flaky_router(fail_times=1, recipients=1200))
    hub = hub_of(app)
    event_id = post(app.test_client(), stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    held = hub.store.deliveries(event_id=event_id, limit=500)
    assert len(held) == 500 and {d.status for d in held} == {"held"}, "two pages written, none due"
    assert hub.store.outbox() == []
    hub.sweep(limit=1)
    hub.sweep(limit=1)  # nothing left: no second copies
    assert len({e.payload["chat_id"] for e in hub.store.outbox(limit=2000)}) == 1200
    assert len(hub.store.outbox(limit=2000)) == 1200
