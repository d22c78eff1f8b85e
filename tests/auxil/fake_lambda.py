"""A local stand-in for Lambda's Invoke API on 127.0.0.1 (point AWS_ENDPOINT_URL_LAMBDA at it).

It checks every request's SigV4 signature by signing the received request again with
botocore's own `SigV4Auth`, keeps each accepted task message, and answers as Lambda does
for `InvocationType: Event`: 202 with an empty body. `status` makes it refuse instead.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest import mock


@dataclass
class FakeLambda:
    url: str = ""
    secret_key: str = "fake-secret-key"
    status: int = 202
    close_after_answer: bool = False  # drop kept connections silently, like an idle timeout
    messages: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    connections: int = 0

    def environ(self, function: str = "hub-dev") -> dict[str, str]:
        """What the Lambda runtime sets for `function`, with keys that only this fake accepts."""
        return {
            "AWS_LAMBDA_FUNCTION_NAME": function,
            "AWS_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "ASIAFAKEFAKEFAKE",
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_SESSION_TOKEN": "session-token",
            "AWS_ENDPOINT_URL_LAMBDA": self.url,
        }


def botocore_authorization(
    method: str, url: str, headers: dict[str, str], body: bytes, secret_key: str
) -> str:
    """The Authorization botocore's SigV4Auth gives this request at its own X-Amz-Date.

    Only the headers the request says it signed take part, as at AWS: a client's HTTP
    library adds others (Content-Length, Accept-Encoding) after signing.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    authorization = headers["Authorization"]
    access_key, _, region = authorization.split("Credential=")[1].split("/")[:3]
    named = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    unsigned = {k: v for k, v in headers.items() if k.lower() in named and k.lower() != "host"}
    request = AWSRequest(method=method, url=url, data=body, headers=unsigned)
    token = headers.get("X-Amz-Security-Token")
    when = datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(Credentials(access_key, secret_key, token), "lambda", region).add_auth(request)
    return request.headers["Authorization"]


@contextmanager
def fake_lambda() -> Iterator[FakeLambda]:
    state = FakeLambda()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Lambda's endpoint

        def setup(self) -> None:
            super().setup()
            state.connections += 1

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = dict(self.headers.items())
            expected = botocore_authorization("POST", state.url + self.path, headers, body, state.secret_key)
            if headers.get("Authorization") != expected or headers.get("X-Amz-Invocation-Type") != "Event":
                state.bad_signatures += 1
                self._answer(403, b'{"message": "The request signature we calculated does not match"}')
                return
            if state.status == 202:
                state.messages.append(json.loads(body))
            self._answer(state.status, b"" if state.status == 202 else b'{"Type": "User"}')
            if state.close_after_answer:
                self.close_connection = True

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        from hub.lambda_invoke import close_connections

        close_connections()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
