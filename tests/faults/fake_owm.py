"""A counting OpenWeatherMap on 127.0.0.1 (`/data/2.5/weather`), that can be made to fail."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeOwm:
    def __init__(self) -> None:
        self.calls: list[str] = []  # the city of every request that reached "upstream"
        self.failing = False
        self.url = ""

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        city = (query.get("q") or [""])[0]
        self.calls.append(city)
        if self.failing:
            return 503, {"cod": 503, "message": "service unavailable"}
        body: dict[str, Any] = {
            "weather": [{"id": 800, "main": "Clear", "description": "clear sky", "icon": "01d"}],
            "main": {"temp": 12.5, "feels_like": 11.0, "humidity": 60},
            "wind": {"speed": 3.0, "deg": 180}, "dt": int(time.time()), "timezone": 0,
            "name": city.title(), "sys": {"country": "GB"}, "cod": 200,
        }  # fmt: skip
        if path.endswith("/forecast"):
            slot = {k: body[k] for k in ("dt", "main", "weather", "wind")}
            where = {"name": city.title(), "country": "GB"}
            body = {"cod": "200", "cnt": 8, "list": [slot] * 8, "city": where}
        return 200, body


@contextmanager
def fake_owm() -> Iterator[FakeOwm]:
    owm = FakeOwm()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            status, answer = owm.answer(parts.path, parse_qs(parts.query))
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
    owm.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield owm
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
