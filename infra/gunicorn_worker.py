"""gunicorn's threaded worker, hardened for hub; `infra/gunicorn_conf.py` selects it.

- A request must arrive in full within gunicorn's `timeout` (each read waiting at most
  `IDLE_SECONDS`). gthread alone times out only the wait for the first byte: a client
  sending its body at 1 byte/s would otherwise hold a thread for as long as it likes.
  A body cut off this way reaches hub as a read error and gets 408 JSON.
- Errors gunicorn answers itself, before hub sees the request (431 for an oversized
  header, 414, 400 for a malformed request line, 500 when a worker is aborted), are
  JSON `{"error": ..., "message": ...}` like hub's own, not gunicorn's HTML page.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

IDLE_SECONDS = 10.0


class _Deadline:
    """A connection's socket as the request parser reads it: every read shares one deadline."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self._sock, self._seconds = sock, seconds
        self._until = time.monotonic() + seconds

    def restart(self) -> None:
        """A new request on the connection: a new deadline, unless the last one ran out (the
        rest of its body would still be on the wire; the connection is closed instead)."""
        if self._until > 0:
            self._until = time.monotonic() + self._seconds

    def recv(self, size: int) -> bytes:
        left = self._until - time.monotonic()
        if left <= 0:
            self._until = 0.0
            raise TimeoutError("the request did not arrive in time")
        self._sock.settimeout(min(left, IDLE_SECONDS))
        try:
            return self._sock.recv(size)
        except TimeoutError:
            self._until = 0.0
            raise

    def __getattr__(self, name: str) -> Any:  # settimeout, fileno, ... for gunicorn's parser
        return getattr(self._sock, name)


class _Conn(TConn):
    def init(self) -> None:
        super().init()
        unreader = getattr(self.parser, "unreader", None)  # HTTP/2 parsers have none
        if unreader is None:
            return
        if isinstance(unreader.sock, _Deadline):
            unreader.sock.restart()
        else:
            unreader.sock = _Deadline(unreader.sock, self.cfg.timeout)


class HubThreadWorker(ThreadWorker):
    def init_process(self) -> None:
        # gunicorn's handlers write their errors through this one function; this process
        # runs only this worker, so replacing it here changes nothing anywhere else.
        util.write_error = write_json_error
        super().init_process()

    def handle(self, conn: TConn) -> Any:
        if type(conn) is TConn:  # made by ThreadWorker.accept; same layout, one more hook
            conn.__class__ = _Conn
        return super().handle(conn)


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's `util.write_error`, with hub's JSON error body instead of an HTML page."""
    code = reason.lower().replace(" ", "_")
    body = json.dumps({"error": code, "message": mesg or reason}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)
