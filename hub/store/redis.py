"""Redis backend: one store shared by many Lambda instances.

Every key lives under one hash tag (`{hub}`), so the Lua scripts that make intake and
state changes atomic also run on Redis Cluster; each script names every key it touches.
Events are listed through sorted-set indexes (all, by source, by type, by status, due),
kept in step by the same scripts. `purge` removes events, their dedup keys and index
entries; key TTLs are only a backstop for a store nobody sweeps.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hub.deliveries import PENDING, Delivery
from hub.events import STATUSES, Event
from hub.json_text import dumps
from hub.store.attempts import Attempt
from hub.store.base import DAY, KvPage, OutboxEntry, Store
from hub.store.redis_client import connect, unavailable_errors

if TYPE_CHECKING:
    import redis

# Intake. KEYS: dedup, event hash, events index, due index, then the by-source, by-type and
# by-status indexes, then the event's attempts hash. ARGV: id, ttl of the dedup key, ttl of
# the hash (and of the attempts hash), received_at, due_at ('' = not due), the number of the
# attempt that ran it ('' = none: Store.record_finished gives one), its JSON, then the
# hash's fields.
_INSERT = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[2], ARGV[3])
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1]) end
for i = 5, 7 do redis.call('ZADD', KEYS[i], ARGV[4], ARGV[1]) end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[8], ARGV[6], ARGV[7])
  redis.call('EXPIRE', KEYS[8], ARGV[3])
end
return false
"""

# A compare-and-set on `version`, writing the event's state fields and, when one is given,
# the attempt this change ended or took over (one round trip per state change). KEYS:
# event hash, due index, the event's attempts hash, then one by-status index per status.
# ARGV: expected version, id, due_at ('' = not due), the new status's position among
# those indexes, the attempt's number ('' = none), its JSON, the attempts hash's ttl, then
# the hash's fields.
_SWAP = """
local version = redis.call('HGET', KEYS[1], 'version')
if version ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
end
local received_at = redis.call('HGET', KEYS[1], 'received_at')
for i = 4, #KEYS do
  if i - 3 == tonumber(ARGV[4]) then
    redis.call('ZADD', KEYS[i], received_at, ARGV[2])
  else
    redis.call('ZREM', KEYS[i], ARGV[2])
  end
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
  redis.call('EXPIRE', KEYS[3], ARGV[7])
end
return 1
"""

# Purging one batch of events at once. KEYS: events, due, then the by-status indexes
# (ARGV[1] of them), then per event its hash, dedup key, by-source and by-type indexes.
# ARGV: that count, then the ids. The dedup key is dropped only while it still names that
# event, so a delivery recorded meanwhile keeps its own.
_PURGE_EVENTS = """
local statuses = tonumber(ARGV[1])
local base = 2 + statuses
for i = 2, #ARGV do
  local id = ARGV[i]
  local k = base + 4 * (i - 2)
  if redis.call('GET', KEYS[k + 2]) == id then redis.call('DEL', KEYS[k + 2]) end
  redis.call('DEL', KEYS[k + 1])
  redis.call('ZREM', KEYS[k + 3], id)
  redis.call('ZREM', KEYS[k + 4], id)
  for j = 1, base do redis.call('ZREM', KEYS[j], id) end
end
return #ARGV - 1
"""

# The same for outbox entries. KEYS: outbox index, then per entry its value, ref pointer,
# key pointer and its event's outbox index. ARGV: the ids.
_PURGE_OUTBOX = """
for i, id in ipairs(ARGV) do
  local k = 1 + 4 * (i - 1)
  for j = 2, 3 do
    if redis.call('GET', KEYS[k + j]) == id then redis.call('DEL', KEYS[k + j]) end
  end
  redis.call('DEL', KEYS[k + 1])
  redis.call('ZREM', KEYS[k + 4], id)
  redis.call('ZREM', KEYS[1], id)
end
return #ARGV
"""

# A counter in a window that opens at its first hit (KEYS[1]; ARGV: now, window seconds).
# The store's clock decides, as on SQLite; the key expires a little after its window.
_HIT = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local closes = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if closes <= now then
  closes = now + window
  redis.call('HSET', KEYS[1], 'count', 0, 'until', tostring(closes))
end
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('PEXPIRE', KEYS[1], math.ceil((closes - now) * 1000) + 1000)
return {count, tostring(closes)}
"""

_SCAN_BATCH = 200

# Deliveries. Recording a page of them in one call (a cluster refuses scripts in a
# pipeline; the prefix's hash tag keeps every key in one slot). KEYS, four per delivery: its
# hash, the all-deliveries index, its event's index, its run's held set. ARGV: ttl, then per
# delivery: id, created_at, the number of hash arguments, the hash's fields. Returns how
# many were new.
_DELIVERY_INSERT = """
local inserted, a = 0, 2
for k = 1, #KEYS, 4 do
  local id, told, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  if redis.call('EXISTS', KEYS[k]) == 0 then
    redis.call('HSET', KEYS[k], unpack(ARGV, a + 3, a + 2 + n))
    redis.call('EXPIRE', KEYS[k], ARGV[1])
    redis.call('ZADD', KEYS[k + 1], told, id)
    redis.call('ZADD', KEYS[k + 2], told, id)
    redis.call('SADD', KEYS[k + 3], id)
    inserted = inserted + 1
  end
  a = a + 3 + n
end
return inserted
"""

# Claiming due deliveries, each only if it is still due (another runner may have taken it
# since it was read). KEYS: the due index, then each candidate's hash. ARGV: now,
# lease_until, then the candidates' ids. Returns the ids this call won.
_DELIVERY_CLAIM = """
local won = {}
for i = 2, #KEYS do
  local id = ARGV[i + 1]
  local due = redis.call('ZSCORE', KEYS[1], id)
  if due and tonumber(due) <= tonumber(ARGV[1]) then
    if redis.call('EXISTS', KEYS[i]) == 0 then
      redis.call('ZREM', KEYS[1], id)
    else
      redis.call('HSET', KEYS[i], 'status', 'sending', 'lease_until', ARGV[2], 'next_attempt_at', '',
                 'updated_at', ARGV[1])
      redis.call('HINCRBY', KEYS[i], 'attempts', 1)
      redis.call('HINCRBY', KEYS[i], 'version', 1)
      redis.call('ZADD', KEYS[1], ARGV[2], id)
      won[#won + 1] = id
    end
  end
end
return won
"""

# A compare-and-set on a delivery's version. KEYS: its hash, the due index. ARGV: expected
# version, id, due_at ('' = not due), then the hash's fields.
_DELIVERY_SWAP = """
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if ARGV[3] == '' then redis.call('ZREM', KEYS[2], ARGV[2])
else redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2]) end
return 1
"""
_RELEASE_BATCH = 500


class RedisStore(Store):
    backend = "redis"

    @property
    def unavailable_errors(self) -> tuple[type[Exception], ...]:  # type: ignore[override]
        return unavailable_errors()  # the RESP client's, and redis-py's once it is loaded

    def __init__(
        self, url: str, *, prefix: str = "{hub}:", cluster: bool | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        # One server or a Redis Cluster (`cluster` None: the node is asked on first use).
        self.client = connect(url, cluster=cluster)
        self.prefix = prefix
        self._status_keys = [self._key("by", "status", status) for status in STATUSES]
        self._insert_script = self.client.register_script(_INSERT)
        self._swap_script = self.client.register_script(_SWAP)
        self._purge_events_script = self.client.register_script(_PURGE_EVENTS)
        self._purge_outbox_script = self.client.register_script(_PURGE_OUTBOX)
        self._hit_script = self.client.register_script(_HIT)
        self._delivery_insert_script = self.client.register_script(_DELIVERY_INSERT)
        self._delivery_claim_script = self.client.register_script(_DELIVERY_CLAIM)
        self._delivery_swap_script = self.client.register_script(_DELIVERY_SWAP)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def close(self) -> None:
        self.client.close()

    def _insert(self, event: Event, *, due_at: float | None, attempt: Attempt | None = None) -> str | None:
        dedup_ttl = int(self.retention_seconds)
        # The hash outlives the dedup key by a day: `purge` normally removes both, and it
        # needs the hash to find the event's index entries. The TTL is only a backstop.
        hash_ttl = dedup_ttl + int(DAY)
        existing = self._insert_script(
            [
                self._key("dedup", event.dedup_key),
                self._key("event", event.id),
                self._key("events"),
                self._key("due"),
                self._key("by", "source", event.source),
                self._key("by", "type", event.type),
                self._key("by", "status", event.status),
                self._key("attempts", event.id),
            ],
            [
                event.id,
                dedup_ttl,
                hash_ttl,
                event.received_at,
                "" if due_at is None else due_at,
                "" if attempt is None else str(attempt.attempt),
                "" if attempt is None else dumps(attempt.__dict__),
                *_flatten(event.to_record()),
            ],
        )
        return existing or None

    def _known_id(self, dedup_key: str) -> str | None:
        return self.client.get(self._key("dedup", dedup_key)) or None

    def _load(self, event_id: str) -> dict[str, Any] | None:
        record = self.client.hgetall(self._key("event", event_id))
        return record or None

    def _swap(
        self, expected_version: int, event: Event, *, due_at: float | None, attempt: Attempt | None = None
    ) -> bool:
        swapped = self._swap_script(
            [
                self._key("event", event.id),
                self._key("due"),
                self._key("attempts", event.id),
                *self._status_keys,
            ],
            [
                str(expected_version),
                event.id,
                "" if due_at is None else repr(due_at),
                STATUSES.index(event.status) + 1,
                "" if attempt is None else str(attempt.attempt),
                "" if attempt is None else dumps(attempt.__dict__),
                int(self.retention_seconds + DAY),
                *_flatten(event.state_record()),
            ],
        )
        return swapped == 1

    def _select(
        self,
        source: str | None,
        status: str | None,
        type: str | None,
        limit: int,
        *,
        after: Event | None = None,
    ) -> list[dict[str, Any]]:
        wanted = {k: v for k, v in (("status", status), ("type", type), ("source", source)) if v}
        # Walk the index of the first filter given (the narrowest, usually); check the rest.
        index = self._key("by", *next(iter(wanted.items()))) if wanted else self._key("events")
        found: list[dict[str, Any]] = []
        start = 0
        if after is not None:
            # ZREVRANGE lists ties (same received_at) by id, descending: skip the newer ones.
            start = self.client.zcount(index, f"({after.received_at!r}", "+inf")
        while ids := self.client.zrevrange(index, start, start + _SCAN_BATCH - 1):
            start += _SCAN_BATCH
            pipe = self.client.pipeline(transaction=False)
            for event_id in ids:
                pipe.hgetall(self._key("event", event_id))
            for record in pipe.execute():
                if (
                    after is not None
                    and float(record.get("received_at") or 0) == after.received_at
                    and record.get("id", "") >= after.id
                ):
                    continue
                if record and all(record.get(k) == v for k, v in wanted.items()):
                    found.append(record)
                    if len(found) >= limit:
                        return found
        return found

    def _count(self, source: str | None, status: str | None, type: str | None) -> int:
        wanted = [("status", status), ("type", type), ("source", source)]
        indexes = [self._key("by", field, value) for field, value in wanted if value]
        if len(indexes) <= 1:  # an index holds exactly the events of one filter
            return self.client.zcard(indexes[0] if indexes else self._key("events"))
        from redis.exceptions import ResponseError  # the client is redis-py's here

        try:
            return self.client.zintercard(len(indexes), indexes)  # Redis 7: counted in the server
        except ResponseError:  # an older server: read the narrowest index
            return len(self._select(source, status, type, limit=2**31))

    def _due(self, now: float, limit: int) -> list[str]:
        return self.client.zrangebyscore(self._key("due"), "-inf", now, start=0, num=limit)

    def _delete_before(self, cutoff: float) -> int:
        purged = 0
        while ids := self.client.zrangebyscore(self._key("events"), "-inf", f"({cutoff}", 0, _SCAN_BATCH):
            pipe = self.client.pipeline(transaction=False)
            for event_id in ids:
                pipe.hmget(self._key("event", event_id), ["source", "provider_id", "type"])
            keys = [self._key("events"), self._key("due"), *self._status_keys]
            for event_id, (source, provider_id, type) in zip(ids, pipe.execute(), strict=True):
                keys += [
                    self._key("event", event_id),
                    self._key("dedup", f"{source}:{provider_id}"),
                    self._key("by", "source", source or ""),
                    self._key("by", "type", type or ""),
                ]
            purged += self._purge_events_script(keys=keys, args=[len(STATUSES), *ids])
        while ids := self.client.zrangebyscore(self._key("outbox"), "-inf", f"({cutoff}", 0, _SCAN_BATCH):
            keys = [self._key("outbox")]
            raws = self.client.mget([self._key("outbox", i) for i in ids])
            for entry_id, raw in zip(ids, raws, strict=True):
                entry = _load_entry(raw) if raw else None
                keys += [
                    self._key("outbox", entry_id),
                    self._key("outbox-ref", entry.ref if entry else ""),
                    self._key("outbox-key", entry.key if entry else ""),
                    self._key("outbox-of", (entry.event_id or "") if entry else ""),
                ]
            self._purge_outbox_script(keys=keys, args=ids)
        return purged

    def _outbox_put(self, entry: OutboxEntry) -> None:
        ttl = int(self.retention_seconds + DAY)  # a backstop; purge removes entries first
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self._key("outbox", entry.id), _dump_entry(entry), ex=ttl)
        pipe.zadd(self._key("outbox"), {entry.id: entry.created_at})
        if entry.event_id:
            pipe.zadd(self._key("outbox-of", entry.event_id), {entry.id: entry.created_at})
        if entry.ref:
            pipe.set(self._key("outbox-ref", entry.ref), entry.id, ex=ttl)
        if entry.key:
            pipe.set(self._key("outbox-key", entry.key), entry.id, ex=ttl, nx=True)
        pipe.execute()

    def _outbox_select(
        self, event_id: str | None, limit: int, *, after: str | None = None
    ) -> list[OutboxEntry]:
        index = self._key("outbox-of", event_id) if event_id else self._key("outbox")
        start = 0
        if after:
            score = self.client.zscore(index, after)
            if score is None:  # purged, or not in this listing
                return []
            # Ties (same created_at) are listed by id, descending: skip the ones up to `after`.
            start = self.client.zcount(index, f"({score!r}", "+inf")
            start += len([i for i in self.client.zrangebyscore(index, score, score) if i >= after])
        ids = self.client.zrevrange(index, start, start + limit - 1)
        raws = self.client.mget([self._key("outbox", i) for i in ids]) if ids else []
        return [_load_entry(raw) for raw in raws if raw is not None]

    def _outbox_patch(self, ref: str, status: str, detail: str) -> OutboxEntry | None:
        return self._patch_by_ref(ref, status=status, detail=detail)

    def _outbox_find_key(self, key: str) -> OutboxEntry | None:
        entry_id = self.client.get(self._key("outbox-key", key))
        raw = self.client.get(self._key("outbox", entry_id)) if entry_id else None
        return _load_entry(raw) if raw else None

    def _outbox_report(self, ref: str, status: str, detail: str) -> OutboxEntry | None:
        return self._patch_by_ref(ref, provider_status=status, provider_detail=detail)

    def _patch_by_ref(self, ref: str, **changes: str) -> OutboxEntry | None:
        """Change fields of the outbox entry that `ref` names; None when there is none."""
        entry_id = self.client.get(self._key("outbox-ref", ref))
        if not entry_id:
            return None
        key = self._key("outbox", entry_id)

        # Optimistic, not Lua: cjson would re-encode the entry lossily (floats to 14 digits,
        # [] as {}). WATCH retries when the key changes between read and write, so a
        # purge meanwhile is not undone by a SET that recreates the entry without a TTL.
        def patch(pipe: redis.client.Pipeline) -> OutboxEntry | None:
            raw = pipe.get(key)
            if raw is None:
                return None
            entry = replace(_load_entry(raw), **changes)
            pipe.multi()
            pipe.set(key, _dump_entry(entry), keepttl=True)
            return entry

        return self.client.transaction(patch, key, value_from_callable=True)

    def _outbox_replace(self, entry: OutboxEntry) -> None:
        key = self._key("outbox", entry.id)
        earlier_raw = self.client.get(key)
        earlier = _load_entry(earlier_raw) if earlier_raw else None
        pipe = self.client.pipeline(transaction=True)
        pipe.set(key, _dump_entry(entry), keepttl=True)
        ttl = int(self.retention_seconds + DAY)
        if entry.ref:
            pipe.set(self._key("outbox-ref", entry.ref), entry.id, ex=ttl)
        if entry.key:
            pipe.set(self._key("outbox-key", entry.key), entry.id, ex=ttl)
        elif earlier is not None and earlier.key:  # freed: the next run makes the call anew
            pointer = self._key("outbox-key", earlier.key)
            if self.client.get(pointer) == entry.id:
                pipe.delete(pointer)
        pipe.execute()

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

    def _hit(self, namespace: str, key: str, now: float, window: float) -> tuple[int, float]:
        count, until = self._hit_script(keys=[self._key("hits", namespace, key)], args=[now, window])
        return int(count), float(until) - now

    def _hits(self, namespace: str, key: str, now: float) -> tuple[int, float]:
        count, until = self.client.hmget(self._key("hits", namespace, key), ["count", "until"])
        if count is None or until is None or float(until) <= now:
            return 0, 0.0
        return int(count), float(until) - now

    def _ping(self) -> None:
        # A read of a key in hub's slot: on a cluster it asks the node that serves it. (A
        # plain PING answers from any node; the cluster client's PING needs every node.)
        self.client.exists(self._key("events"))

    # Attempts: one hash per event (`attempts:<id>`, field = attempt number, value = JSON),
    # written by the `_swap` that ends or takes over the attempt, deleted by purge with its
    # event; the TTL, renewed at each write, is a backstop.

    def _attempts_of(self, event_ids: list[str]) -> list[Attempt]:
        pipe = self.client.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.hvals(self._key("attempts", event_id))
        found = [Attempt(**json.loads(raw)) for values in pipe.execute() for raw in values]
        return sorted(found, key=lambda a: (a.event_id, a.attempt))

    def _attempts_delete_before(self, cutoff: float) -> None:
        """Drop the attempts of the events purge is about to remove (received before `cutoff`)."""
        start = 0
        while ids := self.client.zrangebyscore(self._key("events"), "-inf", f"({cutoff}", start, _SCAN_BATCH):
            start += _SCAN_BATCH
            self.client.delete(*[self._key("attempts", event_id) for event_id in ids])

    # -- deliveries -------------------------------------------------------------------------

    def _delivery_insert(self, deliveries: list[Delivery]) -> int:
        ttl = int(self.retention_seconds + DAY)  # a backstop; purge removes them first
        keys: list[str] = []
        args: list[Any] = [ttl]
        for d in deliveries:
            fields = _flatten(d.to_record())
            keys += [
                self._key("dlv", d.id),
                self._key("dlvs"),
                self._key("dlvs-of", d.event_id),
                self._key("dlvs-held", d.scope),
            ]
            args += [d.id, repr(d.created_at), len(fields), *fields]
        return int(self._delivery_insert_script(keys=keys, args=args))

    def _delivery_release(self, scope: str, now: float) -> int:
        held, released = self._key("dlvs-held", scope), 0
        while ids := self.client.srandmember(held, _RELEASE_BATCH):
            told = self.client.zmscore(self._key("dlvs"), ids)  # when each was told: the due order
            pipe = self.client.pipeline(transaction=True)  # a page moves whole or not at all
            for delivery_id in ids:
                key = self._key("dlv", delivery_id)
                pipe.hset(key, mapping={"status": PENDING, "next_attempt_at": "", "updated_at": repr(now)})
                pipe.hincrby(key, "version", 1)
            order = {i: now if t is None else t for i, t in zip(ids, told, strict=True)}
            pipe.zadd(self._key("dlvs-due"), order)
            pipe.srem(held, *ids)
            pipe.execute()
            released += len(ids)
        return released

    def _delivery_claim(self, now: float, lease_until: float, limit: int) -> list[Delivery]:
        due = self._key("dlvs-due")
        # Each candidate is claimed by a script that checks it is still due: a runner that
        # took it between this read and the claim wins, this one gets fewer.
        candidates = self.client.zrangebyscore(due, "-inf", now, start=0, num=limit)
        if not candidates:
            return []
        won = self._delivery_claim_script(
            keys=[due, *(self._key("dlv", delivery_id) for delivery_id in candidates)],
            args=[repr(now), repr(lease_until), *candidates],
        )
        pipe = self.client.pipeline(transaction=False)
        for delivery_id in won:
            pipe.hgetall(self._key("dlv", delivery_id))
        return [Delivery.from_record(r) for r in pipe.execute() if r]

    def _delivery_due(self, now: float, limit: int) -> list[str]:
        return self.client.zrangebyscore(self._key("dlvs-due"), "-inf", now, start=0, num=limit)

    def _delivery_swap(self, expected_version: int, delivery: Delivery) -> bool:
        due_at = delivery.due_at
        return (
            self._delivery_swap_script(
                keys=[self._key("dlv", delivery.id), self._key("dlvs-due")],
                args=[
                    str(expected_version),
                    delivery.id,
                    "" if due_at is None else repr(due_at),
                    *_flatten(delivery.to_record()),
                ],
            )
            == 1
        )

    def _delivery_load(self, delivery_id: str) -> dict[str, Any] | None:
        return self.client.hgetall(self._key("dlv", delivery_id)) or None

    def _delivery_select(
        self, event_id: str | None, status: str | None, limit: int, before: float | None = None
    ) -> list[dict[str, Any]]:
        index = self._key("dlvs-of", event_id) if event_id else self._key("dlvs")
        found: list[dict[str, Any]] = []
        start, newest = 0, "+inf" if before is None else f"({before!r}"
        while ids := self.client.zrevrangebyscore(index, newest, "-inf", start, _SCAN_BATCH):
            start += _SCAN_BATCH
            pipe = self.client.pipeline(transaction=False)
            for delivery_id in ids:
                pipe.hgetall(self._key("dlv", delivery_id))
            for record in pipe.execute():
                if record and (not status or record.get("status") == status):
                    found.append(record)
                    if len(found) >= limit:
                        return found
        return found

    def _delivery_delete_before(self, cutoff: float) -> int:
        purged = 0
        while ids := self.client.zrangebyscore(self._key("dlvs"), "-inf", f"({cutoff}", 0, _SCAN_BATCH):
            pipe = self.client.pipeline(transaction=False)
            for delivery_id in ids:
                pipe.hmget(self._key("dlv", delivery_id), ["event_id", "scope"])
            owners = pipe.execute()
            pipe = self.client.pipeline(transaction=True)
            for delivery_id, (event_id, scope) in zip(ids, owners, strict=True):
                pipe.delete(self._key("dlv", delivery_id))
                pipe.zrem(self._key("dlvs-due"), delivery_id)
                pipe.zrem(self._key("dlvs-of", event_id or ""), delivery_id)
                pipe.srem(self._key("dlvs-held", scope or ""), delivery_id)
            pipe.zrem(self._key("dlvs"), *ids)
            pipe.execute()
            purged += len(ids)
        return purged

    def _kv_page(self, namespace: str, cursor: str, limit: int) -> KvPage:
        # HSCAN, not HGETALL: a page at a time however many subscribers there are.
        position, items = self.client.hscan(self._key("kv", namespace), int(cursor or 0), count=limit)
        page = [(k, json.loads(v)) for k, v in items.items()]
        return page, ("" if int(position) == 0 else str(position))


def _flatten(record: dict[str, Any]) -> list[Any]:
    """A record as HSET arguments; None becomes '' (read back as None by Event.from_record)."""
    pairs: list[Any] = []
    for key, value in record.items():  # two appends: `pairs += [key, value]` makes a list each
        pairs.append(key)
        pairs.append("" if value is None else repr(value) if isinstance(value, float) else value)
    return pairs


def _dump_entry(entry: OutboxEntry) -> str:
    return json.dumps(entry.__dict__)


def _load_entry(raw: str) -> OutboxEntry:
    return OutboxEntry(**json.loads(raw))
