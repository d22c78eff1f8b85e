"""hub with intake only, for bench.load: verify, dedup and the event log, handlers deferred.

What a Stripe delivery waits for, and what a Lambda deployment (`HUB_TASKS=lambda`) does
in the request: the event is stored `received` and acknowledged; its handler runs
elsewhere (there: another invocation; here: nowhere during the run, `hub sweep` later).
"""

from __future__ import annotations

from hub import create_app
from hub.services import hub_of


class DeferredTasks:
    """A task queue whose runs happen in another process: intake stores events unclaimed."""

    runs_in_process = False

    def enqueue(self, event_id: str, *, claimed: object = None) -> None:
        """Nothing here: the event is durable and due, so a sweep elsewhere runs it."""

    def drain(self) -> None:
        """Nothing queued in this process."""


app = create_app()
hub_of(app).tasks = DeferredTasks()  # type: ignore[assignment]
