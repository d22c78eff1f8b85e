"""hub on a Redis Cluster (as ElastiCache Serverless and MemoryDB serve Redis), reached
through any node: webhooks, cache and /healthz work whichever node REDIS_URL names."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask

from hub.events import DONE, Event
from hub.services import hub_of
from integrations.samples import google_push, stripe_event, telegram_message, twilio_sms
from tests.auxil.redis import unique_prefix
from tests.auxil.server import serving
from tests.conftest import post
from tests.store.conftest import drop_redis_prefix, off_slot_url
from tests.store.racers import race
from tests.store.redis_cluster import LocalCluster, make_tls_files
from tests.store.storm_server import STORM_TYPE, counting_router
from tests.store.test_http_storm import DELIVERIES, deliver, stored_copies

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix(redis_cluster: LocalCluster) -> Iterator[str]:
    """A key prefix of this test's own on the session's cluster, dropped afterwards."""
    mine = unique_prefix()
    yield mine
    drop_redis_prefix(redis_cluster.urls[0], mine)


def cluster_app(make_app: Callable[..., Flask], url: str, prefix: str, **config: str) -> Flask:
    return make_app({"REDIS_URL": url, "HUB_REDIS_PREFIX": prefix, **config})


def test_through_a_node_that_does_not_own_the_slot_every_webhook_is_stored(
    make_app: Callable[..., Flask], redis_cluster: LocalCluster, prefix: str
) -> None:
    """The reported failure: pointed at either non-owning node, every webhook answered 500
    (MovedError) and /healthz said the cache was down."""
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
    make_app: Callable[..., Flask], redis_cluster: LocalCluster, prefix: str
) -> None:
    """Three hubs, each pointed at a different node, take the same delivery at once."""
    runs: list[str] = []
    lock = threading.Lock()

    def on_run(event: Event) -> None:
        with lock:
            runs.append(event.id)

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
    make_app: Callable[..., Flask], redis_cluster: LocalCluster, prefix: str
) -> None:
    """Webhooks (each delivered twice) through every node while the slot is migrated key by
    key to another node and on to the third: ASK, MOVED and TRYAGAIN all happen."""
    runs: list[str] = []
    lock = threading.Lock()

    def on_run(event: Event) -> None:
        with lock:
            runs.append(event.provider_id)

    slot = redis_cluster.slot_of(prefix)
    router = counting_router(on_run)
    apps = [
        make_app({"REDIS_URL": url, "HUB_REDIS_PREFIX": prefix}, router=router) for url in redis_cluster.urls
    ]
    settings = hub_of(apps[0]).settings
    for n in range(300):  # keys in the slot, so that moving it takes a while
        post(apps[0].test_client(), stripe_event(settings, STORM_TYPE, event_id=f"evt_before_{n}"))
    answers: list[tuple[str, int, tuple[float, float]]] = []  # provider id, status, (sent, answered)
    moves: list[tuple[float, float]] = []  # (began, ended) of each slot move
    failures: list[BaseException] = []
    moved = threading.Event()

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
    assert sorted(runs) == sorted(e.provider_id for e in stored), "each handler ran once"
    assert len([e for e in stored if e.provider_id.startswith("evt_before_")]) == 300
    assert {e.status for e in stored} == {DONE}, "every handler's outbound call was recorded too"


def test_every_key_hub_writes_carries_the_prefixs_hash_tag(
    make_app: Callable[..., Flask], redis_cluster: LocalCluster, prefix: str
) -> None:
    """One slot for everything: Lua scripts and MULTI over several keys need it on a cluster.
    Every new key in the whole cluster after a day's kinds of traffic is under the prefix."""
    before = all_keys(redis_cluster)
    app = cluster_app(make_app, off_slot_url(redis_cluster, prefix), prefix)
    hub, client = hub_of(app), app.test_client()
    traffic = [
        stripe_event(hub.settings, "invoice.paid"),
        stripe_event(hub.settings, "customer.subscription.created"),
        telegram_message(hub.settings, "/help"),
        telegram_message(hub.settings, "/subscribe Oslo"),
        twilio_sms(hub.settings, "http://localhost", "hello"),
        google_push(hub.settings),
    ]
    statuses = [post(client, signed).status_code for signed in traffic]
    hub.cache.set("weather:oslo", {"temp": 3.5})  # as integrations.weather caches
    assert client.get("/healthz").status_code == 200
    failed = hub.store.claim(hub.store.events()[0].id, lease_seconds=60, force=True)
    hub.store.fail(failed, "provider timeout", retry_at=time.time() + 60)  # type: ignore[arg-type]

    assert statuses == [200] * len(traffic)
    written = all_keys(redis_cluster) - before
    strays = sorted(key for key in written if not key.startswith(prefix))
    assert not strays, f"keys outside the prefix {prefix!r}: {strays}"
    kinds = {key[len(prefix) :].split(":")[0] for key in written}
    assert {
        "dedup",
        "event",
        "events",
        "due",
        "by",
        "outbox",
        "outbox-of",
        "kv",
        "cache",
        "attempts",
        "dlv",
        "dlvs",
        "dlvs-of",
    } <= kinds, kinds
    assert {redis_cluster.slot_of(key) for key in written} == {redis_cluster.slot_of(prefix)}


def all_keys(cluster: LocalCluster) -> set[str]:
    keys: set[str] = set()
    for port in cluster.ports:
        with cluster.node(port) as node:
            keys.update(node.scan_iter(count=1000))
    return keys


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    """A 3-master cluster for one test that breaks it."""
    cluster = LocalCluster.started(tmp_path / "cluster")
    yield cluster
    cluster.stop()


@pytest.mark.slow
def test_healthz_and_webhooks_say_unavailable_when_the_node_serving_hubs_slot_is_down(
    make_app: Callable[..., Flask], own_cluster: LocalCluster
) -> None:
    """The other nodes still answer PING; what matters is the slot hub's keys live in."""
    prefix = unique_prefix()
    owner = own_cluster.owner(own_cluster.slot_of(prefix))
    app = cluster_app(make_app, off_slot_url(own_cluster, prefix), prefix)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200

    own_cluster.processes[owner].kill()
    own_cluster.processes[owner].wait(timeout=10)
    health = client.get("/healthz")
    refused = post(client, stripe_event(hub_of(app).settings, "invoice.paid"))

    assert health.status_code == 503
    assert (health.json["store"]["ok"], health.json["cache"]["ok"]) == (False, False)
    assert refused.status_code == 503 and refused.json["error"] == "store_unavailable"


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A one-node cluster (every slot on it) that speaks TLS only, as managed services do."""
    folder = tmp_path_factory.mktemp("tls-cluster")
    cluster = LocalCluster.started(folder, masters=1, tls=make_tls_files(folder))
    yield cluster
    cluster.stop()


def test_a_rediss_url_reaches_a_tls_cluster_with_its_certificate_checked(
    make_app: Callable[..., Flask], tls_cluster: LocalCluster
) -> None:
    [url] = tls_cluster.urls  # rediss://127.0.0.1:<port>/0?ssl_ca_certs=<the test CA>
    app = cluster_app(make_app, url, unique_prefix())
    client = app.test_client()

    answer = post(client, stripe_event(hub_of(app).settings, "invoice.paid"))

    assert answer.status_code == 200, answer.get_data(as_text=True)
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["store"]["cluster"] is True
    assert len(hub_of(app).store.events()) == 1


def test_a_tls_server_whose_certificate_is_not_trusted_is_unavailable_not_ignored(
    make_app: Callable[..., Flask], tls_cluster: LocalCluster
) -> None:
    """Without the CA (system CAs only) the handshake fails: 503, never an unchecked link."""
    untrusted = tls_cluster.urls[0].partition("?")[0]
    app = cluster_app(make_app, untrusted, unique_prefix())
    client = app.test_client()

    answer = post(client, stripe_event(hub_of(app).settings, "invoice.paid"))

    assert answer.status_code == 503 and answer.json["error"] == "store_unavailable"
    assert client.get("/healthz").status_code == 503


def test_a_plain_url_to_a_tls_port_is_unavailable(
    make_app: Callable[..., Flask], tls_cluster: LocalCluster
) -> None:
    plain = "redis://" + tls_cluster.urls[0].partition("://")[2].partition("?")[0]
    app = cluster_app(make_app, plain, unique_prefix())

    assert post(app.test_client(), stripe_event(hub_of(app).settings, "invoice.paid")).status_code == 503


@pytest.mark.parametrize("mode", ["1", "auto"])
def test_cluster_mode_may_be_set_instead_of_asked(
    make_app: Callable[..., Flask], redis_cluster: LocalCluster, prefix: str, mode: str
) -> None:
    """HUB_REDIS_CLUSTER=1 skips the INFO question (for a service that refuses INFO)."""
    app = cluster_app(make_app, off_slot_url(redis_cluster, prefix), prefix, HUB_REDIS_CLUSTER=mode)

    assert post(app.test_client(), stripe_event(hub_of(app).settings, "invoice.paid")).status_code == 200
    assert hub_of(app).store.client.cluster is True  # type: ignore[attr-defined]


def test_a_single_server_is_asked_once_and_stays_a_plain_client(make_app: Callable[..., Flask]) -> None:
    from tests.auxil.redis import require_redis

    app = make_app({"REDIS_URL": require_redis(), "HUB_REDIS_PREFIX": unique_prefix()})
    client = app.test_client()

    assert client.get("/healthz").json["store"] == {"backend": "redis", "ok": True, "cluster": False}
