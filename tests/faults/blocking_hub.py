"""A hub process whose Stripe handler blocks on a flag file, for the SIGKILL fault test.

`python -m tests.faults.blocking_hub FOLDER` serves on a free port of 127.0.0.1, prints
the port, and runs handlers in its thread pool; configuration comes from the environment.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hub.context import Context
from hub.events import Event
from hub.router import Router


def build_router(folder: Path) -> Router:
    """invoice.paid: one outbound call, then wait while FOLDER/block exists, then one effect."""
    router = Router()

    @router.on("stripe", "invoice.paid")
    def credit(event: Event, ctx: Context) -> None:
        ctx.call("ledger", "credit", {"event": event.provider_id}, lambda: {"ref": "unused"})
        (folder / "started").write_text(event.id)
        while (folder / "block").exists():
            time.sleep(0.02)
        with (folder / "effects").open("a") as effects:
            effects.write(event.provider_id + "\n")

    return router


def main(folder: Path) -> None:
    from werkzeug.serving import make_server

    from hub import create_app

    server = make_server("127.0.0.1", 0, create_app(router=build_router(folder)), threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
