"""hub.lambda_http on the wire: a loopback server that answers each request with given bytes,
in the framings HTTP/1.1 allows, and the broken ones a client must refuse."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from hub.lambda_http import EndedEarly, KeptConnection, MalformedAnswer

CUT = b"<cut>"  # an answer ending so is sent without it, then its connection is closed


@contextmanager
def scripted(*answers: bytes) -> Iterator[tuple[str, list[bytes], list[int]]]:
    """A server answering the n-th request with `answers[n]` (raw bytes, then it closes the
    connection if the answer says so or ends without a length); yields its host:port, the
    requests it read and how many connections it accepted."""
    listener = socket.create_server(("127.0.0.1", 0))
    requests: list[bytes] = []
    accepted = [0]
    queue = list(answers)

    def serve() -> None:
        while queue:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted[0] += 1
            with conn, conn.makefile("rb") as reader:
                while queue:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = reader.readline()
                        if not line:
                            break
                        head += line
                    if not head:
                        break
                    length = next(
                        int(h.split(b":")[1])
                        for h in head.split(b"\r\n")
                        if h.lower().startswith(b"content-length")
                    )
                    requests.append(head + reader.read(length))
                    answer = queue.pop(0)
                    conn.sendall(answer.removesuffix(CUT))
                    if answer.endswith(CUT) or b"connection: close" in answer.lower():
                        break
                    if b"content-length" not in answer.lower():
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}", requests, accepted
    finally:
        listener.close()


def post(netloc: str, connection: KeptConnection | None = None) -> tuple[int, bytes]:
    """One POST on `connection`, or on a connection of its own that it closes."""
    own = connection is None
    connection = connection or KeptConnection(netloc, timeout=5, tls=None)
    try:
        return connection.post(
            "/functions/hub-dev/invocations", {"X-Amz-Date": "20261202T000000Z"}, b'{"a":1}'
        )
    finally:
        if own:
            connection.close()


CHUNKED = b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_the_request_is_http_that_a_server_parses_with_its_body() -> None:
    seen: list[tuple[str, str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, self.headers["Host"], body))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        netloc = f"127.0.0.1:{server.server_address[1]}"
        connection = KeptConnection(netloc, timeout=5, tls=None)
        assert post(netloc, connection) == (202, b"")
        assert post(netloc, connection) == (202, b"")
        connection.close()
    finally:
        server.shutdown()
        server.server_close()
    assert seen == [("/functions/hub-dev/invocations", netloc, b'{"a":1}')] * 2


def test_a_kept_connection_serves_the_next_request() -> None:
    answer = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nX-Amzn-RequestId: r1\r\n\r\n"
    with scripted(answer, answer) as (netloc, requests, accepted):
        connection = KeptConnection(netloc, timeout=5, tls=None)
        assert post(netloc, connection) == (202, b"")
        assert post(netloc, connection) == (202, b"")
        connection.close()
    assert len(requests) == 2 and accepted == [1]


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (b'HTTP/1.1 429 Too Many Requests\r\nContent-Length: 13\r\n\r\n{"Reason":""}', b'{"Reason":""}'),
        (CHUNKED + b"4;x=y\r\nabcd\r\n2\r\nef\r\n0\r\nT: 1\r\n\r\n", b"abcdef"),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok", b"ok"),
        (b"HTTP/1.0 202 Accepted\r\n\r\nuntil the end", b"until the end"),
    ],
    ids=["content-length", "chunked", "100 first", "ends with the connection"],
)
def test_each_framing_is_read_whole(answer: bytes, body: bytes) -> None:
    with scripted(answer) as (netloc, _, _):
        status, read = post(netloc)
    assert (status, read) == (int(answer.split(b" ")[1]) if b"100 Continue" not in answer else 202, body)


def test_an_answer_saying_close_is_not_kept() -> None:
    closing = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    with scripted(closing, closing) as (netloc, _, accepted):
        connection = KeptConnection(netloc, timeout=5, tls=None)
        post(netloc, connection)
        post(netloc, connection)
        connection.close()
    assert accepted == [2]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"", EndedEarly),
        (b"HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\nshort", EndedEarly),
        (b"HTTP/1.1 202 Accepted\r\nContent-Le", EndedEarly),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", MalformedAnswer),
        (b"HTTP/1.1 202 Accepted\r\nContent-Length: -1\r\n\r\n", MalformedAnswer),
        (b"HTTP/1.1 202 Accepted\r\nno colon here\r\n\r\n", MalformedAnswer),
        (CHUNKED + b"zz\r\n", MalformedAnswer),
    ],
    ids=["nothing", "short body", "cut headers", "not http", "bad length", "bad header", "bad chunk"],
)
def test_a_broken_answer_is_an_error_and_the_connection_is_dropped(answer: bytes, error: type) -> None:
    with scripted(answer + CUT, b"HTTP/1.1 202 OK\r\nContent-Length: 0\r\n\r\n") as (
        netloc,
        _,
        accepted,
    ):
        connection = KeptConnection(netloc, timeout=2, tls=None)
        with pytest.raises(error):
            post(netloc, connection)
        assert post(netloc, connection) == (202, b"")  # a new connection, not the broken one
        connection.close()
    assert accepted == [2]


def test_a_line_break_in_a_header_is_refused_before_anything_is_sent() -> None:
    with scripted(b"HTTP/1.1 202 OK\r\nContent-Length: 0\r\n\r\n") as (netloc, requests, _):
        connection = KeptConnection(netloc, timeout=2, tls=None)
        with pytest.raises(ValueError, match="line break"):
            connection.post("/x", {"X-Amz-Security-Token": "token\r\nX-Injected: 1"}, b"")
        assert post(netloc, connection) == (202, b"")
        connection.close()
    assert b"X-Injected" not in b"".join(requests)
