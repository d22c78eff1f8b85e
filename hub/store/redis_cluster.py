"""redis-py's clients: a Redis Cluster (waiting out slot migrations), or one server.

Loaded only when a command needs redis-py (`hub.store.redis_client.LazyRedis`): a cluster,
a URL hub's RESP client does not serve, or a command other than a webhook's. The cluster
client follows MOVED and ASK; hub's subclass also waits out a slot that is moving.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import redis
from redis.cluster import ClusterPipeline, RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ClusterError,
    ExecAbortError,
    NoScriptError,
    RedisClusterException,
    TryAgainError,
)

if TYPE_CHECKING:
    from hub.store.redis_client import Script

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

_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 3}  # as hub.store.resp's

# With the network errors: a replica answering during a failover (ReadOnlyError) and a full
# server (OutOfMemoryError) pass; the provider should deliver again later, not get a 500.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.OutOfMemoryError,
    *CLUSTER_UNAVAILABLE_ERRORS,  # a slot moving longer than hub waits, a node failing over
)


def make_client(url: str, *, cluster: bool, decode: bool) -> redis.Redis | RedisCluster:
    options = {**_OPTIONS, "decode_responses": decode}
    if not cluster:
        return redis.Redis.from_url(url, **options)
    try:
        return PatientCluster.from_url(url, **options)
    except RedisClusterException as exc:  # no node answered, or slots uncovered
        raise redis.exceptions.ConnectionError(f"Redis Cluster unreachable: {exc}") from exc


def asks_cluster_mode(url: str) -> bool:
    """The node's own answer (`INFO cluster`), for a URL hub's RESP client does not serve."""
    with redis.Redis.from_url(url, **_OPTIONS) as plain:
        return bool(plain.info("cluster").get("cluster_enabled"))


def run_script(
    client: redis.Redis | RedisCluster, script: Script, keys: Sequence[Any], args: Sequence[Any]
) -> Any:
    """As redis-py's own `Script` runs one: EVALSHA, and on NOSCRIPT load it and send again."""
    try:
        return client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        client.script_load(script.script)
        return client.evalsha(script.sha, len(keys), *keys, *args)


def close_client(client: redis.Redis | RedisCluster) -> None:
    if isinstance(client, RedisCluster):
        client.disconnect_connection_pools()  # close() leaves the nodes' sockets open
    client.close()


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
