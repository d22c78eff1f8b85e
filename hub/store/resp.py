"""A small Redis client for the commands on a webhook's path, without loading redis-py.

Importing redis-py costs a cold start as much as 40 % of a whole bare Flask start: its
package imports asyncio, its cluster and async clients, and OpenTelemetry, whatever one
uses (docs/PERFORMANCE.md, "Why redis-py's import stays"). A webhook needs four commands
of a Redis server: `INFO cluster` (once, to learn whether the server is a cluster), `GET`
(a cached PayPal certificate), `HGETALL` (the stored event a duplicate is answered with)
and `EVALSHA` (intake and state changes, with `SCRIPT LOAD` when the server lost the
script). This module speaks them over RESP, packed and parsed by
hiredis (the C parser redis-py itself uses), on one kept connection per thread.

It serves a URL it fully understands: `redis://` or `rediss://`, user, password, host,
port, database, and `ssl_ca_certs`. Any other URL (a unix socket, other query options)
and every other command go through redis-py, loaded when first needed
(`hub.store.redis_client`). Connections behave as redis-py's do with hub's options:
connect timeout 3 s, reply timeout 5 s, no retries, certificate and host name checked
under TLS, and a kept connection checked before use (one the server closed while idle is
opened again, so a Redis restart between webhooks costs no 503).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import threading
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from hiredis import ProtocolError, Reader, ReplyError, pack_command

CONNECT_TIMEOUT_SECONDS = 3.0
REPLY_TIMEOUT_SECONDS = 5.0


class RespError(Exception):
    """An error the server answered (`-ERR ...`); the command failed, the link is fine."""


class NoScriptError(RespError):
    """EVALSHA of a script the server does not hold (restarted, or `SCRIPT FLUSH`)."""


class ServerBusyError(RespError):
    """The server cannot take the command now: a replica during a failover (READONLY), out
    of memory (OOM), or its primary gone (MASTERDOWN)."""


class RespConnectionError(ConnectionError):
    """The server could not be reached, or the link broke mid-command."""


class RespTimeoutError(TimeoutError):
    """The server did not answer within the reply timeout."""


# What makes a webhook answer 503 (the provider delivers again) rather than 500.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (RespConnectionError, RespTimeoutError, ServerBusyError)

_BUSY_PREFIXES = ("READONLY", "OOM", "MASTERDOWN")
_REFUSED_PREFIXES = ("NOAUTH", "WRONGPASS", "LOADING")
_REFUSED_MESSAGES = ("ERR max number of clients reached", "ERR invalid password")


@dataclass(frozen=True)
class Address:
    """Where a Redis server is and how to open a session on it."""

    host: str
    port: int
    db: int
    username: str | None
    password: str | None
    tls: bool
    ca_certs: str | None


def parse_url(url: str) -> Address | None:
    """The address in `url`, or None when the URL asks for more than this client does."""
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query, strict_parsing=bool(parts.query))
        port = parts.port or 6379
    except ValueError:
        return None  # redis-py says what is wrong with it
    if parts.scheme not in ("redis", "rediss") or not parts.hostname or set(query) - {"ssl_ca_certs"}:
        return None
    if parts.fragment or any(len(values) != 1 for values in query.values()):
        return None
    path = parts.path.strip("/")
    if path and not path.isdigit():
        return None
    return Address(
        host=parts.hostname,
        port=port,
        db=int(path or 0),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme == "rediss",
        ca_certs=query["ssl_ca_certs"][0] if query else None,
    )


class Connection:
    """One link to a server: connected on first use, opened again after a failure."""

    def __init__(self, address: Address, *, decode: bool) -> None:
        self.address = address
        self._decode = decode
        self._sock: socket.socket | None = None
        self._reader: Reader | None = None

    def call(self, *command: Any) -> Any:
        """Send one command and return its reply; server errors raise `RespError`s."""
        self._ready()
        assert self._sock is not None
        try:
            self._sock.sendall(pack_command(command))
            reply = self._read()
        except TimeoutError as exc:
            self.close()
            raise RespTimeoutError(f"Redis did not answer within {REPLY_TIMEOUT_SECONDS:g} s") from exc
        except OSError as exc:
            self.close()
            raise RespConnectionError(f"the connection to Redis broke: {exc}") from exc
        except ProtocolError as exc:  # not a Redis server, or TLS spoken to a plain port
            self.close()
            raise RespConnectionError(f"the server does not speak Redis's protocol: {exc}") from exc
        if isinstance(reply, ReplyError):
            error = _error(str(reply))
            if isinstance(error, RespConnectionError):
                self.close()  # a session the server refused or dropped is not used again
            raise error
        return reply

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = self._reader = None

    def _ready(self) -> None:
        """Connected, with nothing waiting to be read, as redis-py's pool checks before it
        lends a connection. A link the server closed while this one idled (a restart, its
        idle timeout, a Lambda instance frozen for an hour) reads as the end of the file."""
        if self._sock is not None and not _has_data(self._sock):
            return
        self.close()
        self._connect()

    def _connect(self) -> None:
        address = self.address
        try:
            sock = socket.create_connection((address.host, address.port), timeout=CONNECT_TIMEOUT_SECONDS)
        except OSError as exc:
            where = f"{address.host}:{address.port}"
            raise RespConnectionError(f"cannot connect to Redis at {where}: {exc}") from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if address.tls:
                sock = _tls_context(address.ca_certs).wrap_socket(sock, server_hostname=address.host)
            sock.settimeout(REPLY_TIMEOUT_SECONDS)
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise RespConnectionError(f"TLS with Redis at {address.host} failed: {exc}") from exc
        self._sock = sock
        self._reader = Reader(encoding="utf-8") if self._decode else Reader()
        if address.password is not None:
            credentials = (address.username, address.password) if address.username else (address.password,)
            self._session("AUTH", *credentials)
        if address.db:
            self._session("SELECT", address.db)

    def _session(self, *command: Any) -> None:
        try:
            self.call(*command)
        except Exception:
            self.close()  # half a session (authenticated, wrong database) is no session
            raise

    def _read(self) -> Any:
        assert self._sock is not None and self._reader is not None
        while (reply := self._reader.gets()) is False:
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionResetError("Redis closed the connection")
            self._reader.feed(data)
        return reply


def _error(message: str) -> Exception:
    """The exception for an error reply, sorted as redis-py sorts them: a refused session
    (password, client limit) and a loading server are connection errors, so the webhook
    answers 503 and the provider delivers again."""
    code = message.partition(" ")[0]
    if code == "NOSCRIPT":
        return NoScriptError(message)
    if code in _BUSY_PREFIXES:
        return ServerBusyError(message)
    if code in _REFUSED_PREFIXES or message.startswith(_REFUSED_MESSAGES):
        return RespConnectionError(f"Redis refused the session: {message}")
    return RespError(message)


def _has_data(sock: socket.socket) -> bool:
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):  # closed underneath us
        return True
    return bool(readable)


_contexts: dict[str | None, ssl.SSLContext] = {}


def _tls_context(ca_certs: str | None) -> ssl.SSLContext:
    """Certificates checked against `ca_certs`, or the system's CAs; host names checked."""
    if ca_certs not in _contexts:
        _contexts[ca_certs] = ssl.create_default_context(cafile=ca_certs)
    return _contexts[ca_certs]


# Forks of this process so far, as this process sees it: a connection made before the fork
# that made this process is its parent's (cheaper than asking os.getpid() per command).
_forks = [0]
os.register_at_fork(after_in_child=lambda: _forks.__setitem__(0, _forks[0] + 1))


class ThreadConnections:
    """One `Connection` per thread to one server (hub serve starts a thread per request;
    a forked gunicorn worker must not share its parent's socket)."""

    def __init__(self, address: Address, *, decode: bool) -> None:
        self.address = address
        self._decode = decode
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: weakref.WeakSet[_Kept] = weakref.WeakSet()  # for close(); each is its thread's

    def call(self, *command: Any) -> Any:
        kept = getattr(self._local, "kept", None)
        if kept is None or kept.fork != _forks[0]:
            kept = self._local.kept = _Kept(Connection(self.address, decode=self._decode))
            with self._lock:
                self._opened.add(kept)
        return kept.connection.call(*command)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = list(self._opened), weakref.WeakSet()
        for kept in opened:
            if kept.fork == _forks[0]:  # a parent's socket is the parent's to close
                kept.connection.close()


class _Kept:
    """A thread's connection. Only its thread's local data holds it, so it goes when the
    thread ends, and closes its socket then."""

    __slots__ = ("__weakref__", "connection", "fork")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.fork = _forks[0]

    def __del__(self) -> None:
        if self.fork == _forks[0]:
            with contextlib.suppress(Exception):  # the interpreter may be shutting down
                self.connection.close()
