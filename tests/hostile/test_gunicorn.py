"""The self-hosting server configuration (infra/gunicorn_conf.py), run as the README documents it:
slow clients do not stop /healthz, a request that arrives too slowly is cut off, and the
errors gunicorn answers itself are JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import SECRETS
from tests.faults.private_redis import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SLOW_CLIENTS = 4


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start `gunicorn -c infra/gunicorn_conf.py hub.wsgi:app` (extra flags appended); its base URL.

    No control socket: its default path is per user, and parallel test runs would share it."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*flags: str) -> str:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "REDIS_URL"))}
        env.update(SECRETS, HUB_INSTANCE_PATH=str(tmp_path / "instance"), HUB_TASKS="inline")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "infra/gunicorn_conf.py",
            "hub.wsgi:app",
            "-b",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            *flags,
        ]
        with (tmp_path / "gunicorn.log").open("wb") as log:  # the child keeps its own copy
            started.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/healthz", timeout=1)
                return url
            except requests.ConnectionError:
                assert started[-1].poll() is None, (tmp_path / "gunicorn.log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def open_slow_post(url: str, length: int = 100) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(
        f"POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Stripe-Signature: t=1,v1=00\r\nContent-Length: {length}\r\n\r\n".encode()
    )
    return sock


def trickle(sock: socket.socket, stop: threading.Event) -> None:
    """One byte a second, until told to stop or the server hangs up."""
    while not stop.wait(1.0):
        try:
            sock.sendall(b" ")
        except OSError:
            return


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_slow_clients_do_not_stop_healthz(gunicorn) -> None:  # noqa: ANN001
    url = gunicorn("-w", "1")  # one worker: the threads alone must keep it answering
    stop = threading.Event()
    clients = [open_slow_post(url) for _ in range(SLOW_CLIENTS)]
    trickles = [threading.Thread(target=trickle, args=(c, stop), daemon=True) for c in clients]
    for thread in trickles:
        thread.start()
    try:
        time.sleep(2.5)  # every slow client is now sending its body
        for _ in range(3):
            started = time.monotonic()
            answer = requests.get(url + "/healthz", timeout=5)
            assert answer.status_code == 200
            assert time.monotonic() - started < 2
    finally:
        stop.set()
        for sock in clients:
            sock.close()


def test_a_request_that_arrives_too_slowly_is_cut_off_with_json(gunicorn) -> None:  # noqa: ANN001
    url = gunicorn("-w", "1", "-t", "3")
    sock = open_slow_post(url)
    stop = threading.Event()
    thread = threading.Thread(target=trickle, args=(sock, stop), daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        answer = read_all(sock)
    finally:
        stop.set()
        sock.close()
    assert time.monotonic() - started < 10, "cut off at the deadline, not when the body ends"
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:300]
    assert json.loads(body)["error"] == "request_timeout"


def test_an_oversized_header_gets_json_431(gunicorn) -> None:  # noqa: ANN001
    url = gunicorn("-w", "1")
    answer = requests.get(url + "/healthz", headers={"X-Big": "x" * 9000}, timeout=10)
    assert answer.status_code == 431
    assert answer.headers["Content-Type"] == "application/json"
    assert set(answer.json()) == {"error", "message"}


def test_a_malformed_request_line_gets_json_400(gunicorn) -> None:  # noqa: ANN001
    url = gunicorn("-w", "1")
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        answer = read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["error"] == "bad_request"
