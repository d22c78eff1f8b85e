"""Connecting to Redis: one server, or a Redis Cluster through any of its nodes.

ElastiCache Serverless and MemoryDB serve cluster mode only: a plain client pointed at a
node that does not own hub's slot gets MOVED on every command. So hub asks the node once
(`INFO cluster`, which every Redis answers, cluster or not) and then talks to it with
redis-py's cluster client, which follows MOVED and ASK. `HUB_REDIS_CLUSTER=1` or `0`
skips the question (for a service that refuses INFO).

The client is made on first use, not at start-up: a Redis that is down when a Lambda
instance starts must make its webhooks answer 503 (the provider delivers again), not
crash the app. `rediss://` URLs are TLS in both modes (redis-py's SSL connection;
certificates are verified against the system's CAs, or `?ssl_ca_certs=<file>`).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from redis.cluster import ClusterPipeline, RedisCluster
from redis.commands.core import Script
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ClusterError,
    ExecAbortError,
    RedisClusterException,
    TryAgainError,
)

# How long one command waits out a slot migration (TRYAGAIN, redirections past redis-py's
# own 16) before hub gives up and answers 503. Moving a slot of a few thousand keys takes
# well under a second; a Lambda's request has seconds to spare.
MIGRATION_PATIENCE_SECONDS = 5.0

# Errors that mean "the cluster is busy or reshaping, try later": with the network errors,
# hub answers 503 for them instead of 500.
CLUSTER_UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    ClusterError,  # includes ClusterDownError, MasterDownError, "TTL exhausted"
    TryAgainError,
    RedisClusterException,  # includes SlotNotCoveredError
)

_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 3}
_known_cluster: dict[str, bool] = {}  # url -> the node's answer, asked once per process
_known_lock = threading.Lock()


def connect(url: str, *, cluster: bool | None = None, decode_responses: bool = True) -> LazyRedis:
    """A client for `url`, made on first use. `cluster` None: ask the node."""
    return LazyRedis(url, cluster=cluster, decode_responses=decode_responses)


class LazyRedis:
    """Stands for a `redis.Redis` or a `RedisCluster` until the first command makes it.

    Scripts register without connecting (their SHA needs only the encoder); every other
    attribute is the real client's.
    """

    def __init__(self, url: str, *, cluster: bool | None, decode_responses: bool) -> None:
        self._url = url
        self._cluster = cluster
        self._decode_responses = decode_responses
        self._client: redis.Redis | RedisCluster | None = None
        self._lock = threading.Lock()

    @property
    def cluster(self) -> bool | None:
        """Whether the server is a cluster; None until the first command found out."""
        return None if self._client is None else isinstance(self._client, RedisCluster)

    @property
    def client(self) -> redis.Redis | RedisCluster:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
        return self._client

    def register_script(self, script: str) -> Script:
        return Script(self, script)  # calls go through __getattr__ to the real client

    def get_encoder(self) -> redis.connection.Encoder:
        return redis.connection.Encoder("utf-8", "strict", self._decode_responses)

    def close(self) -> None:
        if isinstance(self._client, RedisCluster):
            self._client.disconnect_connection_pools()  # close() leaves the nodes' sockets open
        if self._client is not None:
            self._client.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def _make(self) -> redis.Redis | RedisCluster:
        options = {**_OPTIONS, "decode_responses": self._decode_responses}
        cluster = self._cluster if self._cluster is not None else _known_cluster.get(self._url)
        plain: redis.Redis | None = None
        if cluster is None:
            plain = redis.Redis.from_url(self._url, **options)
            try:
                cluster = _asks_cluster_mode(plain)
            except BaseException:
                plain.close()
                raise
            with _known_lock:
                _known_cluster[self._url] = cluster
        if not cluster:
            return plain or redis.Redis.from_url(self._url, **options)
        if plain is not None:
            plain.close()
        try:
            return PatientCluster.from_url(self._url, **options)
        except RedisClusterException as exc:  # no node answered, or slots uncovered
            raise redis.exceptions.ConnectionError(f"Redis Cluster unreachable: {exc}") from exc


def _asks_cluster_mode(client: redis.Redis) -> bool:
    return bool(client.info("cluster").get("cluster_enabled"))


class PatientCluster(RedisCluster):
    """redis-py's cluster client, waiting out a slot migration instead of failing.

    redis-py follows MOVED and ASK, and retries TRYAGAIN briefly (16 tries, about 0.4 s).
    But while a slot is half moved, a Lua script or MULTI that creates a key beside keys
    that exist (every intake does) gets TRYAGAIN or EXECABORT until the move ends, and a
    MULTI cannot follow ASK at all. A refused command ran nowhere, and a discarded MULTI
    changed nothing, so hub sends them again, with backoff, for a bounded time.
    """

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        return _patiently(lambda: super(PatientCluster, self).execute_command(*args, **kwargs))

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> ClusterPipeline:
        pipe = super().pipeline(transaction, shard_hint)
        pipe.__class__ = PatientPipeline  # the same object, with a patient `execute`
        return pipe

    def transaction(self, func: Any, *watches: Any, **kwargs: Any) -> Any:
        # A watched transaction starts over from WATCH: `func` reads again, then writes.
        return _patiently(lambda: super(PatientCluster, self).transaction(func, *watches, **kwargs))


class PatientPipeline(ClusterPipeline):
    def execute(self, raise_on_error: bool = True) -> list[Any]:
        strategy = self._execution_strategy
        if getattr(strategy, "_watching", False) or getattr(strategy, "_explicit_transaction", False):
            return super().execute(raise_on_error)  # PatientCluster.transaction starts it over
        queued = [(command.args, command.options) for command in strategy.command_queue]

        def attempt() -> list[Any]:
            if not self._execution_strategy.command_queue:  # emptied by the failed try
                for args, options in queued:
                    self.execute_command(*args, **options)
            return ClusterPipeline.execute(self, raise_on_error)

        return _patiently(attempt)


# Refusals that mean "the slot is moving": nothing ran, so the same call may be made again.
_MIGRATING = (TryAgainError, ClusterError, AskError, ExecAbortError)


def _patiently(call: Any) -> Any:
    deadline = time.monotonic() + MIGRATION_PATIENCE_SECONDS
    pause = 0.02
    while True:
        try:
            return call()
        except _MIGRATING as exc:
            if isinstance(exc, ClusterDownError) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)
