"""The real local Redis for tests: skipped with a reason when absent, failed under CI."""

from __future__ import annotations

import os
import uuid

from tests.auxil.unavailable import unavailable

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


def unique_prefix() -> str:
    """A key prefix of its own for one test, so tests never see each other's keys."""
    return "{test-" + uuid.uuid4().hex[:12] + "}:"


def drop_prefix(url: str, prefix: str) -> None:
    """Delete every key under `prefix`: a test leaves nothing behind for the next run.

    Through any node of a cluster too: the prefix's hash tag puts its keys on one node.
    """
    from hub.store.redis_client import connect

    client = connect(url, decode_responses=False)
    pattern = prefix.replace("{", "\\{").replace("}", "\\}") + "*"  # braces are literal
    keys = list(client.scan_iter(match=pattern))
    if keys:
        client.delete(*keys)
    client.close()


def require_redis() -> str:
    """Return the test Redis URL, or skip/fail when none answers. Tests isolate by prefix."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        reason = f"no Redis at {REDIS_TEST_URL} ({exc}); start redis-server or set REDIS_TEST_URL"
        unavailable("HUB_REQUIRE_REDIS", reason)
    client.close()
    return REDIS_TEST_URL
