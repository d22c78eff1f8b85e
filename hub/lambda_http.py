"""One kept HTTP/1.1 connection to Lambda's Invoke endpoint: a request in one write, and the
answer read with no more code than its framing needs.

`http.client` sent the head and the body in two writes and parsed every answer's headers
with the e-mail package's parser: about a third of a warm Stripe acknowledgement's own
work went to that Invoke (bench/warmcost.py). Lambda answers an asynchronous Invoke with a
status line, a few headers and a short body with a Content-Length; a chunked body and an
answer that ends with the connection are read too, and anything else is refused as
malformed (the event stays due; the sweep runs it). Tests: tests/infra/test_lambda_http.py
and tests/infra/test_lambda_invoke.py, against a real HTTP server on loopback.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import ssl

MAX_LINE = 65536  # a status or header line longer than this is not Lambda's
MAX_HEADERS = 100
MAX_BODY = 1024 * 1024  # Lambda's answers to an Invoke are a few hundred bytes


class MalformedAnswer(Exception):
    """The endpoint's answer is not HTTP/1.x as this client reads it."""


class EndedEarly(ConnectionError):
    """The connection ended before a whole answer arrived (a kept one the far end closed)."""


class KeptConnection:
    """POSTs on one connection kept open between requests, opened when first needed."""

    def __init__(self, netloc: str, *, timeout: float, tls: ssl.SSLContext | None) -> None:
        host, _, port = netloc.rpartition(":") if netloc.rpartition(":")[2].isdigit() else (netloc, "", "")
        self.netloc = netloc
        self.address = (host.strip("[]"), int(port) if port else (443 if tls else 80))
        self.timeout = timeout
        self.tls = tls
        self._sock: socket.socket | None = None
        self._reader: BinaryIO | None = None

    def post(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        """Send one request and read its answer: (status, body). Raises OSError (the network,
        `EndedEarly`) or `MalformedAnswer`, having closed the connection."""
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.netloc}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        fields = "".join(lines)  # the parts, before any line break is put between them
        if "\r" in fields or "\n" in fields:
            raise ValueError("the path, a header name or a value holds a line break")
        head = "\r\n".join([*lines, f"Content-Length: {len(body)}", "", ""])
        try:
            reader = self._open()
            self._sock.sendall(head.encode("latin-1") + body)  # type: ignore[union-attr]
            status, answer, keep = read_answer(reader)
        except BaseException:
            self.close()
            raise
        if not keep:
            self.close()
        return status, answer

    def _open(self) -> BinaryIO:
        if self._reader is None:
            sock = socket.create_connection(self.address, timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname=self.address[0])
            self._sock, self._reader = sock, sock.makefile("rb")
        return self._reader

    def close(self) -> None:
        reader, sock, self._reader, self._sock = self._reader, self._sock, None, None
        if reader is not None:
            reader.close()
        if sock is not None:
            sock.close()


def read_answer(reader: BinaryIO) -> tuple[int, bytes, bool]:
    """One HTTP/1.x answer from `reader`: (status, body, whether the connection stays open)."""
    while True:
        line = reader.readline(MAX_LINE + 1)
        if not line:
            raise EndedEarly("the connection ended before an answer")
        version, _, rest = line.partition(b" ")
        code = rest[:3]
        if not (
            version in (b"HTTP/1.1", b"HTTP/1.0") and code.isdigit() and rest[3:4] in (b" ", b"\r", b"\n")
        ):
            raise MalformedAnswer(f"not an HTTP status line: {line[:100]!r}")
        headers = _read_headers(reader)
        status = int(code)
        if status >= 200:
            break
        # 1xx (100 Continue was never asked for, but may come): its answer follows.
    keep = version == b"HTTP/1.1" and headers.get(b"connection", b"").lower() != b"close"
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        return status, _read_chunked(reader), keep
    length = headers.get(b"content-length")
    if length is None:
        return status, _read_bounded(reader, MAX_BODY), False  # the body ends with the connection
    if not length.isdigit() or int(length) > MAX_BODY:
        raise MalformedAnswer(f"unusable Content-Length: {length[:40]!r}")
    body = reader.read(int(length))
    if len(body) < int(length):
        raise EndedEarly("the connection ended inside the answer's body")
    return status, body, keep


def _read_headers(reader: BinaryIO) -> dict[bytes, bytes]:
    headers: dict[bytes, bytes] = {}
    for _ in range(MAX_HEADERS):
        line = reader.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line.endswith(b"\n"):
            raise EndedEarly("the connection ended inside the answer's headers")
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise MalformedAnswer(f"not a header line: {line[:100]!r}")
        headers[name.lower()] = value.strip()
    raise MalformedAnswer(f"more than {MAX_HEADERS} headers")


def _read_chunked(reader: BinaryIO) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        line = reader.readline(MAX_LINE + 1)
        if not line.endswith(b"\n"):
            raise EndedEarly("the connection ended inside a chunked body")
        try:
            length = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise MalformedAnswer(f"not a chunk size: {line[:40]!r}") from None
        if length == 0:
            _read_headers(reader)  # the trailer, ended by an empty line
            return b"".join(chunks)
        size += length
        if size > MAX_BODY:
            raise MalformedAnswer("the chunked body is too large")
        chunk = reader.read(length + 2)  # the data and its CRLF
        if len(chunk) < length + 2:
            raise EndedEarly("the connection ended inside a chunk")
        chunks.append(chunk[:length])


def _read_bounded(reader: BinaryIO, limit: int) -> bytes:
    body = reader.read(limit + 1)
    if len(body) > limit:
        raise MalformedAnswer("the body is too large")
    return body
