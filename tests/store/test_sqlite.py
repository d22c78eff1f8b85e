"""SQLite specifics: the file's journal mode, closing releases every connection, and
writes from several threads share a commit (group commit)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hub.store.sqlite import SQLiteStore
from tests.deliveries.test_query_plans import record_statements, scans
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


def test_writes_wait_for_the_disk_though_the_schema_did_not(tmp_path: Path) -> None:
    """The schema is made with synchronous=NORMAL (~20 fsyncs saved at a cold start) on a
    connection that is closed, so every pooled one, which writes events, is still FULL."""
    path = tmp_path / "hub.sqlite3"
    store = SQLiteStore(path)
    assert open_handles(path) == 0  # the schema's connection did not join the pool

    store.record(stripe_like("evt_1"))

    with store._connection() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: on disk before the ack
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    store.close()


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


class CommitSpy:
    """Counts the commits a store makes and the writes in each."""

    def __init__(self, store: SQLiteStore) -> None:
        self.batches: list[int] = []
        commit = store._commit

        def counted(batch):  # noqa: ANN001, ANN202
            self.batches.append(len(batch))
            return commit(batch)

        store._commit = counted  # type: ignore[method-assign]


def held_file_lock(path: Path) -> int:
    """Another process's writer, as SQLiteStore's lock file sees it (flock on its own file)."""
    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def wait_for_queue(store: SQLiteStore, length: int) -> None:
    deadline = time.monotonic() + 5
    while len(store._pending) < length and time.monotonic() < deadline:
        time.sleep(0.01)


def test_writes_queued_by_threads_share_one_commit_and_all_land(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    store = SQLiteStore(path)
    spy = CommitSpy(store)
    fd = held_file_lock(path)  # the first leader waits here while the others queue
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(store.record, stripe_like(f"evt_{n}")) for n in range(16)]
        wait_for_queue(store, 15)
        fcntl.flock(fd, fcntl.LOCK_UN)
        results = [f.result(timeout=10) for f in futures]
    os.close(fd)

    assert all(not r.duplicate for r in results)
    assert sum(spy.batches) == 16 and len(spy.batches) == 2  # the first alone, then the 15 queued
    reopened = SQLiteStore(path)
    assert len(reopened.events(limit=100)) == 16
    store.close()
    reopened.close()


def test_a_write_that_breaks_a_constraint_fails_alone_in_its_batch(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    store = SQLiteStore(path)
    store._execute("INSERT INTO kv (namespace, key, value) VALUES ('t', 'taken', '{}')")
    spy = CommitSpy(store)
    fd = held_file_lock(path)
    statements = [
        ("INSERT INTO kv (namespace, key, value) VALUES ('t', 'a', '{}')", None),
        ("INSERT INTO kv (namespace, key, value) VALUES ('t', 'taken', '{}')", sqlite3.IntegrityError),
        # Writes a row, then breaks the constraint with the next: neither may land.
        (
            "INSERT INTO kv (namespace, key, value) VALUES ('t', 'c', '{}'), ('t', 'taken', '{}')",
            sqlite3.IntegrityError,
        ),
        ("INSERT INTO kv (namespace, key, value) VALUES ('t', 'b', '{}')", None),
    ]
    with ThreadPoolExecutor(4) as pool:
        lead = "INSERT INTO kv (namespace, key, value) VALUES ('t', 'lead', '{}')"
        first = pool.submit(store._execute, lead)
        time.sleep(0.1)  # the leader now waits on the file lock
        futures = [pool.submit(store._execute, sql) for sql, _ in statements]
        wait_for_queue(store, 4)
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert first.result(timeout=10) == 1
        for future, (_, error) in zip(futures, statements, strict=True):
            if error is None:
                assert future.result(timeout=10) == 1
            else:
                with pytest.raises(error):
                    future.result(timeout=10)
    os.close(fd)

    assert spy.batches == [1, 4]
    assert sorted(store.kv_items("t")) == ["a", "b", "lead", "taken"]
    store.close()


def test_an_events_calls_are_found_through_an_index_not_a_scan(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """The dashboard's outbox for one event (and the admin API's `?event_id=`) must not read
    every call ever made: at 100,000 messages that is the whole outbox per page view."""
    store = SQLiteStore(tmp_path / "hub.sqlite3")
    seen = record_statements(monkeypatch)
    store.outbox(event_id="evt_1", limit=50)
    store.close()
    reads = [(db, sql, params) for db, sql, params in seen if "FROM outbox" in sql]
    assert reads, "the listing read the outbox"
    assert [scans(*read) for read in reads] == [[] for _ in reads]
