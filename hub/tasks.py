"""Where handler runs happen after a webhook is acknowledged (`HUB_TASKS`).

- `inline`: before the response (tests, simplest deployments).
- `thread`: a small pool in this process (the local default); the sweep catches
  whatever a dying process leaves behind.
- `lambda`: an asynchronous invocation of this same Lambda function (zappa's task message,
  sent by `hub.lambda_invoke`), carrying only the event id; outside Lambda it runs in-process.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from hub.events import Event

log = logging.getLogger("hub.tasks")


class TaskQueue:
    def __init__(self, app: Flask, mode: str, *, threads: int = 4) -> None:
        self.app = app
        self.mode = mode
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None

    @property
    def runs_in_process(self) -> bool:
        """Whether queued runs happen in this process (not in another Lambda invocation)."""
        return not (self.mode == "lambda" and self.app.config["HUB_ON_LAMBDA"])

    def enqueue(self, event_id: str, *, claimed: Event | None = None) -> None:
        """Run `event_id` per the mode; `claimed`: already claimed for this process's run."""
        if self.mode == "thread":
            self._executor().submit(self._run_logged, event_id, claimed)
        elif not self.runs_in_process:
            self._invoke_async(event_id)
        else:
            run_in_app(self.app, event_id, claimed)

    def _invoke_async(self, event_id: str) -> None:
        """One asynchronous invocation of this function carrying only the event id.

        The payload stays tiny and holds no webhook data; the invoked copy reads the event
        from the store. If the invocation cannot be sent, the event is already durable and
        the every-minute sweep runs it once its lease window passes.
        """
        from hub.lambda_invoke import InvokeError, invoke_async

        try:
            invoke_async(f"{__name__}.{process_event.__name__}", event_id)
        except InvokeError as exc:
            log.error("async invocation failed, the sweep runs the event: %s", exc,
                      extra={"event_id": event_id})  # fmt: skip
        except Exception:  # the event is durable already: never fail its acknowledgement
            log.exception("async invocation failed; the sweep runs the event", extra={"event_id": event_id})

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="hub-task")
        return self._pool

    def _run_logged(self, event_id: str, claimed: Event | None = None) -> None:
        try:
            run_in_app(self.app, event_id, claimed)
        except Exception:  # the pool would swallow it; the sweep retries the event
            log.exception("background run crashed", extra={"event_id": event_id})

    def drain(self) -> None:
        """Wait for queued background runs (used by tests and on shutdown)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True)


def run_in_app(app: Flask, event_id: str, claimed: Event | None = None) -> None:
    from hub.runtime import hub_of
    from hub.worker import run_event

    with app.app_context():
        run_event(hub_of(app), event_id, claimed=claimed)


def process_event(event_id: str) -> None:
    """Entry point of an asynchronous Lambda invocation (zappa imports it by path)."""
    from flask import current_app, has_app_context

    if has_app_context():
        run_in_app(current_app._get_current_object(), event_id)  # type: ignore[attr-defined]
        return
    from hub.observability import flush
    from hub.wsgi import app

    try:
        run_in_app(app, event_id)
    finally:
        flush()  # Lambda freezes the process as soon as this returns

