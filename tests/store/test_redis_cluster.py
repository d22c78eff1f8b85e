"""hub on a Redis Cluster (as ElastiCache Serverless and MemoryDB serve Redis), reached
through any node: webhooks, cache and /healthz work whichever node REDIS_URL names."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest
from flask import Flask

from hub.events import DONE, Event
from hub.runtime import hub_of
from hub.simulate import stripe_event, telegram_message
from tests.auxil.redis import unique_prefix
from tests.auxil.server import serving
from tests.conftest import post
from tests.store.conftest import off_slot_url
from tests.store.redis_cluster import LocalCluster
from tests.store.storm_server import STORM_TYPE, counting_router
from tests.store.test_http_storm import DELIVERIES, deliver, stored_copies

pytestmark = pytest.mark.redis


def cluster_app(make_app: Callable[..., Flask], url: str, prefix: str, **config: str) -> Flask:
    return make_app({"REDIS_URL": url, "HUB_REDIS_PREFIX": prefix, **config})


def test_through_a_node_that_does_not_own_the_slot_every_webhook_is_stored(
    make_app: Callable[..., Flask], redis_cluster: LocalCluster
) -> None:
    """The reported failure: pointed at either non-owning node, every webhook answered 500
    (MovedError) and /healthz said the cache was down."""
    prefix = unique_prefix()
    app = cluster_app(make_app, off_slot_url(redis_cluster, prefix), prefix)
    hub, client = hub_of(app), app.test_client()

    answers = [post(client, stripe_event(hub.settings, "invoice.paid")) for _ in range(3)]
    answers.append(post(client, telegram_message(hub.settings, "/help")))

    assert [a.status_code for a in answers] == [200] * 4, answers[0].get_data(as_text=True)
    twice = stripe_event(hub.settings, "invoice.paid", event_id="evt_twice")
    assert [post(client, twice).json["duplicate"] for _ in range(2)] == [False, True]
    assert len(hub.store.events()) == 5
    health = client.get("/healthz")
    assert health.status_code == 200, health.json
    assert health.json["store"]["ok"] and health.json["cache"]["ok"]


def test_a_storm_through_every_node_stores_one_event_and_runs_its_handler_once(
    make_app: Callable[..., Flask], redis_cluster: LocalCluster
) -> None:
    """Three hubs, each pointed at a different node, take the same delivery at once."""
    runs: list[str] = []
    lock = threading.Lock()

    def on_run(event: Event) -> None:
        with lock:
            runs.append(event.id)

    prefix = unique_prefix()
    router = counting_router(on_run)
    apps = [
        make_app({"REDIS_URL": url, "HUB_REDIS_PREFIX": prefix}, router=router) for url in redis_cluster.urls
    ]
    hub = hub_of(apps[0])
    provider_id = "evt_storm_" + uuid.uuid4().hex
    signed = stripe_event(hub.settings, STORM_TYPE, event_id=provider_id)

    with serving(apps[0]) as one, serving(apps[1]) as two, serving(apps[2]) as three:
        statuses = deliver([one, two, three], signed)

    assert statuses == [200] * DELIVERIES
    [stored] = stored_copies(hub.store, provider_id)
    assert runs == [stored.id]
    assert (stored.status, stored.attempts) == (DONE, 1)
    assert len(hub.store.outbox(event_id=stored.id)) == 1
