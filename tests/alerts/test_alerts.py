"""Operator alerts, as the admins' chats receive them (dry-run: each send is in the outbox)."""

from __future__ import annotations

import pytest

from hub import alerts
from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event
from integrations.telegram_bot import ATTEMPTS
from tests.conftest import post

ADMINS = ("900", "901")


def switchable_router(state: dict) -> Router:
    """invoice.paid fails while `state["failing"]` is true."""
    router = Router()

    @router.on("stripe", "invoice.paid")
    def maybe_fail(event, ctx):  # noqa: ANN001, ANN202
        if state["failing"]:
            raise RuntimeError("the ledger is down")

    return router


@pytest.fixture(params=["sqlite", "redis"])
def backend(request) -> dict:  # noqa: ANN001
    return request.getfixturevalue("redis_config") if request.param == "redis" else {}


def alert_app(make_app, config: dict, state: dict | None = None):  # noqa: ANN001, ANN201
    base = {
        "HUB_ADMIN_CHAT_IDS": ",".join(ADMINS),
        "HUB_RETRY_BASE_SECONDS": "0",
        "HUB_ALERT_FAILURES": "100",
    }
    state = state if state is not None else {"failing": True}
    return make_app({**base, **config}, router=switchable_router(state))


def told(hub) -> list[tuple[str, str]]:  # noqa: ANN001
    """(chat, text) of every Telegram message sent, oldest first."""
    sent = [e for e in hub.store.outbox(limit=1000) if e.action == "sendMessage"]
    return [(e.payload["chat_id"], e.payload["text"]) for e in reversed(sent)]


def send_invoice(app) -> str:  # noqa: ANN001
    hub = hub_of(app)
    return post(app.test_client(), stripe_event(hub.settings, "invoice.paid")).json["event_id"]


def test_an_event_going_dead_tells_every_admin_chat_once(make_app, backend, admin_headers) -> None:  # noqa: ANN001
    app = alert_app(make_app, {**backend, "HUB_MAX_ATTEMPTS": "2"})
    hub = hub_of(app)
    event_id = send_invoice(app)
    assert hub.store.get(event_id).status == "failed"
    assert told(hub) == [], "a failed attempt that will be retried is no alert"

    hub.sweep()
    assert hub.store.get(event_id).status == "dead"
    messages = told(hub)
    assert sorted(chat for chat, _ in messages) == list(ADMINS)
    for _, text in messages:
        assert event_id in text and "dead after 2 attempt(s)" in text and "the ledger is down" in text
    hub.sweep()
    hub.sweep()
    assert len(told(hub)) == 2, "told once per transition"

    listed = app.test_client().get(f"/admin/api/deliveries?event_id={event_id}", headers=admin_headers).json
    assert sorted((d["address"], d["status"]) for d in listed) == [("900", "sent"), ("901", "sent")]


def test_a_replayed_event_that_goes_dead_again_is_a_new_alert(make_app, backend, admin_headers) -> None:  # noqa: ANN001
    app = alert_app(make_app, {**backend, "HUB_MAX_ATTEMPTS": "1"})
    hub, client = hub_of(app), app.test_client()
    event_id = send_invoice(app)
    assert len(told(hub)) == 2
    replayed = client.post(f"/admin/api/events/{event_id}/replay", headers=admin_headers)
    assert replayed.status_code == 200 and hub.store.get(event_id).status == "dead"
    messages = told(hub)
    chats = [chat for chat, _ in messages]
    assert sorted(chats[:2]) == sorted(chats[2:]) == list(ADMINS)
    assert all("dead after 2 attempt(s)" in text for _, text in messages[2:])
    hub.sweep()
    assert len(told(hub)) == 4


def test_a_source_failing_often_is_told_once_then_its_recovery_once(make_app, backend) -> None:  # noqa: ANN001
    state = {"failing": True}
    config = {**backend, "HUB_ALERT_FAILURES": "3", "HUB_ALERT_WINDOW_SECONDS": "600"}
    app = alert_app(make_app, config, state)
    hub = hub_of(app)
    send_invoice(app)
    send_invoice(app)
    assert told(hub) == [], "under the threshold"
    crossing = send_invoice(app)
    messages = told(hub)
    assert sorted(chat for chat, _ in messages) == list(ADMINS)
    assert "stripe is failing: 3 failed attempts within 10 min" in messages[0][1]
    assert crossing in messages[0][1], "names the event whose failure crossed it"
    for _ in range(3):
        send_invoice(app)
    assert len(told(hub)) == 2, "more failures: no more alerts"

    state["failing"] = False
    send_invoice(app)
    assert len(told(hub)) == 2, "one success inside a window still over the threshold is no recovery"
    real_clock = hub.store.clock
    hub.store.clock = lambda: real_clock() + 601  # the window closed
    recovered = send_invoice(app)
    messages = told(hub)
    assert sorted(chat for chat, _ in messages[2:]) == list(ADMINS)
    assert "stripe recovered" in messages[2][1] and recovered in messages[2][1]
    send_invoice(app)
    assert len(told(hub)) == 4, "recovery is told once"

    state["failing"] = True
    for _ in range(3):
        send_invoice(app)
    assert len(told(hub)) == 6, "a new episode is told again"


def test_two_instances_on_one_redis_tell_each_thing_once(make_app, redis_config) -> None:  # noqa: ANN001
    state = {"failing": True}
    config = {**redis_config, "HUB_ALERT_FAILURES": "2", "HUB_MAX_ATTEMPTS": "1"}
    first, second = alert_app(make_app, config, state), alert_app(make_app, config, state)
    a, b = hub_of(first), hub_of(second)
    dead_one = send_invoice(first)  # dead: told; failure 1
    send_invoice(second)  # dead: told; failure 2 crosses: told
    send_invoice(first)  # dead: told; already in alarm
    a.sweep()
    b.sweep()
    texts = [text for chat, text in told(a) if chat == ADMINS[0]]
    assert sum("is dead" in t for t in texts) == 3
    assert sum("is failing" in t for t in texts) == 1
    assert told(a) == told(b)

    # Both instances notice the same dead transition (one died before clearing its note):
    # the alert's id names the transition, so it is recorded once.
    a.store.kv_put(alerts.DYING, dead_one, {"attempt": 1})
    b.store.kv_put(alerts.DYING, dead_one, {"attempt": 1})
    assert alerts.settle_dying(a) == 1 and alerts.settle_dying(b) == 0
    a.sweep()
    b.sweep()
    assert len([t for chat, t in told(a) if chat == ADMINS[0]]) == 4


def test_a_crash_between_going_dead_and_recording_the_alert_loses_nothing(
    make_app,
    backend,
    monkeypatch,  # noqa: ANN001
) -> None:
    app = alert_app(make_app, {**backend, "HUB_MAX_ATTEMPTS": "1"})
    hub = hub_of(app)
    real_add = hub.store.add_deliveries

    def store_gone(deliveries):  # noqa: ANN001, ANN202 - the process dies right after the dead write
        raise ConnectionError("the store went away")

    monkeypatch.setattr(hub.store, "add_deliveries", store_gone)
    event_id = send_invoice(app)
    assert hub.store.get(event_id).status == "dead"
    assert told(hub) == []
    monkeypatch.setattr(hub.store, "add_deliveries", real_add)

    hub.sweep()
    assert sorted(chat for chat, _ in told(hub)) == list(ADMINS)
    assert all(event_id in text for _, text in told(hub))
    hub.sweep()
    assert len(told(hub)) == 2
    assert hub.store.kv_items(alerts.DYING) == {}


def test_a_crashed_alert_is_still_told_when_the_event_was_replayed_before_the_sweep(
    make_app,
    monkeypatch,
    admin_headers,  # noqa: ANN001
) -> None:
    state = {"failing": True}
    app = alert_app(make_app, {"HUB_MAX_ATTEMPTS": "1"}, state)
    hub = hub_of(app)
    real_add = hub.store.add_deliveries
    monkeypatch.setattr(hub.store, "add_deliveries", lambda deliveries: 1 / 0)  # dies before recording
    event_id = send_invoice(app)
    monkeypatch.setattr(hub.store, "add_deliveries", real_add)
    state["failing"] = False
    client = app.test_client()
    assert client.post(f"/admin/api/events/{event_id}/replay", headers=admin_headers).status_code == 200
    assert hub.store.get(event_id).status == "done"

    hub.sweep()  # attempt 1 died (its history says so): told, with that attempt's error
    messages = told(hub)
    assert sorted(chat for chat, _ in messages) == list(ADMINS)
    assert all("dead after 1 attempt(s): RuntimeError: the ledger is down" in text for _, text in messages)
    hub.sweep()
    assert len(told(hub)) == 2


def test_an_event_no_handler_took_is_no_recovery(make_app) -> None:  # noqa: ANN001
    state = {"failing": True}
    app = alert_app(make_app, {"HUB_ALERT_FAILURES": "1", "HUB_ALERT_WINDOW_SECONDS": "60"}, state)
    hub = hub_of(app)
    send_invoice(app)
    assert len(told(hub)) == 2
    real_clock = hub.store.clock
    hub.store.clock = lambda: real_clock() + 61
    client = app.test_client()
    post(client, stripe_event(hub.settings, "customer.created"))  # no handler for it here
    assert len(told(hub)) == 2, "nothing ran, so nothing recovered"
    state["failing"] = False
    send_invoice(app)
    recovery = told(hub)[2:]
    assert len(recovery) == 2 and all("stripe recovered" in text for _, text in recovery)


def test_without_admin_chats_nothing_is_recorded(make_app, backend) -> None:  # noqa: ANN001
    app = alert_app(
        make_app, {**backend, "HUB_ADMIN_CHAT_IDS": None, "HUB_MAX_ATTEMPTS": "1", "HUB_ALERT_FAILURES": "1"}
    )
    hub = hub_of(app)
    event_id = send_invoice(app)
    send_invoice(app)
    hub.sweep()
    assert hub.store.get(event_id).status == "dead"
    assert told(hub) == [] and hub.store.deliveries() == []
    assert hub.store.kv_items(alerts.DYING) == {} and hub.store.kv_items(alerts.SOURCES) == {}
    assert hub.store.hits(alerts.FAILURES, "stripe") == (0, 0.0)


def test_an_alert_carries_no_secret(make_app) -> None:  # noqa: ANN001
    router = Router()
    token = "sk_test_leaky_0123456789abcdef"

    @router.on("stripe", "invoice.paid")
    def leak(event, ctx):  # noqa: ANN001, ANN202
        raise RuntimeError(f"Stripe said no to key {token} for +4915112345678")

    app = make_app(
        {
            "HUB_ADMIN_CHAT_IDS": "900",
            "HUB_MAX_ATTEMPTS": "1",
            "STRIPE_API_KEY": token,
            "HUB_ALERT_FAILURES": "1",
        },
        router=router,
    )
    hub = hub_of(app)
    send_invoice(app)
    texts = [text for _, text in told(hub)]
    assert len(texts) == 2  # dead, and the source crossing a threshold of 1
    assert all("Stripe said no" in text for text in texts)
    assert not any(token in text or "+4915112345678" in text for text in texts)


@pytest.mark.parametrize("name, value", [("HUB_ALERT_FAILURES", "0"), ("HUB_ALERT_WINDOW_SECONDS", "soon")])
def test_a_bad_alert_setting_stops_start_up_naming_it(make_app, name, value) -> None:  # noqa: ANN001
    from hub.errors import ConfigError

    with pytest.raises(ConfigError, match=name):
        make_app({name: value})


def test_live_alerts_reach_the_bot_api_and_a_failed_one_is_replayable_like_any_delivery(
    make_app,
    bot_api,
    admin_headers,  # noqa: ANN001
) -> None:
    live = {
        "HUB_DRY_RUN": "0",
        "TELEGRAM_BOT_TOKEN": "123:ABC",
        "TELEGRAM_API_URL": bot_api.url,
        "HUB_MAX_ATTEMPTS": "1",
        "HUB_ALERT_FAILURES": "100",
    }
    app = alert_app(make_app, live)
    hub, client = hub_of(app), app.test_client()
    bot_api.fail("sendMessage", 500, chat_id="901", times=ATTEMPTS)  # that chat's one attempt fails
    event_id = send_invoice(app)
    assert [m["chat_id"] for m in bot_api.sent()] == ["900"]
    assert event_id in bot_api.sent()[0]["text"] and "is dead" in bot_api.sent()[0]["text"]
    by_chat = {d.address: d for d in hub.store.deliveries(event_id=event_id)}
    assert (by_chat["900"].status, by_chat["901"].status) == ("sent", "dead")

    replayed = client.post(f"/admin/api/deliveries/{by_chat['901'].id}/replay", headers=admin_headers)
    assert replayed.status_code == 200
    hub.tasks.drain()
    assert sorted(m["chat_id"] for m in bot_api.sent()) == ["900", "901"]
    hub.sweep()
    assert len(bot_api.sent()) == 2
