"""Redis specifics: purging leaves nothing behind, and keys stay under the store's prefix."""

from __future__ import annotations

import pytest
import redis

from hub.store.redis import RedisStore
from tests.store.conftest import Clock, drop_redis_prefix, redis_prefix, stripe_like

pytestmark = pytest.mark.redis


def test_purge_leaves_no_keys_behind(redis_url: str) -> None:
    clock, prefix = Clock(), redis_prefix()
    store = RedisStore(redis_url, prefix=prefix, clock=clock, dedup_days=1)
    client = redis.Redis.from_url(redis_url)
    try:
        done = store.record(stripe_like("evt_done")).event
        store.complete(store.claim(done.id, lease_seconds=60))  # type: ignore[arg-type]
        failed = store.record(stripe_like("evt_failed", type="charge.failed")).event
        store.fail(store.claim(failed.id, lease_seconds=60), "e", retry_at=clock() + 10)  # type: ignore[arg-type]
        store.add_outbox("twilio", "send_sms", {}, event_id=done.id, status="sent", ref="SM1", key="k1")
        clock.advance(86400 + 1)

        assert store.purge() == 2

        assert client.keys(prefix.replace("{", "\\{").replace("}", "\\}") + "*") == []
    finally:
        client.close()
        store.close()
        drop_redis_prefix(redis_url, prefix)


def test_every_key_is_under_the_prefix(redis_url: str) -> None:
    prefix = redis_prefix()
    store = RedisStore(redis_url, prefix=prefix)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        before = set(client.keys("*"))
        event = store.record(stripe_like("evt_prefixed")).event
        store.complete(store.claim(event.id, lease_seconds=60))  # type: ignore[arg-type]
        store.add_outbox("twilio", "send_sms", {}, event_id=event.id, status="sent", ref="SM1", key="k")
        store.kv_put("subs", "1", {"on": True})

        created = set(client.keys("*")) - before
        assert created and all(key.startswith(prefix) for key in created)
    finally:
        client.close()
        store.close()
        drop_redis_prefix(redis_url, prefix)


def test_a_delivery_callback_racing_the_purge_does_not_bring_the_entry_back(redis_url: str) -> None:
    """The purge lands between the patch's read and its write: the entry stays purged."""
    clock, prefix = Clock(), redis_prefix()
    store = RedisStore(redis_url, prefix=prefix, clock=clock, dedup_days=1)
    sweeper = RedisStore(redis_url, prefix=prefix, clock=clock, dedup_days=1)
    client = redis.Redis.from_url(redis_url)
    try:
        store.add_outbox("twilio", "send_sms", {}, event_id="evt_1", status="sent", ref="SM1")
        clock.advance(86400 * 2 + 1)
        purged = []

        def purge_after_the_entry_is_read(response, **options):  # noqa: ANN001, ANN003, ANN202
            if isinstance(response, str) and response.startswith("{") and not purged:
                purged.append(sweeper.purge())
            return response

        store.client.set_response_callback("GET", purge_after_the_entry_is_read)

        assert store.update_outbox("SM1", status="delivered") is None
        assert purged == [0]  # the sweep ran mid-patch (0 events; it removed the entry)
        assert client.keys(prefix.replace("{", "\\{").replace("}", "\\}") + "*") == []
    finally:
        client.close()
        sweeper.close()
        store.close()
        drop_redis_prefix(redis_url, prefix)
