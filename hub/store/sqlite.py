"""SQLite backend: the embedded default. Safe under threads (a connection per thread) and
processes (WAL, busy timeout, uniqueness enforced by the database)."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from hub.events import Event
from hub.store.base import OutboxEntry, Store

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
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""

_EVENT_COLUMNS = (
    "id", "source", "type", "provider_id", "payload", "message", "received_at", "status",
    "attempts", "last_error", "next_attempt_at", "lease_until", "updated_at", "body_sha256",
    "version",
)  # fmt: skip


class SQLiteStore(Store):
    backend = "sqlite"
    unavailable_errors = (sqlite3.OperationalError,)

    def __init__(self, path: str | Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connection() as conn:
            conn.executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _insert(self, event: Event, *, due_at: float) -> str | None:
        record = event.to_record()
        columns = (*_EVENT_COLUMNS, "dedup_key", "due_at")
        values = [record[c] for c in _EVENT_COLUMNS] + [event.dedup_key, due_at]
        conn = self._connection()
        cursor = conn.execute(
            f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            " ON CONFLICT(dedup_key) DO NOTHING",
            values,
        )
        if cursor.rowcount == 1:
            return None
        row = conn.execute("SELECT id FROM events WHERE dedup_key = ?", (event.dedup_key,)).fetchone()
        return row["id"] if row else event.id

    def _load(self, event_id: str) -> dict[str, Any] | None:
        row = self._connection().execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
        return dict(row) if row else None

    def _swap(self, expected_version: int, event: Event, *, due_at: float | None) -> bool:
        record = event.to_record()
        changed = [c for c in _EVENT_COLUMNS if c != "id"]
        assignments = ", ".join(f"{c} = ?" for c in changed)
        cursor = self._connection().execute(
            f"UPDATE events SET {assignments}, due_at = ? WHERE id = ? AND version = ?",
            [record[c] for c in changed] + [due_at, event.id, expected_version],
        )
        return cursor.rowcount == 1

    def _select(
        self, source: str | None, status: str | None, type: str | None, limit: int
    ) -> list[dict[str, Any]]:
        where, params = [], []
        for column, value in (("source", source), ("status", status), ("type", type)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY received_at DESC, rowid DESC LIMIT ?"
        return [dict(r) for r in self._connection().execute(sql, [*params, limit])]

    def _due(self, now: float, limit: int) -> list[str]:
        rows = self._connection().execute(
            "SELECT id FROM events WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?",
            (now, limit),
        )
        return [r["id"] for r in rows]

    def _delete_before(self, cutoff: float) -> int:
        conn = self._connection()
        deleted = conn.execute("DELETE FROM events WHERE received_at < ?", (cutoff,)).rowcount
        conn.execute("DELETE FROM outbox WHERE created_at < ?", (cutoff,))
        return deleted

    def _outbox_put(self, entry: OutboxEntry) -> None:
        self._connection().execute(
            "INSERT INTO outbox (id, integration, action, payload, event_id, status, created_at,"
            " ref, detail, key, response) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.id, entry.integration, entry.action, json.dumps(entry.payload),
                entry.event_id, entry.status, entry.created_at, entry.ref, entry.detail, entry.key,
                None if entry.response is None else json.dumps(entry.response),
            ),
        )  # fmt: skip

    def _outbox_select(self, event_id: str | None, limit: int) -> list[OutboxEntry]:
        sql, params = "SELECT * FROM outbox", []
        if event_id:
            sql += " WHERE event_id = ?"
            params.append(event_id)
        sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        return [_outbox_entry(r) for r in self._connection().execute(sql, [*params, limit])]

    def _outbox_patch(self, ref: str, status: str, detail: str) -> OutboxEntry | None:
        conn = self._connection()
        conn.execute("UPDATE outbox SET status = ?, detail = ? WHERE ref = ?", (status, detail, ref))
        row = conn.execute("SELECT * FROM outbox WHERE ref = ?", (ref,)).fetchone()
        return _outbox_entry(row) if row else None

    def _outbox_find_key(self, key: str) -> OutboxEntry | None:
        row = self._connection().execute(
            "SELECT * FROM outbox WHERE key = ? ORDER BY created_at LIMIT 1", (key,)
        ).fetchone()
        return _outbox_entry(row) if row else None

    def _kv_get(self, namespace: str, key: str) -> dict[str, Any] | None:
        row = self._connection().execute(
            "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
        ).fetchone()
        return json.loads(row["value"]) if row else None

    def _kv_put(self, namespace: str, key: str, value: dict[str, Any] | None) -> None:
        conn = self._connection()
        if value is None:
            conn.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
            return
        conn.execute(
            "INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?)"
            " ON CONFLICT(namespace, key) DO UPDATE SET value = excluded.value",
            (namespace, key, json.dumps(value)),
        )

    def _kv_items(self, namespace: str) -> dict[str, dict[str, Any]]:
        rows = self._connection().execute(
            "SELECT key, value FROM kv WHERE namespace = ? ORDER BY key", (namespace,)
        )
        return {r["key"]: json.loads(r["value"]) for r in rows}

    def _ping(self) -> None:
        self._connection().execute("SELECT 1").fetchone()


def _outbox_entry(row: sqlite3.Row) -> OutboxEntry:
    data = dict(row)
    data["payload"] = json.loads(data["payload"])
    data["response"] = json.loads(data["response"]) if data["response"] else None
    return OutboxEntry(**data)
