"""Fan-out of any size in runs of bounded length.

A handler that tells every subscriber walks the store a page at a time (`walk`). Once its
run has read for half of `HUB_DELIVERY_RUN_SECONDS` (the first run: `FIRST_PART_SECONDS`,
so that the first messages go out soon), the walk stops after the page in
hand and the rest goes on in a follow-up run of the same handler: an event of the same
source and type, carrying the cursor, recorded before this run is done (so a crash in
between reruns this run, which records it again) and run like any other event (its own
invocation on Lambda). However many recipients, no run reads, records and releases for
longer than about that half, far below the function's timeout.

The follow-ups' deliveries are named by the first run's scope: a subscriber a page walk
returns twice (Redis may), or a part walked twice (a rerun stopped at another page),
is still told once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from hub.events import Event

if TYPE_CHECKING:
    from hub.context import Context

CONTINUED = "_continued"  # a follow-up's payload: {"cursor", "scope", "part"}
PAGE = 500
# The first run's time box: its deliveries are due only once it succeeds, so a short first
# part lets the first messages go within about this of the alert (10,000 subscribers took
# 3.3 s in one part) while the follow-ups record the rest.
FIRST_PART_SECONDS = 0.5


def walk(ctx: Context, namespace: str, *, page: int = PAGE) -> Iterator[dict[str, Any]]:
    """The values of `namespace`, from where this run's event takes over, until the run's
    fan-out time box is spent (then a follow-up run takes the rest)."""
    state = ctx.event.payload.get(CONTINUED) or {}
    cursor = str(state.get("cursor") or "")
    box = ctx.settings.hub_delivery_run_seconds / 2
    if not state:  # the first part: its messages go out when it ends, so it ends soon
        box = min(box, FIRST_PART_SECONDS)
    ends = ctx.started + box
    while True:
        entries, cursor = ctx.store.kv_page(namespace, cursor, page)
        yield from (value for _, value in entries)
        if not cursor:
            return
        if time.monotonic() >= ends:
            ctx.follow_up = follow_up(ctx.event, cursor, scope=ctx.tells.names)
            return


def follow_up(event: Event, cursor: str, *, scope: str) -> Event:
    """The event that goes on from `cursor`: named by the first run's scope and its part,
    so a rerun of this run records the same follow-up once."""
    payload = {k: v for k, v in event.payload.items() if k != CONTINUED}
    part = int((event.payload.get(CONTINUED) or {}).get("part") or 0) + 1
    payload[CONTINUED] = {"cursor": cursor, "scope": scope, "part": part}
    return Event(event.source, event.type, f"{scope}/part{part}", payload)


def names_of(event: Event, scope: str) -> str:
    """The scope a run's deliveries are named by: the first run's, for a follow-up."""
    state = event.payload.get(CONTINUED)
    return str(state.get("scope") or scope) if isinstance(state, dict) else scope
