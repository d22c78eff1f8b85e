"""Where handler runs happen after a webhook is acknowledged (`HUB_TASKS`).

- `inline`: before the response (tests, simplest deployments).
- `thread`: a small pool in this process (the local default); the sweep catches
  whatever a dying process leaves behind.
- `lambda`: an asynchronous invocation of this same Lambda function (zappa's task message,
  sent by `hub.lambda_invoke`), carrying only the event id; outside Lambda it runs in-process.

Deliveries (the messages handlers tell) go the same way: a run of the delivery runner
inline, in the pool, or in an invocation of its own; a run that stops at its time budget
with deliveries still due starts the next one.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from hub.delivery_runner import run_deliveries
from hub.services import hub_of
from hub.worker import run_event

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import ThreadPoolExecutor

    from flask import Flask

    from hub.events import Event

log = logging.getLogger("hub.tasks")

TASK_THREAD = "hub-task"
# The entry points a Lambda async invocation runs, by name: they live in the outer ring
# (hub.lambda_tasks builds the module-level app), which this module must not import.
EVENT_TASK = "hub.lambda_tasks.process_event"
DELIVERIES_TASK = "hub.lambda_tasks.process_deliveries"


class TaskQueue:
    def __init__(self, app: Flask, mode: str, *, threads: int = 4) -> None:
        self.app = app
        self.mode = mode
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._senders: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._delivery_run_queued = False

    @property
    def runs_in_process(self) -> bool:
        """Whether queued runs happen in this process (not in another Lambda invocation)."""
        return not (self.mode == "lambda" and self.app.config["HUB_ON_LAMBDA"])

    def enqueue(self, event_id: str, *, claimed: Event | None = None) -> None:
        """Run `event_id` per the mode; `claimed`: already claimed for this process's run."""
        if self.mode == "thread":
            self._submit(self._run_logged, event_id, claimed)
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
            invoke_async(EVENT_TASK, event_id)
        except InvokeError as exc:
            log.error(
                "async invocation failed, the sweep runs the event: %s", exc, extra={"event_id": event_id}
            )
        except Exception:  # the event is durable already: never fail its acknowledgement
            log.exception("async invocation failed; the sweep runs the event", extra={"event_id": event_id})

    def enqueue_deliveries(self) -> None:
        """Start a delivery run per the mode (due deliveries were just released)."""
        if self.mode == "thread":
            if threading.current_thread().name.startswith(TASK_THREAD):
                run_deliveries_in_app(self.app)  # already in the background: no second hop
                return
            with self._lock:
                if self._delivery_run_queued:  # the queued run takes every due delivery
                    return
                self._delivery_run_queued = True
            self._submit(self._deliver_logged)
        elif not self.runs_in_process:
            self._invoke_deliveries()
        else:
            run_deliveries_in_app(self.app)

    def _deliver_logged(self) -> None:
        with self._lock:
            self._delivery_run_queued = False  # what is released from now on needs another run
        try:
            more = run_deliveries_in_app(self.app)
        except Exception:  # the deliveries stay due: the sweep sends them
            log.exception("background delivery run crashed")
            return
        if more:
            self.enqueue_deliveries()

    def _invoke_deliveries(self) -> None:
        from hub.lambda_invoke import InvokeError, invoke_async

        try:
            invoke_async(DELIVERIES_TASK)
        except InvokeError as exc:
            log.error("async invocation failed, the sweep sends the deliveries: %s", exc)
        except Exception:  # the deliveries are durable: the sweep sends them
            log.exception("async invocation failed; the sweep sends the deliveries")

    def sending_pool(self, size: int) -> ThreadPoolExecutor:
        """Threads for the sends of delivery runs (shared by this app's runs)."""
        with self._lock:
            if self._senders is None:
                from concurrent.futures import ThreadPoolExecutor  # not on a cold ack's path

                self._senders = ThreadPoolExecutor(size, thread_name_prefix="hub-send")
            return self._senders

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor  # HUB_TASKS=thread only

            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix=TASK_THREAD)
        return self._pool

    def _submit(self, run: Callable[..., None], *args: object) -> None:
        try:
            self._executor().submit(run, *args)
        except RuntimeError:  # the interpreter is exiting: no new thread may start
            log.warning("this process is stopping: the run waits, durable, for the sweep")

    def _run_logged(self, event_id: str, claimed: Event | None = None) -> None:
        try:
            run_in_app(self.app, event_id, claimed)
        except Exception:  # the pool would swallow it; the sweep retries the event
            log.exception("background run crashed", extra={"event_id": event_id})

    def drain(self) -> None:
        """Wait for queued background runs (used by tests and on shutdown)."""
        while self._pool is not None:  # a run may queue another (a delivery run) meanwhile
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True)
        with self._lock:
            senders, self._senders = self._senders, None
        if senders is not None:
            senders.shutdown(wait=True)


def run_in_app(app: Flask, event_id: str, claimed: Event | None = None) -> None:
    with app.app_context():
        run_event(hub_of(app), event_id, claimed=claimed)


def run_deliveries_in_app(app: Flask) -> bool:
    """One delivery run; True when it stopped at its time budget with more due."""
    with app.app_context():
        return run_deliveries(hub_of(app)).more
