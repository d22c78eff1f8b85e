"""Work done by racing threads and processes (importable, so spawned processes can run it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from hub.events import Event
from tests.store.conftest import open_backend, stripe_like

T = TypeVar("T")


def race(count: int, work: Callable[[], T], *, barrier: Any = None) -> list[T]:
    """Run `work` in `count` threads released together by one barrier; their results."""
    barrier = barrier or threading.Barrier(count)

    def start_together() -> T:
        barrier.wait(timeout=60)
        return work()

    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(start_together) for _ in range(count)]
        return [f.result(timeout=120) for f in futures]


def delivery(provider_id: str) -> Event:
    """One delivery of the same Stripe event: its own hub id, the same provider id and body."""
    return stripe_like(provider_id, body=b'{"same": "body"}')


def record_and_claim_in_process(
    backend: str, where: str, provider_id: str, threads: int, barrier: Any, results: Any
) -> None:
    """A second OS process: record the same event from many threads, then race to claim it."""
    store = open_backend(backend, where)
    try:
        # All threads of all processes wait on one cross-process barrier.
        recorded = race(threads, lambda: store.record(delivery(provider_id)), barrier=barrier)
        event_id = recorded[0].event.id
        claims = race(threads, lambda: store.claim(event_id, lease_seconds=60), barrier=barrier)
        results.put(
            {
                "new": sum(not r.duplicate for r in recorded),
                "ids": sorted({r.event.id for r in recorded}),
                "claims": sum(c is not None for c in claims),
            }
        )
    finally:
        store.close()
