"""A small Telegram Bot API on 127.0.0.1 that answers from a script: 429s, then success."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ME = {"id": 4242, "is_bot": True, "first_name": "hub", "username": "hub_test_bot"}


class FakeBotApi:
    """`script` lists answers for sendMessage in order: an int retry_after means 429."""

    def __init__(self, script: list[int | None]) -> None:
        self.script = list(script)
        self.sent: list[dict[str, Any]] = []  # messages Telegram accepted
        self.refused = 0
        self.url = ""

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            return 200, {"ok": True, "result": ME}
        if method != "sendMessage":
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        retry_after = self.script.pop(0) if self.script else None
        if retry_after is not None:
            self.refused += 1
            return 429, {"ok": False, "error_code": 429, "parameters": {"retry_after": retry_after},
                         "description": f"Too Many Requests: retry after {retry_after}"}  # fmt: skip
        self.sent.append(params)
        chat = {"id": int(params["chat_id"]), "type": "private"}
        message = {"message_id": len(self.sent), "date": 0, "chat": chat, "text": params.get("text", "")}
        return 200, {"ok": True, "result": message}


@contextmanager
def fake_bot_api(script: list[int | None]) -> Iterator[FakeBotApi]:
    api = FakeBotApi(script)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Type", "").startswith("application/json"):
                params = json.loads(body or b"{}")
            else:
                from urllib.parse import parse_qsl

                params = dict(parse_qsl(body.decode()))
            status, answer = api.answer(self.path.rsplit("/", 1)[-1], params)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
