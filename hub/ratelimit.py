"""Send rates shared by every instance: Telegram's and Twilio's limits, in Redis when
`REDIS_URL` is set, else in a small SQLite file beside the store (shared by the processes
of one machine).

Each limit is a sliding window, the rule Telegram (and the bench's fake Bot API) applies:
at most `count` sends within any `window` seconds (30 per second per bot, 1 per second per
chat, 20 per minute per group). Its key keeps the start times of its last `count` sends;
a send may go once the oldest of them is a window old. So a limiter idle for a moment
sends its next `count` at once and loses nothing to a late wake or a pause between runs,
where a fixed spacing between sends could only lose time, and so was kept 6 % wider than
the limit. A send takes its place on every key it is under (the bot and the chat) in one
atomic step; one further than `MAX_AHEAD` seconds away is not taken, the caller waits and
asks again, so nobody books the future while waiting. A 429 pauses a key past its
`retry_after`: the whole bot waits, not only the call that met it.

Each window is `JITTER` wider than the limit's: a send is stamped when it is let go, and
reaches the provider a little later (the hop to the HTTP client's loop, the socket, the
far end's own threads), later for some sends than for others. 20 ms costs 2 % of 30/s and
covers what this 2-core machine showed under load; a 429 costs a whole second.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

    from hub.config import Settings
    from hub.deliveries import Delivery
    from hub.store import Store

JITTER = 0.02  # seconds added to each window (see above)
MAX_AHEAD = 1.0  # seconds: the furthest slot a send books
# A thread whose next slot is further than this (a chat's 1/s) sleeps without the turn, so
# sends to other chats are not held up behind it.
TURN_HOLD = 0.1


@dataclass(frozen=True)
class Limit:
    key: str  # "telegram:bot", "telegram:chat:42", "sms:from:+15550001111"
    count: int  # at most this many sends
    window: float  # within any this many seconds (the provider's window plus JITTER)

    @classmethod
    def rate(cls, key: str, per_second: float) -> Limit:
        """`per_second` as a whole number of sends per window: 30/s is 30 per second, 0.5/s
        one per 2 s, 28.5/s 28 per 0.98 s (never faster than asked)."""
        count = max(1, math.floor(per_second))
        return cls(key, count, count / per_second + JITTER)


def limits_for(settings: Settings, delivery: Delivery) -> list[Limit]:
    """The limits one delivery's send is under (from settings with documented defaults)."""
    if delivery.channel == "telegram":
        chat = delivery.address
        bot = Limit.rate("telegram:bot", settings.hub_telegram_per_second)
        if chat.startswith("-"):  # group and channel chat ids are negative: 20 per minute
            count = max(1, math.floor(settings.hub_telegram_group_per_minute))
            window = 60.0 * count / settings.hub_telegram_group_per_minute + JITTER
            return [bot, Limit(f"telegram:chat:{chat}", count, window)]
        return [bot, Limit.rate(f"telegram:chat:{chat}", settings.hub_telegram_chat_per_second)]
    if delivery.channel == "sms":
        return [Limit.rate(f"sms:from:{settings.twilio_from_number}", settings.hub_twilio_mps)]
    return []


def pause_key(delivery: Delivery) -> str:
    """The key a 429 on this delivery pauses: the whole bot, or the whole sender."""
    return "telegram:bot" if delivery.channel == "telegram" else "sms:from"


def next_free(times: Sequence[float], paused: float, limit: Limit) -> float:
    """The earliest a send may go under one limit, given its last sends' start times (oldest
    first) and a pause: after the newest (times only grow), and once the `count`-th newest
    is a window old. The Redis script below says the same in Lua."""
    free = max(paused, times[-1] if times else 0.0)
    if len(times) >= limit.count:
        free = max(free, times[-limit.count] + limit.window)
    return free


class RateLimiter:
    """Book send slots; `wait_for` blocks until one is booked or the deadline is near."""

    def __init__(
        self, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.warm = False  # a send has gone through this process's clients (hub.delivery_runner)
        self._turn = threading.Lock()  # this process's threads ask for `at_once` slots in turn

    def wait_for(self, limits: Sequence[Limit], *, deadline: float, at_once: bool = False) -> float | None:
        """Take a slot on every limit and sleep until it; None (nothing taken) when the
        earliest slot is later than `deadline` (a wall-clock time): the send waits for a
        later run. Returns the slot taken (its stamp: see `restamp`).

        `at_once`: take only a slot that is free now, and go: the send leaves the moment it
        books. This process's threads take turns asking (one asks, the rest wait on a lock
        and cost nothing).
        """
        if not limits:
            return self.clock()
        if not at_once:  # book up to MAX_AHEAD (or one window of the slowest limit) away
            return self._wait(limits, deadline, max(MAX_AHEAD, *(lim.window for lim in limits)))
        # Measured on a monotonic clock too, so a clock that stands still cannot wait forever.
        give_up = time.monotonic() + max(0.0, deadline - self.clock())
        ahead = 0.0
        while True:
            with self._turn:
                result = self._wait(limits, deadline, ahead, give_up=give_up, hold=TURN_HOLD)
            if result is None or result >= 0:
                return result
            earliest = -result  # the slot is far (a chat's 1/s): sleep without the turn
            before = self.clock()
            pause = max(min(earliest - before, MAX_AHEAD), 0.001)
            self.sleep(pause)
            ahead = _still_clock_ahead(ahead, earliest, before, self.clock())

    def _wait(
        self,
        limits: Sequence[Limit],
        deadline: float,
        ahead: float,
        *,
        give_up: float | None = None,
        hold: float = float("inf"),
    ) -> float | None:
        """Book a slot at most `ahead` away, sleeping for it: the slot; None past the
        deadline; minus the earliest slot when it is more than `hold` away (the caller
        sleeps for it without the turn)."""
        if give_up is None:
            give_up = time.monotonic() + max(0.0, deadline - self.clock())
        while True:
            # Asked for at the moment of asking: a send is stamped when it goes, so one that
            # woke late counts from then, and the window stays true at the far end.
            now = self.clock()
            slot = self._book(limits, now, ahead)
            if slot >= 0:  # booked
                if slot > now:
                    self.sleep(slot - now)
                return slot
            earliest = -slot
            if earliest > deadline or time.monotonic() >= give_up:
                return None
            pause = max(min(earliest - now, MAX_AHEAD), 0.001)
            if pause > hold:
                return -earliest
            self.sleep(pause)
            ahead = _still_clock_ahead(ahead, earliest, now, self.clock())

    def earliest(self, limits: Sequence[Limit]) -> float:
        """When a send under `limits` could go, without taking the slot."""
        if not limits:
            return self.clock()
        now = self.clock()
        return -self._book(limits, now, -1.0)  # asked never to book: it answers minus the slot

    def restamp(self, limits: Sequence[Limit], slot: float, went: float) -> None:
        """The send stamped `slot` reached the wire only at `went` (later): count it from
        then. The window must hold where the provider counts, and a send held up on its way
        (the HTTP client's loop busy, a connection opened) would otherwise let the send a
        window after it arrive less than a window later. Moving a stamp later only ever
        delays later sends, so it is safe whenever it lands."""
        if limits and went > slot:
            self._restamp(limits, slot, went)

    def pause(self, key_prefix: str, limits: Sequence[Limit], seconds: float) -> None:
        """A 429 said wait `seconds`: no send under the matching limits before then."""
        until = self.clock() + seconds
        self._push([lim.key for lim in limits if lim.key.startswith(key_prefix)], until)

    def _book(self, limits: Sequence[Limit], now: float, ahead: float) -> float:
        """The booked slot time, or minus the earliest slot when it is over `ahead` away."""
        raise NotImplementedError

    def _push(self, keys: list[str], until: float) -> None:
        raise NotImplementedError

    def _restamp(self, limits: Sequence[Limit], slot: float, went: float) -> None:
        raise NotImplementedError


def _still_clock_ahead(ahead: float, earliest: float, before: float, after: float) -> float:
    """How far ahead the next ask may book, after a sleep for the slot at `earliest`.

    A clock that stood still through the sleep (a test's, or the store's frozen one) would
    keep the send waiting forever: it may take the slot it slept for, just ahead of the
    clock. A clock that moved is asked again as it is, booking nothing in the future: a
    send booked ahead and then woken late would go later than its stamp, and the window
    would no longer be true at the far end.
    """
    if after > before:
        return ahead
    return max(ahead, earliest - after + 0.001)


class RedisRateLimiter(RateLimiter):
    # KEYS: two per limit (its last sends, a list oldest first; its pause). ARGV: now, max
    # ahead, then each limit's count and window. As `next_free`, then the booking.
    _BOOK = """
local now = tonumber(ARGV[1])
local slot = now
local n = #KEYS / 2
for i = 1, n do
  local count = tonumber(ARGV[2 * i + 1])
  local window = tonumber(ARGV[2 * i + 2])
  local paused = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  if paused > slot then slot = paused end
  local newest = redis.call('LINDEX', KEYS[2 * i - 1], -1)
  if newest and tonumber(newest) > slot then slot = tonumber(newest) end
  if redis.call('LLEN', KEYS[2 * i - 1]) >= count then
    local free = tonumber(redis.call('LINDEX', KEYS[2 * i - 1], -count)) + window
    if free > slot then slot = free end
  end
end
if slot - now > tonumber(ARGV[2]) then return tostring(-slot) end
for i = 1, n do
  local count = tonumber(ARGV[2 * i + 1])
  local window = tonumber(ARGV[2 * i + 2])
  redis.call('RPUSH', KEYS[2 * i - 1], tostring(slot))
  redis.call('LTRIM', KEYS[2 * i - 1], -count, -1)
  redis.call('PEXPIRE', KEYS[2 * i - 1], math.ceil((slot + window - now) * 1000) + 60000)
end
return tostring(slot)
"""
    _PUSH = """
for i, key in ipairs(KEYS) do
  local paused = tonumber(redis.call('GET', key) or '0')
  if tonumber(ARGV[1]) > paused then redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
end
return 1
"""

    # KEYS: each limit's last sends. ARGV: the stamp, the new one. The list stays sorted.
    _RESTAMP = """
local slot = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local times = redis.call('LRANGE', key, 0, -1)
  for j, t in ipairs(times) do
    if tonumber(t) == slot then
      times[j] = ARGV[2]
      table.sort(times, function(a, b) return tonumber(a) < tonumber(b) end)
      local ttl = redis.call('PTTL', key)
      redis.call('DEL', key)
      redis.call('RPUSH', key, unpack(times))
      if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
      break
    end
  end
end
return 1
"""

    def __init__(self, client: Any, prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.prefix = prefix
        self._book_script = client.register_script(self._BOOK)
        self._push_script = client.register_script(self._PUSH)
        self._restamp_script = client.register_script(self._RESTAMP)

    def _restamp(self, limits: Sequence[Limit], slot: float, went: float) -> None:
        keys = [f"{self.prefix}sends:{lim.key}" for lim in limits]
        self._restamp_script(keys=keys, args=[repr(slot), repr(went)])

    def _book(self, limits: Sequence[Limit], now: float, ahead: float) -> float:
        keys, args = [], [repr(now), repr(ahead)]
        for lim in limits:
            keys += [f"{self.prefix}sends:{lim.key}", f"{self.prefix}paused:{lim.key}"]
            args += [str(lim.count), repr(lim.window)]
        return float(self._book_script(keys=keys, args=args))

    def _push(self, keys: list[str], until: float) -> None:
        if keys:
            ttl = int((until - self.clock()) * 1000) + 60000
            self._push_script(keys=[f"{self.prefix}paused:{k}" for k in keys], args=[repr(until), ttl])


class SQLiteRateLimiter(RateLimiter):
    """The same in a SQLite file of its own: not durable (a lost window is harmless), so no
    fsync per send; processes on one machine take turns through SQLite's write lock."""

    def __init__(self, path: str | Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = str(path)
        self._local = threading.local()
        with self._connection() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS sends"
                " (key TEXT PRIMARY KEY, times TEXT NOT NULL DEFAULT '[]', paused REAL NOT NULL DEFAULT 0)"
            )

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            import sqlite3  # here: a hub on Redis never loads it

            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction on this thread's connection: committed, or rolled back on any
        error. `write` takes the write lock at once (so two processes never both read the
        old times and book the same slot); a look alone does not need it."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _book(self, limits: Sequence[Limit], now: float, ahead: float) -> float:
        # Asked only to look (`earliest`, once per delivery): a read, without the write lock.
        with self._transaction(write=ahead >= 0) as conn:
            keys = [lim.key for lim in limits]
            marks = ", ".join("?" * len(keys))
            rows = dict(
                (key, (json.loads(times), paused))
                for key, times, paused in conn.execute(
                    f"SELECT key, times, paused FROM sends WHERE key IN ({marks})", keys
                )
            )
            kept = {lim.key: rows.get(lim.key, ([], 0.0)) for lim in limits}
            slot = max([now, *(next_free(*kept[lim.key], lim) for lim in limits)])
            if slot - now > ahead:
                return -slot
            conn.executemany(
                "INSERT INTO sends (key, times) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET times = excluded.times",
                [(lim.key, json.dumps([*kept[lim.key][0], slot][-lim.count :])) for lim in limits],
            )
            return slot

    def _restamp(self, limits: Sequence[Limit], slot: float, went: float) -> None:
        with self._transaction() as conn:
            keys = [lim.key for lim in limits]
            marks = ", ".join("?" * len(keys))
            changed = []
            for key, raw in conn.execute(f"SELECT key, times FROM sends WHERE key IN ({marks})", keys):
                times = json.loads(raw)
                if slot in times:
                    times[times.index(slot)] = went
                    changed.append((json.dumps(sorted(times)), key))
            conn.executemany("UPDATE sends SET times = ? WHERE key = ?", changed)

    def _push(self, keys: list[str], until: float) -> None:
        conn = self._connection()
        conn.executemany(
            "INSERT INTO sends (key, paused) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET paused = max(paused, excluded.paused)",
            [(k, until) for k in keys],
        )


def open_limiter(settings: Settings, store: Store) -> RateLimiter:
    """Redis when the store is Redis (every instance shares it), else a file beside SQLite.
    Time is the store's clock, as for every other due time."""

    def clock() -> float:
        return store.clock()

    client = getattr(store, "client", None)
    if store.backend == "redis" and client is not None:
        return RedisRateLimiter(client, getattr(store, "prefix", "{hub}:"), clock=clock)
    return SQLiteRateLimiter(Path(settings.database_path).with_suffix(".limits.sqlite3"), clock=clock)
