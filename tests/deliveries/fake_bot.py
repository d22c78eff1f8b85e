"""A fake Bot API with Telegram's manners: a set latency, 30 sendMessage/s per bot (a 429
with `retry_after` beyond it), and a `hold` that makes sendMessage hang (the crash case).

Builds on tests.auxil.fake_telegram (same wire format and records); also used by
bench/fanout.py.
"""

from __future__ import annotations

import bisect
import collections
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

from tests.auxil.fake_telegram import Call, FakeTelegram, _Handler


class TelegramLike(FakeTelegram):
    def __init__(self, *, latency: float = 0.0, per_second: int = 0, retry_after: int = 1) -> None:
        super().__init__()
        self.latency = latency
        self.per_second = per_second  # 0: no limit
        self.retry_after = retry_after
        self.rejected = 0  # 429s answered
        self.peak_per_second = 0  # most sendMessage accepted within any 1 s window
        self.holding = threading.Event()  # set: sendMessage hangs until released
        self.arrived = threading.Event()  # a sendMessage reached the fake while holding
        self._released = threading.Event()
        self._window: collections.deque[float] = collections.deque()
        self._window_lock = threading.Lock()
        self.arrivals: list[float] = []  # when each sendMessage arrived (monotonic), 429s included

    def hold(self) -> None:
        self._released.clear()
        self.arrived.clear()
        self.holding.set()

    def release(self) -> None:
        self.holding.clear()
        self._released.set()

    def answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "sendMessage":
            if self.holding.is_set():
                self.arrived.set()
                self._released.wait(60)
            admitted = self._admit()  # counted on arrival, as Telegram does
            if self.latency:
                time.sleep(self.latency)
            if not admitted:
                with self._lock:
                    self.rejected += 1
                    self.calls.append(Call(token, method, params, 429))
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {self.retry_after}",
                    "parameters": {"retry_after": self.retry_after},
                }
        return super().answer(token, method, params)

    def _admit(self) -> bool:
        now = time.monotonic()
        with self._window_lock:
            self.arrivals.append(now)
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if self.per_second and len(self._window) >= self.per_second:
                return False
            self._window.append(now)
            self.peak_per_second = max(self.peak_per_second, len(self._window))
            return True

    def busiest_second(self) -> int:
        """The most sendMessage calls that arrived within any one second."""
        times = sorted(self.arrivals)
        return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)

    def delivered(self) -> collections.Counter[str]:
        """How many messages each chat received."""
        return collections.Counter(str(p.get("chat_id")) for p in self.sent())


@contextmanager
def serve(fake: TelegramLike) -> Iterator[TelegramLike]:
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    server.handle_error = lambda request, address: None  # a killed client's broken pipe: expected
    fake.server = server
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-bot", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
