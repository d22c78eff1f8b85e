"""A small fake Telegram Bot API on 127.0.0.1: records calls, answers like Telegram,
fails on demand (429 with retry_after, 5xx, 4xx) and serves getUpdates for polling."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_USER = {"id": 123, "is_bot": True, "first_name": "Hub", "username": "hub_test_bot"}


@dataclass
class Call:
    token: str
    method: str
    params: dict[str, Any]
    status: int  # what the fake answered


@dataclass
class Failure:
    method: str
    status: int
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)
    chat_id: str | None = None  # None: any call of the method


class FakeTelegram:
    """Serve with `fake_telegram()`; point TELEGRAM_API_URL at `.url`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.webhook_url = ""
        self._failures: list[Failure] = []
        self._updates: list[dict[str, Any]] = []
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(1000)
        self._lock = threading.Condition()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    # -- what tests arrange ------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        description: str = "",
        *,
        times: int = 1,
        retry_after: int | None = None,
        chat_id: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with an error
        (429: give `retry_after`)."""
        parameters = {"retry_after": retry_after} if retry_after is not None else {}
        defaults = {429: f"Too Many Requests: retry after {retry_after}", 500: "Internal Server Error"}
        text = description or defaults.get(status, "Error")
        with self._lock:
            self._failures.extend(Failure(method, status, text, parameters, chat_id) for _ in range(times))

    def push_message(self, text: str, *, chat_id: int = 42, first_name: str = "Sam") -> int:
        """Queue a text message for getUpdates; returns its update_id."""
        update_id = next(self._update_ids)
        chat = {"id": chat_id, "type": "private", "first_name": first_name}
        message = {
            "message_id": update_id,
            "date": int(time.time()),
            "text": text,
            "chat": chat,
            "from": {"id": chat_id, "is_bot": False, "first_name": first_name},
        }
        self.push({"update_id": update_id, "message": message})
        return update_id

    def push(self, update: dict[str, Any]) -> None:
        """Queue any update for getUpdates (again, to play a re-delivery)."""
        with self._lock:
            self._updates.append(update)
            self._lock.notify_all()

    # -- what tests read ---------------------------------------------------------------

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        """Parameters of the calls of `method` that succeeded, in arrival order."""
        with self._lock:
            return [c.params for c in self.calls if c.method == method and c.status == 200]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    # -- the Bot API -------------------------------------------------------------------

    def answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            failure = next(
                (
                    f
                    for f in self._failures
                    if f.method in (method, "*") and f.chat_id in (None, str(params.get("chat_id")))
                ),
                None,
            )
            if failure is not None:
                self._failures.remove(failure)
                self.calls.append(Call(token, method, params, failure.status))
                body = {"ok": False, "error_code": failure.status, "description": failure.description}
                if failure.parameters:
                    body["parameters"] = failure.parameters
                return failure.status, body
        if method == "getUpdates":
            result: Any = self._get_updates(params)
        else:
            result = self._result(method, params)
        with self._lock:
            self.calls.append(Call(token, method, params, 200))
        return 200, {"ok": True, "result": result}

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            chat_id = params.get("chat_id")
            chat_id = int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id
            return {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": params.get("text", ""),
            }
        if method == "getWebhookInfo":
            return {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": 0}
        if method == "deleteWebhook":
            self.webhook_url = ""
            return True
        if method == "setWebhook":
            self.webhook_url = str(params.get("url", ""))
            return True
        return True

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 2.0)  # long polling, kept short for tests
        deadline = time.monotonic() + wait
        with self._lock:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed
            while not self._updates and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            limit = int(params.get("limit") or 100)
            return list(self._updates[:limit])


def _decode(value: str) -> Any:
    """PTB sends each parameter form-encoded, objects and arrays as JSON."""
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects of api.telegram.org
    disable_nagle_algorithm = True  # headers and body in separate writes would wait 40 ms on ACKs
    fake: FakeTelegram

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        if self.headers.get_content_type() == "application/json":
            params = json.loads(raw or "{}")
        else:
            params = {k: _decode(v) for k, v in parse_qsl(raw, keep_blank_values=True)}
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            status, body = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        else:
            status, body = self.fake.answer(parts[0][3:], parts[1], params)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


@contextmanager
def fake_telegram() -> Iterator[FakeTelegram]:
    """Run a FakeTelegram on a free port for the duration of the block."""
    fake = FakeTelegram()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    fake.server = server
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-telegram", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
