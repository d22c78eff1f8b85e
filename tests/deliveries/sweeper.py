"""`python -m tests.deliveries.sweeper`: a hub worker that sweeps in a loop (what the
every-minute schedule does on Lambda, without the minute), configured by the environment.
Prints "ready"; store outages are logged and waited out. For tests that SIGKILL it."""

from __future__ import annotations

import logging
import time

from hub import create_app
from hub.services import hub_of

if __name__ == "__main__":
    app = create_app()
    hub = hub_of(app)
    print("ready", flush=True)
    while True:
        try:
            with app.app_context():
                report = hub.sweep(limit=10)
            if not report.ran and not report.deliveries.ran:
                time.sleep(0.05)
        except Exception:  # the store is restarting: try again shortly
            logging.getLogger("hub").warning("sweep failed; again shortly", exc_info=True)
            time.sleep(0.2)
