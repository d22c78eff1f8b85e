"""A hub with a counting Stripe handler, served by a threaded werkzeug server.

Used in-process by the storm tests, and as a separate OS process:
`python -m tests.store.storm_server '<config json>' <runs file>` prints its port, then serves.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from werkzeug.serving import make_server

from hub.context import Context
from hub.events import Event
from hub.router import Router

STORM_TYPE = "invoice.paid"


def counting_router(on_run: Callable[[Event], None]) -> Router:
    """A router whose one handler reports each run and makes one outbound call."""
    router = Router()

    @router.on("stripe", STORM_TYPE)
    def count_run(event: Event, ctx: Context) -> None:
        on_run(event)
        ctx.call("storm", "note", {"provider_id": event.provider_id}, send=lambda: {})

    return router


def file_counter(path: Path) -> Callable[[Event], None]:
    """Count runs as lines of a file, so runs in several processes add up."""

    def on_run(event: Event) -> None:
        with path.open("a") as runs:  # one short append: atomic across processes
            runs.write(event.id + "\n")

    return on_run


def main(config_json: str, runs_file: str) -> None:
    from hub import create_app

    app = create_app(json.loads(config_json), router=counting_router(file_counter(Path(runs_file))))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:3])
