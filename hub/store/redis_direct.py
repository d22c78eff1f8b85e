"""hub's Lua scripts on one Redis server, with less client code per call than redis-py's.

A webhook runs one or two scripts (intake, then an inline run's finish). Through
`redis.Redis` each call spent ~40-60 µs of Python around the round trip: the connection
pool's checks and bookkeeping, redis-py's observability hooks, a check of every argument,
and the `Script` object's own call. Here each thread keeps one connection made from the
client's own pool settings (host, TLS, database, timeouts, credentials, retry policy) and
sends EVALSHA packed in one go (hiredis, which redis-py uses for the same); the reply is
read by the connection's parser, so errors come as redis-py raises them.

Failures behave as through the client: the connection disconnects itself on a socket
error or timeout and raises `ConnectionError` / `TimeoutError` (retried as its retry policy
says: redis-py's URL clients retry none), and the next call connects again; a script the
server does not know (a restart, `SCRIPT FLUSH`) is loaded and sent once more. A Redis
Cluster goes through redis-py's cluster client, which follows MOVED and ASK.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.utils import HIREDIS_AVAILABLE

if TYPE_CHECKING:
    from redis.commands.core import Script
    from redis.connection import AbstractConnection

    from hub.store.redis_cluster import LazyRedis

if HIREDIS_AVAILABLE:
    from hiredis import pack_command  # loaded already: redis-py imports it when installed
else:  # pragma: no cover - hiredis is a dependency; redis-py's own packer is the fallback
    pack_command = None


# Forks of this process so far, as this process sees it: a connection made before the fork
# that made this process is its parent's (cheaper than asking os.getpid() per command).
_forks = [0]
os.register_at_fork(after_in_child=lambda: _forks.__setitem__(0, _forks[0] + 1))


class DirectScripts:
    """Runs registered `Script`s: on a per-thread connection to one server, or through the
    cluster client when the server is a Redis Cluster."""

    def __init__(self, lazy: LazyRedis) -> None:
        self._lazy = lazy
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: weakref.WeakSet[_Kept] = weakref.WeakSet()  # for close(); each is its thread's

    def run(self, script: Script, keys: list[str], args: list[Any]) -> Any:
        client = self._lazy.client
        if isinstance(client, RedisCluster):
            return script(keys=keys, args=args)
        connection = self._connection(client)
        try:
            return _call(connection, ("EVALSHA", script.sha, len(keys), *keys, *args))
        except NoScriptError:
            # As redis-py's Script does: load it (the same SHA) and send the call once more.
            script.sha = client.script_load(script.script)
            return _call(connection, ("EVALSHA", script.sha, len(keys), *keys, *args))

    def _connection(self, client: Any) -> AbstractConnection:
        kept = getattr(self._local, "kept", None)
        # A forked child (gunicorn's workers) must not share its parent's socket.
        if kept is None or kept.fork != _forks[0]:
            pool = client.connection_pool
            kept = self._local.kept = _Kept(pool.connection_class(**pool.connection_kwargs))
            with self._lock:
                self._opened.add(kept)
        _ready(kept.connection)
        return kept.connection

    def close(self) -> None:
        with self._lock:
            opened, self._opened = list(self._opened), weakref.WeakSet()
        for kept in opened:
            kept.connection.disconnect()  # in a forked child, redis-py leaves the parent's socket be


class _Kept:
    """A thread's connection. Only its thread's local data holds it, so it goes when the
    thread ends (`hub serve` starts a thread per request), and closes its socket then."""

    __slots__ = ("__weakref__", "connection", "fork")

    def __init__(self, connection: AbstractConnection) -> None:
        self.connection = connection
        self.fork = _forks[0]

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # the interpreter may be shutting down
            self.connection.disconnect()


def _ready(connection: AbstractConnection) -> None:
    """Connected, with nothing waiting to be read: what redis-py's pool checks before it lends
    a connection. A kept connection the server closed while this one idled (a restart, its
    idle timeout, a Lambda instance frozen for an hour) shows as readable (the end of file):
    it is opened again here, before a command is sent on it."""
    try:
        connection.connect()  # nothing to do while connected
        if connection.can_read():
            raise RedisConnectionError("the connection has data waiting or was closed")
    except (ConnectionError, TimeoutError, OSError, RedisConnectionError, RedisTimeoutError):
        connection.disconnect()
        connection.connect()


def _call(connection: AbstractConnection, command: tuple[Any, ...]) -> Any:
    def attempt() -> Any:
        if pack_command is None:  # pragma: no cover
            connection.send_command(*command)
        else:
            connection.send_packed_command([pack_command(command)])
        return connection.read_response()

    return connection.retry.call_with_retry(attempt, lambda _error: connection.disconnect())
