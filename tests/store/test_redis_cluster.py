"""hub on a Redis Cluster (as ElastiCache Serverless and MemoryDB serve Redis), reached
through any node: webhooks, cache and /healthz work whichever node REDIS_URL names."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
import requests
from flask import Flask

from hub.events import DONE, Event
from hub.runtime import hub_of
from hub.simulate import stripe_event, telegram_message
from tests.auxil.redis import unique_prefix
from tests.auxil.server import serving
from tests.conftest import post
from tests.store.conftest import off_slot_url
from tests.store.racers import race
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


def test_while_hubs_slot_moves_between_nodes_no_delivery_fails_or_is_lost_or_runs_twice(
    make_app: Callable[..., Flask], redis_cluster: LocalCluster
) -> None:
    """Webhooks (each delivered twice) through every node while the slot is migrated key by
    key to another node and on to the third: ASK, MOVED and TRYAGAIN all happen."""
    runs: list[str] = []
    lock = threading.Lock()

    def on_run(event: Event) -> None:
        with lock:
            runs.append(event.provider_id)

    prefix = unique_prefix()
    slot = redis_cluster.slot_of(prefix)
    router = counting_router(on_run)
    apps = [
        make_app({"REDIS_URL": url, "HUB_REDIS_PREFIX": prefix}, router=router) for url in redis_cluster.urls
    ]
    settings = hub_of(apps[0]).settings
    for n in range(300):  # keys in the slot, so that moving it takes a while
        post(apps[0].test_client(), stripe_event(settings, STORM_TYPE, event_id=f"evt_before_{n}"))
    answers: list[tuple[str, int]] = []
    moved = threading.Event()

    failures: list[BaseException] = []

    moves: list[tuple[float, float]] = []

    def migrate() -> None:
        try:
            for target in redis_cluster.others(slot):
                began = time.monotonic()
                redis_cluster.move_slot(slot, target)
                moves.append((began, time.monotonic()))
        except BaseException as exc:
            failures.append(exc)
            raise
        finally:
            moved.set()

    def deliver_during(urls: list[str], worker: int) -> None:
        session = requests.Session()
        for n in itertools.count():
            if moved.is_set() and n >= 20 or n >= 2000:
                return
            provider_id = f"evt_during_{worker}_{n}"
            signed = stripe_event(settings, STORM_TYPE, event_id=provider_id)
            for url in (urls[n % 3], urls[(n + 1) % 3]):  # the provider's redelivery, via another node
                sent_at = time.monotonic()
                status = session.post(signed.url(url), data=signed.body, headers=signed.headers, timeout=60)
                with lock:
                    answers.append((provider_id, status.status_code, (sent_at, time.monotonic())))

    with serving(apps[0]) as one, serving(apps[1]) as two, serving(apps[2]) as three:
        mover = threading.Thread(target=migrate)
        mover.start()
        race(6, lambda: deliver_during([one, two, three], threading.get_ident()))
        mover.join(timeout=120)

    assert not failures, f"the migration failed ({redis_cluster.folder}): {failures}"
    assert len(moves) == 2
    for began, ended in moves:  # requests were in flight while the slot was half moved
        assert [1 for _, _, (sent, answered) in answers if sent <= ended and answered >= began]
    statuses = Counter(status for _, status, _ in answers)
    assert statuses == {200: len(answers)}, statuses
    sent = {provider_id for provider_id, _, _ in answers}
    stored = [e for e in hub_of(apps[1]).store.events(source="stripe", limit=100_000)]
    during = Counter(e.provider_id for e in stored if e.provider_id.startswith("evt_during_"))
    assert set(during) == sent, "every acknowledged delivery is stored"
    assert max(during.values()) == 1, "a redelivery is a duplicate, not a second event"
    assert Counter(runs)["evt_before_0"] == 1 and all(runs.count(p) == 1 for p in sent)
    assert len([e for e in stored if e.provider_id.startswith("evt_before_")]) == 300
    assert {e.status for e in stored} == {DONE}, "every handler's outbound call was recorded too"
