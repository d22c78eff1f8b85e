"""The app a serving process runs (`hub.wsgi` for zappa and gunicorn), built the way a
cold start wants it.

Python's cyclic garbage collector runs a full collection once enough objects have piled
up since the last one, and a start-up piles up nothing else: every module, class and
function made while importing Flask, hub and its store lives as long as the process. On a
Lambda cold start (zappa's handler has already imported boto3) that full collection fell
inside hub's start every time: 20-30 ms of CPU on this machine, at 512 MB two or three
times that, spent finding no garbage. So the collector is paused while the app is built,
and what was built is then frozen (`gc.freeze`): moved out of the collector's view, so
neither this start nor any later collection scans it again. Freed objects still go by
reference counting; only a reference cycle built during start-up and dropped before its
end would stay, and the app's start-up drops none worth counting (peak RSS unchanged,
docs/PERFORMANCE.md). The collector runs again as soon as the app is built, whatever
happened.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def serving_app() -> Flask:
    """`create_app()` from the environment, announced, with the collector paused meanwhile."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        from hub.app import announce, create_app

        app = create_app()
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    announce(app)  # a serving process says once what it runs with
    return app
