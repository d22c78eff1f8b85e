"""Send rates shared by every instance: Telegram's and Twilio's limits, in Redis when
`REDIS_URL` is set, else in a small SQLite file beside the store (shared by the processes
of one machine).

Each limit is a key with an interval between sends (GCRA with no burst: the key keeps
the earliest time its next send may go). A send takes a slot on every key it is under
(the bot and the chat) in one atomic step; a slot more than `MAX_AHEAD` seconds away is
not taken, the caller waits and asks again, so nobody books the future while waiting. A
429 pushes a key's next slot past its `retry_after`: the whole bot pauses, not only the
call that met it.

Intervals are kept 6% wider than the limits (`HEADROOM`): sends booked exactly
1/30 s apart from two instances reach Telegram with a few milliseconds of network
jitter, which would now and then put 31 into one second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

    from hub.config import Settings
    from hub.deliveries import Delivery
    from hub.store import Store

HEADROOM = 1.06
MAX_AHEAD = 1.0  # seconds: the furthest slot a send books (or one interval of its slowest limit)
# A thread whose next slot is further than this (a chat's 1/s) sleeps without the turn, so
# sends to other chats are not held up behind it.
TURN_HOLD = 0.1


@dataclass(frozen=True)
class Limit:
    key: str  # "telegram:bot", "telegram:chat:42", "sms:from:+15550001111"
    interval: float  # seconds between two sends


def limits_for(settings: Settings, delivery: Delivery) -> list[Limit]:
    """The limits one delivery's send is under (from settings with documented defaults)."""
    if delivery.channel == "telegram":
        chat = delivery.address
        group = chat.startswith("-")  # group and channel chat ids are negative
        if group:
            per_chat = 60.0 / settings.hub_telegram_group_per_minute
        else:
            per_chat = 1.0 / settings.hub_telegram_chat_per_second
        return [
            Limit("telegram:bot", HEADROOM / settings.hub_telegram_per_second),
            Limit(f"telegram:chat:{chat}", per_chat * HEADROOM),
        ]
    if delivery.channel == "sms":
        return [Limit(f"sms:from:{settings.twilio_from_number}", HEADROOM / settings.hub_twilio_mps)]
    return []


def pause_key(delivery: Delivery) -> str:
    """The key a 429 on this delivery pauses: the whole bot, or the whole sender."""
    return "telegram:bot" if delivery.channel == "telegram" else "sms:from"


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
        later run. Returns the seconds waited.

        `at_once`: take only a slot that is free now, and go: the send leaves the moment it
        books. This process's threads take turns asking (one asks, the rest wait on a lock
        and cost nothing).
        """
        if not limits:
            return 0.0
        if not at_once:  # one chat's next message books a slot its interval away
            return self._wait(
                limits, deadline, max(MAX_AHEAD, *(lim.interval for lim in limits)), at_once=False
            )
        # Measured on a monotonic clock too, so a clock that stands still cannot wait forever.
        give_up = time.monotonic() + max(0.0, deadline - self.clock())
        waited, ahead = 0.0, 0.0
        while True:
            with self._turn:
                result = self._wait(limits, deadline, ahead, at_once=True, give_up=give_up, hold=TURN_HOLD)
            if result is None or result >= 0:
                return None if result is None else waited + result
            earliest = -result  # the slot is far (a chat's 1/s): sleep without the turn
            pause = max(min(earliest - self.clock(), MAX_AHEAD), 0.001)
            self.sleep(pause)
            waited += pause
            ahead = max(ahead, earliest - self.clock() + 0.001)  # as in `_wait`: a still clock

    def _wait(
        self,
        limits: Sequence[Limit],
        deadline: float,
        ahead: float,
        *,
        at_once: bool,
        give_up: float | None = None,
        hold: float = float("inf"),
    ) -> float | None:
        """Book a slot at most `ahead` away, sleeping for it: the seconds waited; None past
        the deadline; minus the earliest slot when it is more than `hold` away (the caller
        sleeps for it without the turn)."""
        if give_up is None:
            give_up = time.monotonic() + max(0.0, deadline - self.clock())
        waited = 0.0
        wanted: float | None = None  # the slot slept for, taken even if woken a little late
        # A slot taken up to half an interval late keeps any one second's sends at what the
        # spacing gives (29 at 30/s): a full interval would make it 30, leaving the network
        # and the far end no room for their own jitter. Later than that, book from now.
        late = min(lim.interval for lim in limits) / 2
        while True:
            now = self.clock()
            # Asked for at the slot slept for, not at the moment of waking: a thread that
            # wakes a few ms late keeps the schedule (else each wake's lateness would be
            # lost, about 6% of the rate under load), unless another took the slot. Woken
            # later than that (the process stalled), it asks for a slot from now instead of
            # going late into the next sends' second.
            at = now
            if at_once and wanted is not None and now - wanted <= late:
                at = min(now, wanted)
            wanted = None
            slot = self._book(limits, at, ahead)
            if slot >= 0:  # booked
                pause = max(0.0, slot - now)
                if pause:
                    self.sleep(pause)
                return waited + pause
            earliest = -slot
            wanted = earliest
            if earliest > deadline or time.monotonic() >= give_up:
                return None
            pause = max(min(earliest - now, MAX_AHEAD), 0.001)
            if pause > hold:
                return -earliest
            self.sleep(pause)
            waited += pause
            # Slept until the slot: take it now even if it is (just) ahead of the clock, so a
            # clock that stands still (tests) cannot keep a send waiting; a real clock has
            # reached the slot, so this books nothing in the future.
            ahead = max(ahead, earliest - self.clock() + 0.001)

    def earliest(self, limits: Sequence[Limit]) -> float:
        """When a send under `limits` could go, without taking the slot."""
        return max([self.clock(), *self._free([lim.key for lim in limits])]) if limits else self.clock()

    def pause(self, key_prefix: str, limits: Sequence[Limit], seconds: float) -> None:
        """A 429 said wait `seconds`: no send under the matching limits before then."""
        until = self.clock() + seconds
        self._push([lim.key for lim in limits if lim.key.startswith(key_prefix)], until)

    def _book(self, limits: Sequence[Limit], now: float, ahead: float) -> float:
        """The booked slot time, or minus the earliest slot when it is over `ahead` away."""
        raise NotImplementedError

    def _push(self, keys: list[str], until: float) -> None:
        raise NotImplementedError

    def _free(self, keys: list[str]) -> list[float]:
        raise NotImplementedError


class RedisRateLimiter(RateLimiter):
    # KEYS: one per limit. ARGV: now, max ahead, then each limit's interval. Each key holds
    # the time its next send may go. Returns the slot (booked) or minus it (not booked).
    _BOOK = """
local now = tonumber(ARGV[1])
local slot = now
for i, key in ipairs(KEYS) do
  local free = tonumber(redis.call('GET', key) or '0')
  if free > slot then slot = free end
end
if slot - now > tonumber(ARGV[2]) then return tostring(-slot) end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[i + 2])
  redis.call('SET', key, tostring(slot + interval), 'PX', math.ceil((slot + interval - now) * 1000) + 60000)
end
return tostring(slot)
"""
    _PUSH = """
for i, key in ipairs(KEYS) do
  local free = tonumber(redis.call('GET', key) or '0')
  if tonumber(ARGV[1]) > free then redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
end
return 1
"""

    def __init__(self, client: Any, prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.prefix = prefix
        self._book_script = client.register_script(self._BOOK)
        self._push_script = client.register_script(self._PUSH)

    def _book(self, limits: Sequence[Limit], now: float, ahead: float) -> float:
        keys = [f"{self.prefix}rate:{lim.key}" for lim in limits]
        intervals = [repr(lim.interval) for lim in limits]
        return float(self._book_script(keys=keys, args=[repr(now), repr(ahead), *intervals]))

    def _free(self, keys: list[str]) -> list[float]:
        return [float(v) for v in self.client.mget([f"{self.prefix}rate:{k}" for k in keys]) if v]

    def _push(self, keys: list[str], until: float) -> None:
        if keys:
            ttl = int((until - self.clock()) * 1000) + 60000
            self._push_script(keys=[f"{self.prefix}rate:{k}" for k in keys], args=[repr(until), ttl])


class SQLiteRateLimiter(RateLimiter):
    """The same in a SQLite file of its own: not durable (a lost slot is harmless), so no
    fsync per send; processes on one machine take turns through SQLite's write lock."""

    def __init__(self, path: str | Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = str(path)
        self._local = threading.local()
        with self._connection() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS slots (key TEXT PRIMARY KEY, free REAL NOT NULL)")

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            import sqlite3  # here: a hub on Redis never loads it

            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            self._local.conn = conn
        return conn

    def _book(self, limits: Sequence[Limit], now: float, ahead: float) -> float:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            keys = [lim.key for lim in limits]
            rows = conn.execute(
                f"SELECT free FROM slots WHERE key IN ({', '.join('?' * len(keys))})", keys
            ).fetchall()
            slot = max([now, *(r[0] for r in rows)])
            if slot - now > ahead:
                conn.execute("COMMIT")
                return -slot
            conn.executemany(
                "INSERT INTO slots (key, free) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET free = excluded.free",
                [(lim.key, slot + lim.interval) for lim in limits],
            )
            conn.execute("COMMIT")
            return slot
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _free(self, keys: list[str]) -> list[float]:
        marks = ", ".join("?" * len(keys))
        rows = self._connection().execute(f"SELECT free FROM slots WHERE key IN ({marks})", keys)
        return [r[0] for r in rows]

    def _push(self, keys: list[str], until: float) -> None:
        conn = self._connection()
        conn.executemany(
            "INSERT INTO slots (key, free) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET free = max(free, excluded.free)",
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
