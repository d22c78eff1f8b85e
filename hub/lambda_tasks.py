"""The entry points of hub's asynchronous Lambda invocations (`HUB_TASKS=lambda`).

zappa's handler imports them by the names in `hub.tasks` (EVENT_TASK, DELIVERIES_TASK)
and calls them in a fresh invocation. They sit in the outer ring with `hub.wsgi`, whose
module-level app they use: importing it builds the app, so it is imported on first call.
"""

from __future__ import annotations

from flask import current_app, has_app_context

from hub.observability import flush
from hub.services import hub_of
from hub.tasks import run_deliveries_in_app, run_in_app


def process_deliveries() -> None:
    """Entry point of a delivery run's asynchronous Lambda invocation; chains the next one."""
    if has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        if run_deliveries_in_app(app):
            hub_of(app).tasks.enqueue_deliveries()
        return
    from hub.wsgi import app  # the module-level app: importing it builds it (hence here)

    try:
        if run_deliveries_in_app(app):
            hub_of(app).tasks.enqueue_deliveries()
    finally:
        flush()


def process_event(event_id: str) -> None:
    """Entry point of an asynchronous Lambda invocation (zappa imports it by path)."""
    if has_app_context():
        run_in_app(current_app._get_current_object(), event_id)  # type: ignore[attr-defined]
        return
    from hub.wsgi import app  # the module-level app: importing it builds it (hence here)

    try:
        run_in_app(app, event_id)
    finally:
        flush()  # Lambda freezes the process as soon as this returns
