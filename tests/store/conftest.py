"""Store fixtures: every conformance test runs on SQLite (a temp file) and on the real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.events import Event, body_digest
from hub.store import Store
from tests.auxil.redis import drop_prefix
from tests.store.redis_cluster import LocalCluster

START = 1_700_000_000.0


class Clock:
    """A hand-moved clock: tests step time instead of sleeping."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def redis_prefix() -> str:
    """A fresh key prefix (its own hash tag) so parallel tests never share keys."""
    return "{hubtest-" + uuid.uuid4().hex[:12] + "}:"


def open_backend(backend: str, where: str, **kwargs: Any) -> Store:
    """A store on `where`: a SQLite path, or `redis_url|prefix` for Redis."""
    if backend == "sqlite":
        from hub.store.sqlite import SQLiteStore

        return SQLiteStore(where, **kwargs)
    from hub.store.redis import RedisStore

    url, _, prefix = where.partition("|")
    return RedisStore(url, prefix=prefix, **kwargs)


drop_redis_prefix = drop_prefix  # one cleanup for every Redis test (tests/auxil/redis.py)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A 3-master Redis Cluster for the whole session (skipped without redis-server)."""
    cluster = LocalCluster.started(tmp_path_factory.mktemp("redis-cluster"))
    yield cluster
    cluster.stop()


def off_slot_url(cluster: LocalCluster, prefix: str) -> str:
    """A node that does not serve `prefix`'s slot: a client that ignores MOVED fails there."""
    return cluster.url(cluster.others(cluster.slot_of(prefix))[0])


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
def backend_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(backend, location) shared by every store a test opens: a SQLite file or a Redis prefix.

    On the cluster the store is pointed at a node that does not own the prefix's slot."""
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "hub.sqlite3")
        return
    prefix = redis_prefix()
    if request.param == "redis-cluster":
        url = off_slot_url(request.getfixturevalue("redis_cluster"), prefix)
    else:
        url = request.getfixturevalue("redis_url")
    yield request.param, f"{url}|{prefix}"
    drop_redis_prefix(url, prefix)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def open_store(backend_location: tuple[str, str], clock: Clock) -> Iterator[Callable[..., Store]]:
    """Open more stores on the same data (a second process would do the same)."""
    opened: list[Store] = []

    def build(**kwargs: Any) -> Store:
        store = open_backend(*backend_location, clock=clock, **kwargs)
        opened.append(store)
        return store

    yield build
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[..., Store]) -> Store:
    return open_store()


def stripe_like(
    provider_id: str = "evt_1",
    *,
    at: float = START,
    body: bytes | None = None,
    type: str = "invoice.paid",
    source: str = "stripe",
) -> Event:
    """An event as the Stripe verifier makes it: payload, provider id and body digest."""
    payload = {"id": provider_id, "type": type, "data": {"object": {"amount": 1200}}}
    raw = body if body is not None else repr(payload).encode()
    return Event(
        source=source,
        type=type,
        provider_id=provider_id,
        payload=payload,
        received_at=at,
        body_sha256=body_digest(raw),
    )
