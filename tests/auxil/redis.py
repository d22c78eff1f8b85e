"""The real local Redis for tests: skipped with a reason when absent, failed under CI."""

from __future__ import annotations

import os

import pytest

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


def require_redis() -> str:
    """Return the test Redis URL (database flushed), or skip/fail when none answers."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        reason = f"no Redis at {REDIS_TEST_URL} ({exc}); start redis-server or set REDIS_TEST_URL"
        if os.environ.get("HUB_REQUIRE_REDIS") == "1":
            pytest.fail("HUB_REQUIRE_REDIS=1 but " + reason)
        pytest.skip(reason)
    client.flushdb()
    client.close()
    return REDIS_TEST_URL
