"""Counters in a time window (login throttling), on SQLite and on the real Redis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest


def test_hits_count_within_a_window_that_opens_at_the_first(store, clock) -> None:  # noqa: ANN001
    assert store.hits("login", "10.0.0.1") == (0, 0.0)
    assert store.hit("login", "10.0.0.1", window_seconds=60) == (1, 60.0)
    clock.advance(20)
    assert store.hit("login", "10.0.0.1", window_seconds=60) == (2, pytest.approx(40.0))
    assert store.hits("login", "10.0.0.1") == (2, pytest.approx(40.0))
    assert store.hits("login", "10.0.0.2") == (0, 0.0), "each key counts alone"
    assert store.hits("other", "10.0.0.1") == (0, 0.0), "each namespace too"

    clock.advance(40)  # the window closed
    assert store.hits("login", "10.0.0.1") == (0, 0.0)
    assert store.hit("login", "10.0.0.1", window_seconds=60) == (1, 60.0), "a new window"


def test_concurrent_hits_from_two_stores_are_never_lost(open_store) -> None:  # noqa: ANN001
    """Two processes (two stores on the same data), 8 threads each: every hit counts."""
    stores = [open_store(), open_store()]
    with ThreadPoolExecutor(16) as pool:
        counts = list(pool.map(lambda i: stores[i % 2].hit("login", "c", window_seconds=60)[0], range(64)))
    assert stores[0].hits("login", "c")[0] == 64
    assert max(counts) == 64 and min(counts) >= 1
