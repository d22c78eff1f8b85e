"""One long-lived asyncio loop per process, on a daemon thread, for async SDKs called from sync code.

hub is synchronous (Flask, worker threads, the CLI); python-telegram-bot is asyncio. An
async client (PTB's Bot holds an httpx.AsyncClient) is bound to the loop it was
initialised on, so using it from `asyncio.run` in one request and again in the next fails
with "Event loop is closed". Here every coroutine runs on the same loop, whichever thread
submits it (Flask request threads, the task pool, a warm Lambda's next invocation), so a
client initialised once stays valid for the life of the process.

The thread is made on first use (nothing runs at import, for cold starts) and made again
in a forked child, where the parent's thread does not exist.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger("hub.aioloop")

T = TypeVar("T")
THREAD_NAME = "hub-aioloop"


class LoopThread:
    """An event loop running forever on its own daemon thread."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self._cleanups: list[Callable[[], Awaitable[None]]] = []
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), name=THREAD_NAME, daemon=True)
        self.thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        """Run `coro` on the loop and wait for its result (its exception is raised here)."""
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("hub.aioloop.run was called from the loop's own thread: await instead")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"the call did not finish within {timeout} s") from None
        except BaseException:
            future.cancel()  # KeyboardInterrupt while waiting: stop the coroutine too
            raise

    def stop(self, timeout: float = 5.0) -> None:
        """Run the registered async cleanups on the loop, then stop it and join the thread."""
        if not self.thread.is_alive():
            return
        if self.pid == os.getpid():
            for cleanup in reversed(self._cleanups):
                try:
                    self.run(cleanup(), timeout)
                except Exception:  # one failed cleanup must not keep the others from running
                    log.exception("async cleanup failed")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
        if not self.thread.is_alive():
            self.loop.close()


_lock = threading.Lock()
_current: LoopThread | None = None
_cleanups: list[Callable[[], Awaitable[None]]] = []


def loop_thread() -> LoopThread:
    """This process's loop thread, started on first use."""
    global _current
    with _lock:
        if _current is None or _current.pid != os.getpid() or not _current.thread.is_alive():
            _current = LoopThread()
            _current._cleanups = _cleanups
        return _current


def run(coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
    """Run a coroutine on the process's loop from synchronous code; returns its result."""
    return loop_thread().run(coro, timeout)


def at_shutdown(cleanup: Callable[[], Awaitable[None]]) -> None:
    """Register an async cleanup (closing clients) to run on the loop when it stops."""
    with _lock:
        if cleanup not in _cleanups:
            _cleanups.append(cleanup)


def shutdown() -> None:
    """Stop the loop after its cleanups ran (at exit; tests may call it too)."""
    global _current
    with _lock:
        current, _current = _current, None
    if current is not None:
        current.stop()


atexit.register(shutdown)
