"""Connecting to Redis: one server, or a Redis Cluster through any of its nodes.

ElastiCache Serverless and MemoryDB serve cluster mode only: a plain client pointed at a
node that does not own hub's slot gets MOVED on every command. So hub asks the node once
(`INFO cluster`, which every Redis answers, cluster or not) and then talks to it with
redis-py's cluster client, which follows MOVED and ASK. `HUB_REDIS_CLUSTER=1` or `0`
skips the question (for a service that refuses INFO).

On one server, the commands of a webhook's path (`INFO cluster`, `GET`, the store's
scripts) go through hub's small RESP client (`hub.store.resp`), so that a cold start that
only acknowledges a webhook never loads redis-py; every other command goes through
redis-py's client, made the first time one is sent.

Nothing connects at start-up: a Redis that is down when a Lambda instance starts must make
its webhooks answer 503 (the provider delivers again), not crash the app. `rediss://` URLs
are TLS in both modes (certificates are verified against the system's CAs, or
`?ssl_ca_certs=<file>`).
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hub.store.resp import UNAVAILABLE_ERRORS, NoScriptError, ThreadConnections, parse_url

if TYPE_CHECKING:
    import redis
    from redis.cluster import RedisCluster

_known_cluster: dict[str, bool] = {}  # url -> the node's answer, asked once per process
_known_lock = threading.Lock()


def connect(url: str, *, cluster: bool | None = None, decode_responses: bool = True) -> LazyRedis:
    """A client for `url`, made on first use. `cluster` None: ask the node."""
    return LazyRedis(url, cluster=cluster, decode_responses=decode_responses)


def unavailable_errors() -> tuple[type[Exception], ...]:
    """The errors that mean "Redis cannot serve now": hub answers 503 for them, not 500."""
    if "redis" not in sys.modules:  # redis-py's errors can only come from redis-py, once loaded
        return UNAVAILABLE_ERRORS
    from hub.store.redis_cluster import UNAVAILABLE_ERRORS as REDIS_PY_UNAVAILABLE_ERRORS

    return UNAVAILABLE_ERRORS + REDIS_PY_UNAVAILABLE_ERRORS


class Script:
    """A Lua script, known to the server by its SHA-1, run with `script(keys=..., args=...)`."""

    __slots__ = ("client", "script", "sha")

    def __init__(self, client: LazyRedis, script: str) -> None:
        self.client = client
        self.script = script
        self.sha = hashlib.sha1(script.encode()).hexdigest()

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        return self.client.run_script(self, keys, args)


class LazyRedis:
    """Stands for a `redis.Redis` or a `RedisCluster` until a command needs one.

    On one server, `get`, `hgetall` (a duplicate's stored event) and scripts take the RESP
    client; every other attribute is the real redis-py client's.
    """

    def __init__(self, url: str, *, cluster: bool | None, decode_responses: bool) -> None:
        self._url = url
        self._cluster = cluster if cluster is not None else _known_cluster.get(url)
        self._decode_responses = decode_responses
        address = parse_url(url)
        self._lean = None if address is None else ThreadConnections(address, decode=decode_responses)
        self._client: redis.Redis | RedisCluster | None = None
        self._lock = threading.Lock()

    @property
    def cluster(self) -> bool | None:
        """Whether the server is a cluster; None until a command found out."""
        return self._cluster

    @property
    def client(self) -> redis.Redis | RedisCluster:
        """redis-py's client for this server or cluster (loading redis-py the first time)."""
        if self._client is None:
            from hub.store.redis_cluster import make_client

            with self._lock:
                if self._client is None:
                    self._client = make_client(
                        self._url, cluster=self._is_cluster(), decode=self._decode_responses
                    )
        return self._client

    def register_script(self, script: str) -> Script:
        return Script(self, script)  # nothing is sent until it runs

    def get(self, key: str) -> Any:
        if self._on_lean():
            return self._lean.call("GET", key)  # type: ignore[union-attr]
        return self.client.get(key)

    def hgetall(self, key: str) -> dict[Any, Any]:
        if self._on_lean():
            flat = self._lean.call("HGETALL", key)  # type: ignore[union-attr]
            return dict(zip(flat[::2], flat[1::2], strict=True))  # field, value, field, value...
        return self.client.hgetall(key)

    def run_script(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        if not self._on_lean():
            from hub.store.redis_cluster import run_script

            return run_script(self.client, script, keys, args)
        lean = self._lean
        assert lean is not None
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return lean.call(*command)
        except NoScriptError:  # as redis-py's Script does: load it, send the call again
            lean.call("SCRIPT", "LOAD", script.script)
            return lean.call(*command)

    def close(self) -> None:
        if self._lean is not None:
            self._lean.close()
        if self._client is not None:
            from hub.store.redis_cluster import close_client

            close_client(self._client)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def _on_lean(self) -> bool:
        return self._lean is not None and not self._is_cluster()

    def _is_cluster(self) -> bool:
        if self._cluster is None:
            answer = self._ask_cluster_mode()
            with _known_lock:
                _known_cluster[self._url] = answer
            self._cluster = answer
        return self._cluster

    def _ask_cluster_mode(self) -> bool:
        if self._lean is not None:
            info = self._lean.call("INFO", "cluster")
            text = info.decode() if isinstance(info, bytes) else info
            return "cluster_enabled:1" in text.split()
        from hub.store.redis_cluster import asks_cluster_mode

        return asks_cluster_mode(self._url)
