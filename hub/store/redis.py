"""Redis backend: one store shared by many Lambda instances.

Every key lives under one hash tag (`{hub}`), so the Lua scripts that make intake and
state changes atomic also run on Redis Cluster. Dedup keys expire after the retention
window (at least seven days: Stripe re-delivers for three).
"""

from __future__ import annotations

import json
from typing import Any

import redis

from hub.events import Event
from hub.store.base import OutboxEntry, Store

_INSERT = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
return false
"""

_SWAP = """
local version = redis.call('HGET', KEYS[1], 'version')
if version ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
end
return 1
"""

# Purging one batch of events at once: KEYS = events, due, then per event its hash and
# its dedup key; ARGV = the ids. The dedup key is dropped only while it still names that
# event, so a delivery recorded meanwhile keeps its own.
_PURGE_EVENTS = """
for i, id in ipairs(ARGV) do
  local dedup = KEYS[2 + 2 * i]
  if redis.call('GET', dedup) == id then redis.call('DEL', dedup) end
  redis.call('DEL', KEYS[1 + 2 * i])
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return #ARGV
"""

# The same for outbox entries: KEYS = outbox index, then per entry its value, ref pointer
# and key pointer; ARGV = the ids.
_PURGE_OUTBOX = """
for i, id in ipairs(ARGV) do
  for j = 2, 3 do
    local pointer = KEYS[1 + 3 * (i - 1) + j]
    if redis.call('GET', pointer) == id then redis.call('DEL', pointer) end
  end
  redis.call('DEL', KEYS[2 + 3 * (i - 1)])
  redis.call('ZREM', KEYS[1], id)
end
return #ARGV
"""

_SCAN_BATCH = 200
_SCAN_LIMIT = 5000  # filtered listings look at most this many recent events


class RedisStore(Store):
    backend = "redis"
    # Besides the network: a replica answering during a failover (ReadOnlyError) and a full
    # server (OutOfMemoryError) pass; the provider should deliver again later, not get a 500.
    unavailable_errors = (
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        redis.exceptions.ReadOnlyError,
        redis.exceptions.OutOfMemoryError,
    )

    def __init__(self, url: str, *, prefix: str = "{hub}:", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=5, socket_connect_timeout=3
        )
        self.prefix = prefix
        self._insert_script = self.client.register_script(_INSERT)
        self._swap_script = self.client.register_script(_SWAP)
        self._purge_events_script = self.client.register_script(_PURGE_EVENTS)
        self._purge_outbox_script = self.client.register_script(_PURGE_OUTBOX)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def close(self) -> None:
        self.client.close()

    def _insert(self, event: Event, *, due_at: float) -> str | None:
        ttl = int(self.retention_seconds)
        fields = _flatten(event.to_record())
        existing = self._insert_script(
            keys=[
                self._key("dedup", event.dedup_key),
                self._key("event", event.id),
                self._key("events"),
                self._key("due"),
            ],
            args=[event.id, ttl, event.received_at, due_at, *fields],
        )
        return existing or None

    def _load(self, event_id: str) -> dict[str, Any] | None:
        record = self.client.hgetall(self._key("event", event_id))
        return record or None

    def _swap(self, expected_version: int, event: Event, *, due_at: float | None) -> bool:
        swapped = self._swap_script(
            keys=[self._key("event", event.id), self._key("due")],
            args=[
                str(expected_version),
                event.id,
                "" if due_at is None else repr(due_at),
                *_flatten(event.to_record()),
            ],
        )
        return swapped == 1

    def _select(
        self, source: str | None, status: str | None, type: str | None, limit: int
    ) -> list[dict[str, Any]]:
        wanted = {k: v for k, v in (("source", source), ("status", status), ("type", type)) if v}
        found: list[dict[str, Any]] = []
        for start in range(0, _SCAN_LIMIT, _SCAN_BATCH):
            ids = self.client.zrevrange(self._key("events"), start, start + _SCAN_BATCH - 1)
            if not ids:
                break
            pipe = self.client.pipeline(transaction=False)
            for event_id in ids:
                pipe.hgetall(self._key("event", event_id))
            for record in pipe.execute():
                if record and all(record.get(k) == v for k, v in wanted.items()):
                    found.append(record)
                    if len(found) >= limit:
                        return found
            if not wanted and len(ids) < _SCAN_BATCH:
                break
        return found

    def _due(self, now: float, limit: int) -> list[str]:
        return self.client.zrangebyscore(self._key("due"), "-inf", now, start=0, num=limit)

    def _delete_before(self, cutoff: float) -> int:
        purged = 0
        while ids := self.client.zrangebyscore(self._key("events"), "-inf", f"({cutoff}", 0, _SCAN_BATCH):
            pipe = self.client.pipeline(transaction=False)
            for event_id in ids:
                pipe.hmget(self._key("event", event_id), ["source", "provider_id"])
            keys = [self._key("events"), self._key("due")]
            for event_id, (source, provider_id) in zip(ids, pipe.execute(), strict=True):
                keys += [self._key("event", event_id), self._key("dedup", f"{source}:{provider_id}")]
            purged += self._purge_events_script(keys=keys, args=ids)
        while ids := self.client.zrangebyscore(self._key("outbox"), "-inf", f"({cutoff}", 0, _SCAN_BATCH):
            keys = [self._key("outbox")]
            for entry_id, raw in zip(
                ids, self.client.mget([self._key("outbox", i) for i in ids]), strict=True
            ):
                entry = _load_entry(raw) if raw else None
                keys += [
                    self._key("outbox", entry_id),
                    self._key("outbox-ref", entry.ref if entry else ""),
                    self._key("outbox-key", entry.key if entry else ""),
                ]
            self._purge_outbox_script(keys=keys, args=ids)
        return purged

    def _outbox_put(self, entry: OutboxEntry) -> None:
        ttl = int(self.retention_seconds)
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self._key("outbox", entry.id), _dump_entry(entry), ex=ttl)
        pipe.zadd(self._key("outbox"), {entry.id: entry.created_at})
        if entry.ref:
            pipe.set(self._key("outbox-ref", entry.ref), entry.id, ex=ttl)
        if entry.key:
            pipe.set(self._key("outbox-key", entry.key), entry.id, ex=ttl, nx=True)
        pipe.execute()

    def _outbox_select(self, event_id: str | None, limit: int) -> list[OutboxEntry]:
        found: list[OutboxEntry] = []
        for start in range(0, _SCAN_LIMIT, _SCAN_BATCH):
            ids = self.client.zrevrange(self._key("outbox"), start, start + _SCAN_BATCH - 1)
            if not ids:
                break
            raw = self.client.mget([self._key("outbox", i) for i in ids])
            for item in raw:
                if item is None:
                    continue
                entry = _load_entry(item)
                if event_id is None or entry.event_id == event_id:
                    found.append(entry)
                    if len(found) >= limit:
                        return found
            if event_id is None and len(ids) < _SCAN_BATCH:
                break
        return found

    def _outbox_patch(self, ref: str, status: str, detail: str) -> OutboxEntry | None:
        entry_id = self.client.get(self._key("outbox-ref", ref))
        if not entry_id:
            return None
        key = self._key("outbox", entry_id)
        raw = self.client.get(key)
        if raw is None:
            return None
        data = json.loads(raw)
        data.update(status=status, detail=detail)
        self.client.set(key, json.dumps(data), keepttl=True)
        return OutboxEntry(**data)

    def _outbox_find_key(self, key: str) -> OutboxEntry | None:
        entry_id = self.client.get(self._key("outbox-key", key))
        raw = self.client.get(self._key("outbox", entry_id)) if entry_id else None
        return _load_entry(raw) if raw else None

    def _kv_get(self, namespace: str, key: str) -> dict[str, Any] | None:
        raw = self.client.hget(self._key("kv", namespace), key)
        return json.loads(raw) if raw else None

    def _kv_put(self, namespace: str, key: str, value: dict[str, Any] | None) -> None:
        if value is None:
            self.client.hdel(self._key("kv", namespace), key)
        else:
            self.client.hset(self._key("kv", namespace), key, json.dumps(value))

    def _kv_items(self, namespace: str) -> dict[str, dict[str, Any]]:
        items = self.client.hgetall(self._key("kv", namespace))
        return {k: json.loads(v) for k, v in sorted(items.items())}

    def _ping(self) -> None:
        self.client.ping()


def _flatten(record: dict[str, Any]) -> list[Any]:
    """A record as HSET arguments; None becomes '' (read back as None by Event.from_record)."""
    pairs: list[Any] = []
    for key, value in record.items():
        pairs += [key, "" if value is None else (repr(value) if isinstance(value, float) else value)]
    return pairs


def _dump_entry(entry: OutboxEntry) -> str:
    return json.dumps(entry.__dict__)


def _load_entry(raw: str) -> OutboxEntry:
    return OutboxEntry(**json.loads(raw))
