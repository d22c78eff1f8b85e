"""The shared limiter: limits from settings, one bot's window shared by two instances, the
window rule held whatever the order and lateness of the asks, and a 429 that pauses every
instance's sends, in Redis and in the SQLite file."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.config import load_settings
from hub.deliveries import Delivery
from hub.ratelimit import JITTER, Limit, RedisRateLimiter, SQLiteRateLimiter, limits_for


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(params=["sqlite", "redis"])
def pair(request, tmp_path):  # noqa: ANN001, ANN201
    """Two limiters (two instances) over one shared state, on one clock."""
    clock = Clock()
    if request.param == "sqlite":
        path = tmp_path / "limits.sqlite3"
        made = [SQLiteRateLimiter(path, clock=clock, sleep=clock.sleep) for _ in range(2)]
    else:
        import redis

        from tests.auxil.redis import unique_prefix

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"), decode_responses=True)
        prefix = unique_prefix()
        made = [RedisRateLimiter(client, prefix, clock=clock, sleep=clock.sleep) for _ in range(2)]
    yield clock, made
    if request.param == "redis":
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


def delivery(address: str, channel: str = "telegram") -> Delivery:
    return Delivery.new("evt_1", "evt_1", channel, address, "hi", {}, now=0.0)


SETTINGS = load_settings(
    {"HUB_TELEGRAM_PER_SECOND": "30", "HUB_TWILIO_MPS": "3", "TWILIO_FROM_NUMBER": "+15550001111"},
    ".",
    environ={},
)


def test_the_limits_a_send_is_under_come_from_the_settings() -> None:
    bot, chat = limits_for(SETTINGS, delivery("42"))
    assert (bot.key, bot.count, bot.window) == ("telegram:bot", 30, pytest.approx(1 + JITTER))
    assert (chat.key, chat.count, chat.window) == ("telegram:chat:42", 1, pytest.approx(1 + JITTER))
    group = limits_for(SETTINGS, delivery("-100123"))[1]
    assert (group.count, group.window) == (20, pytest.approx(60 + JITTER)), "20 per minute"
    [sender] = limits_for(SETTINGS, delivery("+15550002222", "sms"))
    assert (sender.key, sender.count, sender.window) == (
        "sms:from:+15550001111",
        3,
        pytest.approx(1 + JITTER),
    )
    assert Limit.rate("k", 0.5).count == 1 and Limit.rate("k", 0.5).window == pytest.approx(2 + JITTER)


def test_two_instances_share_one_bots_window(pair) -> None:  # noqa: ANN001
    clock, (one, two) = pair
    started = clock.now
    for n in range(60):  # alternating instances, each to a chat of its own
        limiter = one if n % 2 else two
        assert limiter.wait_for(limits_for(SETTINGS, delivery(str(n))), deadline=clock.now + 60) is not None
        if n == 29:
            assert clock.now == started, "an idle bot's first 30 go at once"
    assert clock.now - started == pytest.approx(1 + JITTER), "60 sends took one window, not two"


def test_a_429_pauses_every_instance_not_only_the_send_that_met_it(pair) -> None:  # noqa: ANN001
    clock, (one, two) = pair
    limits = limits_for(SETTINGS, delivery("1"))
    one.pause("telegram:bot", limits, 5.0)  # instance one met a 429 asking for 5 s
    other_chat = limits_for(SETTINGS, delivery("2"))
    assert two.wait_for(other_chat, deadline=clock.now + 2) is None, "no slot for anyone within 2 s"
    started = clock.now
    assert two.wait_for(other_chat, deadline=clock.now + 10) is not None
    assert clock.now - started == pytest.approx(5.0, abs=0.02), "the other instance waited out the pause"


def test_a_send_that_woke_late_counts_from_when_it_went(pair) -> None:  # noqa: ANN001
    """A stalled thread's send goes when it wakes, and the window counts it from then: a
    send stamped at the slot it slept for would let the next window's sends in too early."""
    clock, (one, two) = pair
    chat = limits_for(SETTINGS, delivery("42"))[1]  # one per window
    one.wait_for([chat], deadline=clock.now + 10, at_once=True)
    two.sleep = lambda seconds: clock.sleep(seconds + 0.3)  # wakes 0.3 s after its slot
    assert two.wait_for([chat], deadline=clock.now + 10, at_once=True) is not None
    went = clock.now
    assert one.earliest([chat]) == pytest.approx(went + chat.window)


@settings(max_examples=40, deadline=None)
@given(
    asks=st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 5), st.floats(0, 0.2), st.floats(0, 0.05)),
        min_size=40,
        max_size=120,
    )
)
def test_no_window_holds_more_sends_than_its_limit_whatever_the_asks(tmp_path_factory, asks) -> None:  # noqa: ANN001
    """Two instances asking in any order, for a few chats, with gaps and late wakes: the
    sends' start times never put more than 30 into one bot window, or 2 into one chat's, and
    a send is never held past the moment the rule frees it."""
    clock = Clock()
    path = tmp_path_factory.mktemp("limits") / "limits.sqlite3"
    made = [SQLiteRateLimiter(path, clock=clock, sleep=clock.sleep) for _ in range(2)]
    bot_times: list[float] = []
    chat_times: dict[str, list[float]] = {}
    for instance, chat, gap, late in asks:
        clock.now += gap
        limiter = made[instance]
        naps: list[float] = []

        def oversleep(seconds: float, late: float = late, naps: list = naps) -> None:
            naps.append(seconds)
            clock.sleep(seconds + late)

        limiter.sleep = oversleep
        limits = limits_for(SETTINGS, delivery(str(chat)))
        bot_free, chat_free = (limiter.earliest([lim]) for lim in limits)
        assert limiter.wait_for(limits, deadline=clock.now + 100, at_once=True) is not None
        went = clock.now
        # (each nap may end `late`, and is at least a millisecond)
        assert went <= max(bot_free, chat_free) + len(naps) * (late + 0.001) + 1e-6, "held past its time"
        bot_times.append(went)
        chat_times.setdefault(str(chat), []).append(went)
    bot, chat = limits_for(SETTINGS, delivery("0"))
    assert all(b - a >= bot.window - 1e-9 for a, b in zip(bot_times, bot_times[bot.count :], strict=False))
    for times in chat_times.values():
        assert all(b - a >= chat.window - 1e-9 for a, b in zip(times, times[1:], strict=False))


def test_a_send_that_reached_the_wire_late_is_counted_from_then(pair) -> None:  # noqa: ANN001
    """30 sends go at once; the first was held 50 ms on its way to the HTTP client, so the
    31st may go only a window after it got there, not after its slot."""
    clock, (one, two) = pair
    slots = [
        one.wait_for(limits_for(SETTINGS, delivery(str(n))), deadline=clock.now + 10, at_once=True)
        for n in range(30)
    ]
    first = limits_for(SETTINGS, delivery("0"))
    one.restamp(first, slots[0], slots[0] + 0.05)
    bot = first[0]
    assert two.earliest([bot]) == pytest.approx(slots[0] + 0.05 + bot.window)
    one.restamp(first, slots[0], slots[0] - 1.0)  # earlier: ignored, a stamp only moves later
    assert two.earliest([bot]) == pytest.approx(slots[0] + 0.05 + bot.window)
