"""Redis stops mid-run: webhooks answer 503 (providers deliver again), nothing acknowledged
is lost, nothing refused is recorded, and hub recovers by itself when Redis returns."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event, telegram_message
from tests.conftest import post
from tests.faults.private_redis import PrivateRedis

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:  # noqa: ANN001
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None:
        server.resume()
    server.kill()


def test_webhooks_answer_503_while_redis_is_down_and_nothing_acknowledged_is_lost(
    make_app, private_redis
) -> None:  # noqa: ANN001
    app = make_app({"REDIS_URL": private_redis.url})
    hub, client = hub_of(app), app.test_client()
    before = [stripe_event(hub.settings, "invoice.paid") for _ in range(3)]
    acknowledged = [post(client, signed).json["event_id"] for signed in before]
    assert client.get("/healthz").status_code == 200

    private_redis.kill()
    during = stripe_event(hub.settings, "invoice.paid", event_id="evt_during_outage")
    for signed in (during, telegram_message(hub.settings, "/help")):
        refused = post(client, signed)
        assert refused.status_code == 503, refused.get_data(as_text=True)
        assert refused.json["error"] == "store_unavailable"
        assert "deliver again" in refused.json["message"]
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["store"]["ok"] is False

    private_redis.start()  # same folder: the append-only file brings the data back
    assert client.get("/healthz").status_code == 200
    assert {e.id for e in hub.store.events()} == set(acknowledged), "acknowledged events survive"
    assert all(hub.store.get(i).status == "done" for i in acknowledged)
    redelivered = post(client, during)  # the provider's retry of the refused delivery
    assert redelivered.status_code == 200 and redelivered.json["duplicate"] is False
    assert post(client, before[0]).json["duplicate"] is True, "dedup memory survived too"
    assert len(hub.store.events()) == 4


def test_a_hung_redis_gets_503_and_the_redelivery_runs_exactly_once(make_app, private_redis) -> None:  # noqa: ANN001
    """A hung Redis is an ambiguous write: the 503 is sent after the socket timeout, yet the
    queued insert may still run when Redis wakes. The provider's redelivery must then be
    acknowledged as a duplicate and the event must still run once (the sweep takes it)."""
    runs: list[str] = []
    router = Router()
    router.add_handler("stripe", "invoice.paid", lambda event, ctx: runs.append(event.provider_id))
    app = make_app({"REDIS_URL": private_redis.url, "HUB_LEASE_SECONDS": "60"}, router=router)
    hub, client = hub_of(app), app.test_client()
    assert post(client, stripe_event(hub.settings, "invoice.paid", event_id="evt_before")).status_code == 200
    hung = stripe_event(hub.settings, "invoice.paid", event_id="evt_hung")
    private_redis.pause()
    try:
        refused = post(client, hung)
        assert refused.status_code == 503 and refused.json["error"] == "store_unavailable"
    finally:
        private_redis.resume()
    assert post(client, hung).status_code == 200  # the provider delivers again
    clock = time.time() + 3600
    hub.store.clock = lambda: clock  # past any lease: the sweep takes whatever is left
    hub.sweep()
    assert sorted(runs) == ["evt_before", "evt_hung"], "each event ran exactly once"
    assert {e.status for e in hub.store.events()} == {"done"}


def test_a_redis_restart_while_hub_is_idle_costs_no_webhook(make_app, private_redis) -> None:  # noqa: ANN001
    """Redis restarted between two webhooks (a failover, a maintenance window): hub's kept
    connections are dead and the new server knows none of hub's scripts, yet the next
    webhooks, queued or answered inline, are accepted at once rather than answered 503."""
    app = make_app({"REDIS_URL": private_redis.url})
    hub, client = hub_of(app), app.test_client()
    assert post(client, stripe_event(hub.settings, "invoice.paid")).status_code == 200
    assert post(client, telegram_message(hub.settings, "/help")).status_code == 200

    private_redis.kill()
    private_redis.start()

    queued = post(client, stripe_event(hub.settings, "invoice.paid"))
    assert queued.status_code == 200, queued.get_data(as_text=True)
    inline = post(client, telegram_message(hub.settings, "/help"))
    assert inline.status_code == 200 and inline.json["method"] == "sendMessage"
    assert hub.store.get(queued.json["event_id"]).status == "done"
    assert len(hub.store.events()) == 4


def test_a_thread_per_request_leaves_no_connection_per_request_open(private_redis) -> None:  # noqa: ANN001
    """`hub serve` (werkzeug's threaded server) runs each request on a new thread: the
    connection a finished thread used for intake must go with it."""
    import gc
    import threading

    import redis

    from hub.store.redis import RedisStore
    from tests.store.conftest import stripe_like

    store = RedisStore(private_redis.url)
    watcher = redis.Redis.from_url(private_redis.url)
    try:
        for n in range(20):
            thread = threading.Thread(target=store.record, args=(stripe_like(f"evt_thread_{n}"),))
            thread.start()
            thread.join()
        gc.collect()
        assert len(store.events(limit=50)) == 20
        assert watcher.info("clients")["connected_clients"] <= 4  # the watcher, the pool's, not 20
    finally:
        watcher.close()
        store.close()
