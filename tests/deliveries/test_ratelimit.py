"""The shared limiter: limits from settings, one bot's slots shared by two instances, and
a 429 that pauses every instance's sends, in Redis and in the SQLite file."""

from __future__ import annotations

import pytest

from hub.config import load_settings
from hub.deliveries import Delivery
from hub.ratelimit import HEADROOM, RedisRateLimiter, SQLiteRateLimiter, limits_for


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
    assert (bot.key, bot.interval) == ("telegram:bot", pytest.approx(HEADROOM / 30))
    assert (chat.key, chat.interval) == ("telegram:chat:42", pytest.approx(HEADROOM))
    assert limits_for(SETTINGS, delivery("-100123"))[1].interval == pytest.approx(3 * HEADROOM), "20/min"
    [sender] = limits_for(SETTINGS, delivery("+15550002222", "sms"))
    assert (sender.key, sender.interval) == ("sms:from:+15550001111", pytest.approx(HEADROOM / 3))


def test_two_instances_share_one_bots_slots(pair) -> None:  # noqa: ANN001
    clock, (one, two) = pair
    started = clock.now
    for n in range(60):  # alternating instances, each to a chat of its own
        limiter = one if n % 2 else two
        assert limiter.wait_for(limits_for(SETTINGS, delivery(str(n))), deadline=clock.now + 60) is not None
    assert clock.now - started == pytest.approx(59 * HEADROOM / 30), "60 sends took 2 s, not 1"


def test_a_429_pauses_every_instance_not_only_the_send_that_met_it(pair) -> None:  # noqa: ANN001
    clock, (one, two) = pair
    limits = limits_for(SETTINGS, delivery("1"))
    one.pause("telegram:bot", limits, 5.0)  # instance one met a 429 asking for 5 s
    other_chat = limits_for(SETTINGS, delivery("2"))
    assert two.wait_for(other_chat, deadline=clock.now + 2) is None, "no slot for anyone within 2 s"
    started = clock.now
    assert two.wait_for(other_chat, deadline=clock.now + 10) is not None
    assert clock.now - started == pytest.approx(5.0, abs=0.02), "the other instance waited out the pause"


def test_a_send_woken_too_late_for_its_slot_takes_a_new_one(pair) -> None:  # noqa: ANN001
    """A thread that slept for a slot keeps it when it wakes a little late (the rate holds),
    but one woken long after (the process stalled) would go late into the next sends'
    second (31 in one second at Telegram): it takes a slot from the moment it woke."""
    clock, (one, two) = pair
    bot = limits_for(SETTINGS, delivery("42"))[0]
    for stall, next_in in [(0.002, bot.interval - 0.002), (0.2, bot.interval)]:
        one.wait_for([bot], deadline=clock.now + 10, at_once=True)  # the next slot is an interval away
        naps = iter([stall])

        def stalling_sleep(seconds: float, naps=naps) -> None:  # noqa: ANN001
            clock.sleep(seconds + next(naps, 0.0))

        two.sleep = stalling_sleep
        assert two.wait_for([bot], deadline=clock.now + 10, at_once=True) is not None
        assert two.earliest([bot]) - clock.now == pytest.approx(next_in), f"woken {stall} s late"
