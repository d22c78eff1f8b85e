"""SQLite backend: the embedded default. Safe under threads (a small pool of connections)
and processes (WAL, writers queued on a file lock, uniqueness enforced by the database).
Every write is on disk before it returns; a process's concurrent writes share the fsync."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hub.deliveries import HELD, PENDING, SENDING, Delivery
from hub.events import STATE_FIELDS, Event
from hub.store.attempts import LEASE_EXPIRED, Attempt
from hub.store.base import KvPage, OutboxEntry, Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    type TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    received_at REAL NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    next_attempt_at REAL,
    lease_until REAL,
    updated_at REAL,
    body_sha256 TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL,
    due_at REAL
);
CREATE INDEX IF NOT EXISTS events_received ON events (received_at DESC);
CREATE INDEX IF NOT EXISTS events_due ON events (due_at) WHERE due_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    integration TEXT NOT NULL,
    action TEXT NOT NULL,
    payload TEXT NOT NULL,
    event_id TEXT,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    ref TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    key TEXT NOT NULL DEFAULT '',
    response TEXT
);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox (created_at DESC);
CREATE INDEX IF NOT EXISTS outbox_ref ON outbox (ref) WHERE ref != '';
CREATE INDEX IF NOT EXISTS outbox_key ON outbox (key) WHERE key != '';
CREATE INDEX IF NOT EXISTS outbox_event ON outbox (event_id, created_at DESC);
CREATE TABLE IF NOT EXISTS attempts (
    event_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    outcome TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, attempt)
);
-- An attempt is kept by the same UPDATE that ends it (or takes over its expired lease),
-- so the history costs no commit of its own; Store._finish and Store.claim say the same.
CREATE TRIGGER IF NOT EXISTS attempt_ended AFTER UPDATE OF status ON events
WHEN OLD.status = 'processing' AND NEW.status IN ('done', 'failed', 'dead')
BEGIN
    INSERT OR REPLACE INTO attempts (event_id, attempt, started_at, finished_at, outcome, error)
    VALUES (NEW.id, OLD.attempts, COALESCE(OLD.updated_at, NEW.updated_at), NEW.updated_at,
            NEW.status, NEW.last_error);
END;
CREATE TRIGGER IF NOT EXISTS attempt_taken_over AFTER UPDATE OF status ON events
WHEN OLD.status = 'processing' AND NEW.status = 'processing' AND NEW.attempts = OLD.attempts + 1
BEGIN
    INSERT OR REPLACE INTO attempts (event_id, attempt, started_at, finished_at, outcome, error)
    VALUES (NEW.id, OLD.attempts, COALESCE(OLD.updated_at, NEW.updated_at), NULL,
            'interrupted', '__LEASE_EXPIRED__');
END;
-- An event stored after its run ended (Store.record_finished: an inline run that only
-- replied) brings its one attempt with it, from its arrival until it was stored.
CREATE TRIGGER IF NOT EXISTS attempt_ran_before_stored AFTER INSERT ON events
WHEN NEW.status IN ('done', 'failed', 'dead')
BEGIN
    INSERT OR REPLACE INTO attempts (event_id, attempt, started_at, finished_at, outcome, error)
    VALUES (NEW.id, NEW.attempts, NEW.received_at, NEW.updated_at, NEW.status, NEW.last_error);
END;
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE TABLE IF NOT EXISTS hits (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    count INTEGER NOT NULL,
    until REAL NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""

_EVENT_COLUMNS = (
    "id",
    "source",
    "type",
    "provider_id",
    "payload",
    "message",
    "received_at",
    "status",
    "attempts",
    "last_error",
    "next_attempt_at",
    "lease_until",
    "updated_at",
    "body_sha256",
    "version",
    "headers",
)
# A state change: only the fields it may alter (hub.events.STATE_FIELDS), in that order.
_SWAP_SQL = (
    f"UPDATE events SET {', '.join(f'{c} = ?' for c in STATE_FIELDS)}, due_at = ?"
    " WHERE id = ? AND version = ?"
)
# Columns added after the first release: (name, definition) for ALTER TABLE on older files.
_ADDED_EVENT_COLUMNS = (("headers", "TEXT NOT NULL DEFAULT ''"),)
_ADDED_OUTBOX_COLUMNS = (
    ("possible_duplicate", "INTEGER NOT NULL DEFAULT 0"),
    ("provider_status", "TEXT NOT NULL DEFAULT ''"),
    ("provider_detail", "TEXT NOT NULL DEFAULT ''"),
)
# The same text every time, so sqlite3's statement cache (per connection) finds it prepared.
_INSERT_COLUMNS = (*_EVENT_COLUMNS, "dedup_key", "due_at")
_INSERT_SQL = (
    f"INSERT INTO events ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})"
    " ON CONFLICT(dedup_key) DO NOTHING"
)


CACHE_KIB = 512  # per connection


class SQLiteStore(Store):
    backend = "sqlite"
    unavailable_errors = (sqlite3.OperationalError,)

    def __init__(self, path: str | Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # A pool, not a connection per thread: a threaded server starts a thread per
        # request, and per-thread connections would be opened for each and never closed.
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # this process's threads take turns leading a commit
        self._pending: list[_Write] = []  # writes waiting for the next commit
        self._pending_lock = threading.Lock()
        self._lock_file: tuple[int, int] | None = None  # (pid, fd): a forked child opens its own
        self._create_schema()

    def _create_schema(self) -> None:
        """The tables, on a connection of its own that never joins the pool.

        Each statement commits alone, and under synchronous=FULL each commit waits for its
        own fsync: ~20 on a new file, 25-130 ms of a cold start on this machine's busy disk
        (a new Lambda instance makes its file at every cold start). NORMAL cannot corrupt a
        WAL database; it can only lose the last commits on power loss, and a lost schema is
        made again at the next start (IF NOT EXISTS). The first durable write, on a pooled
        FULL connection, syncs the WAL with the schema's frames in it.
        """
        conn = self._connect()
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA.replace("__LEASE_EXPIRED__", LEASE_EXPIRED.replace("'", "''")))
            _extend_schema(conn)
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        # Autocommit: every statement is its own transaction, so a row is committed (and
        # visible to other processes' uniqueness checks) before the call returns.
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=30000")
        _enable_wal(conn)
        # FULL: a webhook is acknowledged only after its event is on disk; NORMAL could
        # lose the last commits on power loss, and the provider would not deliver again.
        conn.execute("PRAGMA synchronous=FULL")
        # Each pooled connection keeps its own page cache (2 MiB by default), and a delivery
        # run's senders keep one each busy: 16 of them held 32 MiB once the file outgrew
        # it. The kernel's page cache (shared) serves what this smaller one misses.
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            with self._lock:
                self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        if self._lock_file is not None and self._lock_file[0] == os.getpid():
            os.close(self._lock_file[1])
        self._lock_file = None

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._connection() as conn:
            return conn.execute(sql, params).fetchall()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write, committed (on disk) when this returns; the number of rows it changed.

        Group commit: writes that this process's threads queue while another commit is
        being made go to disk together in the next one, so they share its fsync (the cost
        of a durable write). Each write still succeeds or fails alone (a savepoint each),
        in the order queued.
        """
        write = _Write(sql, params)
        with self._pending_lock:
            self._pending.append(write)
        with self._write_lock:
            if not write.done:  # else an earlier leader committed it while this thread waited
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._commit(batch)
        return write.result()

    def _commit(self, batch: list[_Write]) -> None:
        try:
            with self._file_lock(), self._connection() as conn:
                if len(batch) == 1:  # alone: its own autocommit statement
                    batch[0].run(conn)
                    return
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for write in batch:
                        write.run(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:  # SQLite may have rolled back already (I/O error)
                        conn.execute("ROLLBACK")
                    raise
        except BaseException as error:  # nothing of the batch was committed
            for write in batch:
                write.fail(error)
            if not isinstance(error, Exception):
                raise
        finally:
            for write in batch:
                write.done = True

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """One writer at a time across processes, queued in the kernel.

        SQLite takes one writer anyway; without this, the others wait in its busy handler,
        which sleeps 1 to 100 ms between tries, and that sleep is the p99 under load.
        """
        fd = self._lock_fd()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_fd(self) -> int:
        pid = os.getpid()
        if self._lock_file is None or self._lock_file[0] != pid:
            # flock belongs to the open file: a forked worker must not share its parent's.
            self._lock_file = (pid, os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600))
        return self._lock_file[1]

    def _insert(self, event: Event, *, due_at: float | None, attempt: Attempt | None = None) -> str | None:
        # `attempt` needs no statement: the trigger `attempt_ran_before_stored` keeps it in the
        # INSERT's own transaction, with the same values (Store.record_finished).
        record = event.to_record()
        values = [record[c] for c in _EVENT_COLUMNS] + [event.dedup_key, due_at]
        inserted = self._execute(_INSERT_SQL, values)
        if inserted == 1:
            return None
        return self._known_id(event.dedup_key) or event.id  # purged meanwhile: the base tries again

    def _known_id(self, dedup_key: str) -> str | None:
        rows = self._query("SELECT id FROM events WHERE dedup_key = ?", (dedup_key,))
        return rows[0]["id"] if rows else None

    def _load(self, event_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM events WHERE id = ?", (event_id,))
        return dict(rows[0]) if rows else None

    def _swap(
        self, expected_version: int, event: Event, *, due_at: float | None, attempt: Attempt | None = None
    ) -> bool:
        # `attempt` needs no statement: the triggers `attempt_ended` and `attempt_taken_over`
        # keep it in this UPDATE's own transaction.
        return (
            self._execute(_SWAP_SQL, [*event.state_record().values(), due_at, event.id, expected_version])
            == 1
        )

    def _select(
        self,
        source: str | None,
        status: str | None,
        type: str | None,
        limit: int,
        *,
        after: Event | None = None,
    ) -> list[dict[str, Any]]:
        where, params = _event_filters(source, status, type)
        if after is not None:  # the listing's order: received_at, then rowid, both descending
            where.append(
                "(received_at < ? OR (received_at = ? AND rowid < (SELECT rowid FROM events WHERE id = ?)))"
            )
            params += [after.received_at, after.received_at, after.id]
        sql = "SELECT * FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY received_at DESC, rowid DESC LIMIT ?"
        return [dict(r) for r in self._query(sql, [*params, limit])]

    def _count(self, source: str | None, status: str | None, type: str | None) -> int:
        where, params = _event_filters(source, status, type)
        sql = "SELECT COUNT(*) AS n FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        return int(self._query(sql, params)[0]["n"])

    def _due(self, now: float, limit: int) -> list[str]:
        rows = self._query(
            "SELECT id FROM events WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?",
            (now, limit),
        )
        return [r["id"] for r in rows]

    def _delete_before(self, cutoff: float) -> int:
        # The dedup memory is the row's unique column, so it goes with the row.
        deleted = self._execute("DELETE FROM events WHERE received_at < ?", (cutoff,))
        self._execute("DELETE FROM outbox WHERE created_at < ?", (cutoff,))
        return deleted

    def _outbox_put(self, entry: OutboxEntry) -> None:
        self._execute(
            "INSERT INTO outbox (id, integration, action, payload, event_id, status, created_at,"
            " ref, detail, key, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.id,
                entry.integration,
                entry.action,
                json.dumps(entry.payload),
                entry.event_id,
                entry.status,
                entry.created_at,
                entry.ref,
                entry.detail,
                entry.key,
                None if entry.response is None else json.dumps(entry.response),
            ),
        )

    def _outbox_select(
        self, event_id: str | None, limit: int, *, after: str | None = None
    ) -> list[OutboxEntry]:
        sql, params = "SELECT * FROM outbox", []
        where: list[str] = []
        if event_id:
            where.append("event_id = ?")
            params.append(event_id)
        if after:
            where.append(
                "EXISTS (SELECT 1 FROM outbox AS a WHERE a.id = ? AND (outbox.created_at < a.created_at"
                " OR (outbox.created_at = a.created_at AND outbox.rowid < a.rowid)))"
            )
            params.append(after)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        return [_outbox_entry(r) for r in self._query(sql, [*params, limit])]

    def _outbox_patch(self, ref: str, status: str, detail: str) -> OutboxEntry | None:
        # `ref != ''` (and `key != ''` below) repeats the partial index's condition: SQLite
        # uses a partial index only when the query implies its WHERE, and `ref = ?` does not
        # (the parameter could be ''), so without it each lookup scanned the whole outbox,
        # one full scan per message sent (tests/deliveries/test_query_plans.py).
        self._execute(
            "UPDATE outbox SET status = ?, detail = ? WHERE ref = ? AND ref != ''", (status, detail, ref)
        )
        return self._outbox_by_ref(ref)

    def _outbox_by_ref(self, ref: str) -> OutboxEntry | None:
        """The first call the provider knows as `ref` (its message id)."""
        rows = self._query(
            "SELECT * FROM outbox WHERE ref = ? AND ref != '' ORDER BY created_at LIMIT 1", (ref,)
        )
        return _outbox_entry(rows[0]) if rows else None

    def _outbox_find_key(self, key: str) -> OutboxEntry | None:
        rows = self._query(
            "SELECT * FROM outbox WHERE key = ? AND key != '' ORDER BY created_at, rowid LIMIT 1", (key,)
        )
        return _outbox_entry(rows[0]) if rows else None

    def _outbox_report(self, ref: str, status: str, detail: str) -> OutboxEntry | None:
        self._execute(
            "UPDATE outbox SET provider_status = ?, provider_detail = ? WHERE ref = ? AND ref != ''",
            (status, detail, ref),
        )
        return self._outbox_by_ref(ref)

    def _outbox_replace(self, entry: OutboxEntry) -> None:
        self._execute(
            "UPDATE outbox SET status = ?, ref = ?, detail = ?, key = ?, response = ?,"
            " possible_duplicate = ? WHERE id = ?",
            (
                entry.status,
                entry.ref,
                entry.detail,
                entry.key,
                None if entry.response is None else json.dumps(entry.response),
                int(entry.possible_duplicate),
                entry.id,
            ),
        )

    def _kv_get(self, namespace: str, key: str) -> dict[str, Any] | None:
        rows = self._query("SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
        return json.loads(rows[0]["value"]) if rows else None

    def _kv_put(self, namespace: str, key: str, value: dict[str, Any] | None) -> None:
        if value is None:
            self._execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
            return
        self._execute(
            "INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?)"
            " ON CONFLICT(namespace, key) DO UPDATE SET value = excluded.value",
            (namespace, key, json.dumps(value)),
        )

    def _kv_items(self, namespace: str) -> dict[str, dict[str, Any]]:
        rows = self._query("SELECT key, value FROM kv WHERE namespace = ? ORDER BY key", (namespace,))
        return {r["key"]: json.loads(r["value"]) for r in rows}

    def _hit(self, namespace: str, key: str, now: float, window: float) -> tuple[int, float]:
        # One statement, so concurrent hits from other processes are never lost.
        self._execute(
            "INSERT INTO hits (namespace, key, count, until) VALUES (?, ?, 1, ?)"
            " ON CONFLICT(namespace, key) DO UPDATE SET"
            " count = CASE WHEN until > ? THEN count + 1 ELSE 1 END,"
            " until = CASE WHEN until > ? THEN until ELSE excluded.until END",
            (namespace, key, now + window, now, now),
        )
        return self._hits(namespace, key, now)

    def _hits(self, namespace: str, key: str, now: float) -> tuple[int, float]:
        rows = self._query(
            "SELECT count, until FROM hits WHERE namespace = ? AND key = ? AND until > ?",
            (namespace, key, now),
        )
        return (rows[0]["count"], rows[0]["until"] - now) if rows else (0, 0.0)

    def _ping(self) -> None:
        self._query("SELECT 1")

    def _attempts_of(self, event_ids: list[str]) -> list[Attempt]:
        found: list[Attempt] = []
        for start in range(0, len(event_ids), 500):  # under SQLite's bound-parameter limit
            chunk = event_ids[start : start + 500]
            rows = self._query(
                f"SELECT * FROM attempts WHERE event_id IN ({', '.join('?' * len(chunk))})"
                " ORDER BY event_id, attempt",
                chunk,
            )
            found += [Attempt(**dict(r)) for r in rows]
        return found

    def _attempts_delete_before(self, cutoff: float) -> None:
        self._execute(
            "DELETE FROM attempts WHERE event_id IN (SELECT id FROM events WHERE received_at < ?)", (cutoff,)
        )

    # -- deliveries -------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One multi-statement write (a page of deliveries: one fsync, not one per row)."""
        with self._write_lock, self._file_lock(), self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _delivery_insert(self, deliveries: list[Delivery]) -> int:
        columns = (*_DELIVERY_COLUMNS, "due_at")
        sql = (
            f"INSERT INTO deliveries ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            " ON CONFLICT(id) DO NOTHING"
        )
        rows = [[d.to_record()[c] for c in _DELIVERY_COLUMNS] + [d.due_at] for d in deliveries]
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(sql, rows)
            return conn.total_changes - before

    def _delivery_release(self, scope: str, now: float) -> int:
        return self._execute(
            # Due from when each was told: runners take them in the order the handler told them.
            "UPDATE deliveries SET status = ?, next_attempt_at = NULL, due_at = created_at,"
            " updated_at = ?, version = version + 1 WHERE scope = ? AND status = ?",
            (PENDING, now, scope, HELD),
        )

    def _delivery_claim(self, now: float, lease_until: float, limit: int) -> list[Delivery]:
        with self._transaction() as conn:
            rows = conn.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, lease_until = ?,"
                " due_at = ?, next_attempt_at = NULL, updated_at = ?, version = version + 1"
                " WHERE id IN (SELECT id FROM deliveries WHERE due_at IS NOT NULL AND due_at <= ?"
                " ORDER BY due_at, rowid LIMIT ?) RETURNING *",
                (SENDING, lease_until, lease_until, now, now, limit),
            ).fetchall()
        return [Delivery.from_record(dict(r)) for r in rows]

    def _delivery_due(self, now: float, limit: int) -> list[str]:
        rows = self._query(
            "SELECT id FROM deliveries WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?",
            (now, limit),
        )
        return [r["id"] for r in rows]

    def _delivery_swap(self, expected_version: int, delivery: Delivery) -> bool:
        record = delivery.to_record()
        changed = [c for c in _DELIVERY_COLUMNS if c != "id"]
        assignments = ", ".join(f"{c} = ?" for c in changed)
        return (
            self._execute(
                f"UPDATE deliveries SET {assignments}, due_at = ? WHERE id = ? AND version = ?",
                [record[c] for c in changed] + [delivery.due_at, delivery.id, expected_version],
            )
            == 1
        )

    def _delivery_load(self, delivery_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
        return dict(rows[0]) if rows else None

    def _delivery_select(
        self, event_id: str | None, status: str | None, limit: int, before: float | None = None
    ) -> list[dict[str, Any]]:
        where, params = [], []
        for column, value in (("event_id", event_id), ("status", status)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if before is not None:
            where.append("created_at < ?")
            params.append(before)
        sql = "SELECT * FROM deliveries" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        return [dict(r) for r in self._query(sql, [*params, limit])]

    def _delivery_delete_before(self, cutoff: float) -> int:
        return self._execute("DELETE FROM deliveries WHERE created_at < ?", (cutoff,))

    def _kv_page(self, namespace: str, cursor: str, limit: int) -> KvPage:
        rows = self._query(
            "SELECT key, value FROM kv WHERE namespace = ? AND key > ? ORDER BY key LIMIT ?",
            (namespace, cursor, limit),
        )
        page = [(r["key"], json.loads(r["value"])) for r in rows]
        return page, (page[-1][0] if len(page) == limit else "")


class _Write:
    """One statement in a group commit, and what it came to."""

    def __init__(self, sql: str, params: Sequence[Any]) -> None:
        self.sql, self.params = sql, params
        self.done = False
        self._rowcount = 0
        self._error: BaseException | None = None

    def run(self, conn: sqlite3.Connection) -> None:
        """Run alone or inside the batch's transaction. A constraint this statement breaks
        undoes it alone: SQLite's default conflict resolution (ABORT) backs out the failing
        statement, triggers included, and keeps the transaction and the statements before it
        (hub's SQL asks for no other). No savepoint is needed, so a write is one call while
        the file lock is held. Any other database error (I/O, corruption) fails the batch."""
        try:
            self._rowcount = conn.execute(self.sql, self.params).rowcount
        except sqlite3.IntegrityError as error:
            self._error = error

    def fail(self, error: BaseException) -> None:
        self._error = error

    def result(self) -> int:
        if self._error is not None:
            raise self._error
        return self._rowcount


def _event_filters(source: str | None, status: str | None, type: str | None) -> tuple[list[str], list[Any]]:
    where, params = [], []
    for column, value in (("source", source), ("status", status), ("type", type)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    return where, params


def _outbox_entry(row: sqlite3.Row) -> OutboxEntry:
    data = dict(row)
    data["payload"] = json.loads(data["payload"])
    data["response"] = json.loads(data["response"]) if data["response"] else None
    data["possible_duplicate"] = bool(data.get("possible_duplicate"))
    return OutboxEntry(**data)


_DELIVERY_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    event_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    text TEXT NOT NULL,
    options TEXT NOT NULL,
    created_at REAL NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    lease_until REAL,
    last_error TEXT NOT NULL DEFAULT '',
    outbox_id TEXT NOT NULL DEFAULT '',
    ref TEXT NOT NULL DEFAULT '',
    updated_at REAL,
    version INTEGER NOT NULL,
    due_at REAL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS deliveries_held ON deliveries (scope) WHERE status = 'held';
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries (event_id, created_at);
CREATE INDEX IF NOT EXISTS deliveries_created ON deliveries (created_at);
"""
_DELIVERY_COLUMNS = tuple(f for f in Delivery.__dataclass_fields__)


def _extend_schema(conn: sqlite3.Connection) -> None:
    """Tables and columns added after the first release (files made before them get them)."""
    _add_columns(conn, "events", _ADDED_EVENT_COLUMNS)
    _add_columns(conn, "outbox", _ADDED_OUTBOX_COLUMNS)
    conn.executescript(_DELIVERY_SCHEMA)


def _add_columns(conn: sqlite3.Connection, table: str, columns: tuple[tuple[str, str], ...]) -> None:
    present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
    for name, definition in columns:
        if name not in present:
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")
            except sqlite3.OperationalError as error:  # another process added it meanwhile
                if "duplicate column" not in str(error):
                    raise


def _enable_wal(conn: sqlite3.Connection, tries: int = 50) -> None:
    """`PRAGMA journal_mode=WAL`, retried: SQLite can answer "database is locked" at once
    (without its busy handler) while another process opens the same file."""
    for attempt in range(tries):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == tries - 1:
                raise
            time.sleep(0.02)
