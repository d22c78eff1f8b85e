"""A small local OpenWeatherMap on 127.0.0.1: `/data/2.5/weather` and `/data/2.5/forecast`.

Answers like the real API: 401 JSON for a wrong `appid`, 404 JSON for an unknown city,
metric numbers. `failing = True` makes every request answer 503 (upstream outage).
Usage: `with FakeOpenWeather() as owm: create_app({"OPENWEATHER_API_URL": owm.url, ...})`.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "test-owm-key-0123456789"

CITIES: dict[str, dict[str, Any]] = {
    "london": {
        "name": "London",
        "country": "GB",
        "temp": 11.5,
        "wind": 4.1,
        "id": 803,
        "description": "broken clouds",
    },
    "oslo": {
        "name": "Oslo",
        "country": "NO",
        "temp": -3.0,
        "wind": 2.0,
        "id": 600,
        "description": "light snow",
    },
    "bergen": {
        "name": "Bergen",
        "country": "NO",
        "temp": 6.0,
        "wind": 19.5,
        "id": 211,
        "description": "thunderstorm",
    },
    "paris": {
        "name": "Paris",
        "country": "FR",
        "temp": 14.0,
        "wind": 3.0,
        "id": 501,
        "description": "moderate rain",
    },
}


def current_payload(city: dict[str, Any], dt: int) -> dict[str, Any]:
    return {
        "weather": [
            {
                "id": city["id"],
                "main": city["description"].split()[-1].title(),
                "description": city["description"],
                "icon": "01d",
            }
        ],
        "main": {"temp": city["temp"], "feels_like": city["temp"] - 2, "humidity": 70},
        "wind": {"speed": city["wind"], "deg": 200},
        "dt": dt,
        "timezone": 0,
        "name": city["name"],
        "sys": {"country": city["country"]},
        "cod": 200,
    }


def forecast_payload(city: dict[str, Any], dt: int, count: int) -> dict[str, Any]:
    slots = []
    for i in range(count):
        slot = current_payload(city, dt + i * 10800)
        slot = {k: slot[k] for k in ("dt", "main", "weather", "wind")}
        slot["pop"] = 0.8 if 200 <= city["id"] < 700 else 0.0
        if 500 <= city["id"] < 600:
            slot["rain"] = {"3h": 1.2}
        slots.append(slot)
    return {
        "cod": "200",
        "cnt": count,
        "list": slots,
        "city": {"name": city["name"], "country": city["country"], "timezone": 0},
    }


class FakeOpenWeather:
    """Thread-served fake; `requests` lists (path, query) of every request it got."""

    def __init__(self, api_key: str = API_KEY, cities: dict[str, dict[str, Any]] | None = None) -> None:
        self.api_key = api_key
        self.cities = dict(CITIES if cities is None else cities)
        self.failing = False
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> FakeOpenWeather:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.requests.append((path, query))
        if self.failing:
            return 503, {"cod": 503, "message": "service unavailable"}
        if path not in ("/data/2.5/weather", "/data/2.5/forecast"):
            return 404, {"cod": "404", "message": "Internal error"}
        if query.get("appid") != self.api_key:
            return 401, {
                "cod": 401,
                "message": "Invalid API key. Please see https://openweathermap.org/faq#error401",
            }
        city = self.cities.get(" ".join(query.get("q", "").split(",")[0].split()).casefold())
        if city is None:
            return 404, {"cod": "404", "message": "city not found"}
        now = int(time.time())
        if path.endswith("/weather"):
            return 200, current_payload(city, now)
        return 200, forecast_payload(city, now, int(query.get("cnt") or 40))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                status, body = fake.answer(parts.path, query)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the request list is the record

        return Handler
