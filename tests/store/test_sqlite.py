"""SQLite specifics: the file's journal mode, and closing releases every connection."""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hub.store.sqlite import SQLiteStore
from tests.store.conftest import stripe_like


def open_handles(path: Path) -> int:
    """How many file descriptors of this process point at `path` (Linux /proc)."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path.resolve()))


def test_the_database_uses_wal_so_readers_never_block_the_writer(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "hub.sqlite3")
    store.close()

    with sqlite3.connect(tmp_path / "hub.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_close_releases_connections_made_in_other_threads(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    store = SQLiteStore(path)
    with ThreadPoolExecutor(8) as pool:  # threads still alive when the store closes
        list(pool.map(lambda n: store.record(stripe_like(f"evt_{n}")), range(64)))
        assert open_handles(path) >= 1

        store.close()

        assert open_handles(path) == 0


def test_a_thread_per_request_reuses_connections(tmp_path: Path) -> None:
    """A threaded server starts a thread per request; each must not open its own connection."""
    path = tmp_path / "hub.sqlite3"
    store = SQLiteStore(path)
    for n in range(50):
        with ThreadPoolExecutor(1) as pool:  # a fresh thread each time
            pool.submit(store.record, stripe_like(f"evt_{n}")).result()

    assert open_handles(path) == 1
    store.close()
