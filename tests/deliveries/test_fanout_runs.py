"""A handler's fan-out that outlasts its run's time box goes on in follow-up runs (hub.fanout):
everyone is told once, and the follow-ups' messages are named as one run's would be."""

from __future__ import annotations

import time

import pytest

from hub import fanout
from hub.deliveries import delivery_id
from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event
from tests.conftest import post

SUBSCRIBERS = 600  # over 512: Redis pages a smaller hash in one go (its listpack)


def slow_walker(runs: list) -> Router:
    router = Router()

    @router.on("stripe", "invoice.paid")
    def tell_everyone(event, ctx):  # noqa: ANN001, ANN202
        for sub in fanout.walk(ctx, "subs", page=10):
            time.sleep(0.002)  # a slow page: ten take at least 20 ms
            ctx.send_text("telegram", sub["chat"], "Paid!")
        runs.append(event)

    return router


@pytest.fixture(params=["sqlite", "redis"])
def backend(request) -> dict:  # noqa: ANN001
    return request.getfixturevalue("redis_config") if request.param == "redis" else {}


def test_a_fan_out_past_its_time_box_goes_on_in_follow_up_runs(make_app, backend) -> None:  # noqa: ANN001
    runs: list = []
    # A time box of 0.1 s (half the run budget) against at least 1.2 s of walking.
    app = make_app({**backend, "HUB_DELIVERY_RUN_SECONDS": "0.2"}, router=slow_walker(runs))
    hub = hub_of(app)
    for n in range(SUBSCRIBERS):
        hub.store.kv_put("subs", f"k{n:04d}", {"chat": str(n)})
    first = post(app.test_client(), stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    hub.tasks.drain()
    for _ in range(100):  # the delivery runs left due by their 0.2 s budget
        if not hub.store.deliveries_due(1):
            break
        hub.sweep()

    assert len(runs) >= 2, "the walk went on in a follow-up run"
    follow_ups = runs[1:]
    assert [e.payload[fanout.CONTINUED]["part"] for e in follow_ups] == list(range(1, len(runs)))
    assert all(hub.store.get(e.id).status == "done" for e in runs)
    chats = [e.payload["chat_id"] for e in hub.store.outbox(limit=1000)]
    assert sorted(chats, key=int) == [str(n) for n in range(SUBSCRIBERS)], "everyone told once"
    # Named by the first run: a part walked twice (a rerun stopped at another page) or a
    # subscriber a Redis page returns twice is the same delivery, told once.
    expected = {delivery_id(first, "telegram", str(n), "Paid!", {}) for n in range(SUBSCRIBERS)}
    assert {d.id for d in hub.store.deliveries(limit=1000)} == expected
    assert {d.status for d in hub.store.deliveries(limit=1000)} == {"sent"}
