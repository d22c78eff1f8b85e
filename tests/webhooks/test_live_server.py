"""The webhook contracts over real HTTP, where the wire matters: URLs, proxies, chunked bodies."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from hub.payloads import MAX_BODY_BYTES
from hub.services import hub_of
from hub.simulate import SignedRequest
from tests.auxil.events import load_event, telegram_request, twilio_request
from tests.conftest import SECRETS

pytestmark = pytest.mark.slow

TOKEN = SECRETS["TWILIO_AUTH_TOKEN"]


class Served:
    """An app behind werkzeug's HTTP server on 127.0.0.1, on a free port."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def send(self, request: SignedRequest, **headers: str) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("POST", request.path, body=request.body, headers={**request.headers, **headers})
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        finally:
            conn.close()

    def send_chunked(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        """POST `body` with Transfer-Encoding: chunked (no Content-Length), 64 KiB a chunk."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.putrequest("POST", path)
            for name, value in {**headers, "Transfer-Encoding": "chunked"}.items():
                conn.putheader(name, value)
            conn.endheaders()
            for start in range(0, len(body), 65536):
                chunk = body[start : start + 65536]
                conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            conn.send(b"0\r\n\r\n")
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture
def serve(make_app) -> Iterator[Callable[..., Served]]:  # noqa: ANN001
    servers: list[Served] = []

    def start(config: dict[str, Any] | None = None) -> Served:
        servers.append(Served(make_app(config)))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def sms(body: str = "HELP") -> dict[str, str]:
    params = load_event("twilio", "sms.received")
    params["Body"] = body
    return params


def test_telegram_help_over_http(serve):
    served = serve()
    update = load_event("telegram", "message")

    status, content_type, body = served.send(telegram_request(SECRETS["TELEGRAM_WEBHOOK_SECRET"], update))

    assert status == 200 and content_type.startswith("application/json")
    assert json.loads(body)["method"] == "sendMessage"


def test_twilio_signed_for_the_servers_own_url_passes(serve):
    served = serve()

    status, content_type, body = served.send(twilio_request(TOKEN, sms(), signed_base=served.base))

    assert status == 200 and content_type.startswith("application/xml")
    assert body.startswith(b"<?xml") and b"<Response><Message>Commands:" in body


def test_twilio_behind_a_proxy_is_checked_against_the_forwarded_url(serve):
    served = serve()
    request = twilio_request(TOKEN, sms(), signed_base="https://hub.example.org", query="x=1")

    proxied = served.send(request, **{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hub.example.org"})
    direct = served.send(request)

    assert proxied[0] == 200
    assert direct[0] == 403
    assert len(hub_of(served.app).store.events()) == 1


def test_twilio_with_a_public_url_and_a_stage_path(serve):
    served = serve({"HUB_PUBLIC_URL": "https://x.example.com/prod"})
    signed_public = twilio_request(TOKEN, sms(), signed_base="https://x.example.com/prod", query="t=1")
    signed_local = twilio_request(TOKEN, sms("again"), signed_base=served.base)

    assert served.send(signed_public)[0] == 200
    assert served.send(signed_local)[0] == 403


def test_a_chunked_body_over_1_mib_gets_a_json_413_and_records_nothing(serve):
    served = serve()
    request = telegram_request(SECRETS["TELEGRAM_WEBHOOK_SECRET"], b" " * (MAX_BODY_BYTES + 10))
    request.headers.pop("Content-Length", None)

    status, body = served.send_chunked(request.path, request.body, request.headers)

    assert status == 413
    assert body["error"] == "payload_too_large" and set(body) == {"error", "message"}
    assert hub_of(served.app).store.events() == []


def test_a_small_chunked_body_is_read_whole(serve):
    served = serve()
    update = load_event("telegram", "message")
    request = telegram_request(SECRETS["TELEGRAM_WEBHOOK_SECRET"], update)

    status, body = served.send_chunked(request.path, request.body, request.headers)

    assert status == 200 and body["method"] == "sendMessage"
