"""The dashboard's two charts, as plain numbers and SVG coordinates for the templates.

Both count what the events table shows (the same filters). "Failures over time" counts
failed attempts from the attempt history, so a failure stays on the chart after a retry
or a replay has fixed its event.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from hub.admin.timeline import failures_per_hour
from hub.events import DEAD, FAILED

if TYPE_CHECKING:
    from hub.events import Event
    from hub.store.attempts import Attempt

BAR_X, BAR_MAX = 96, 150  # where source bars start and how long the longest is (SVG units)
PLOT_LEFT, PLOT_TOP, PLOT_HEIGHT, COLUMN = 26, 8, 80, 13


def per_source(events: list[Event]) -> list[dict[str, Any]]:
    """Events per source, and how many of them are failing now (failed or dead)."""
    counts = Counter(e.source for e in events)
    failures = Counter(e.source for e in events if e.status in (FAILED, DEAD))
    top = max(counts.values(), default=1)
    return [
        {
            "source": s,
            "count": n,
            "failed": failures[s],
            "width": round(BAR_MAX * n / top, 1),
            "failed_width": round(BAR_MAX * failures[s] / top, 1),
            "y": i * 26 + 2,
        }
        for i, (s, n) in enumerate(counts.most_common())
    ]


def hourly(attempts: list[Attempt], now: float) -> dict[str, Any]:
    """Attempts and failed attempts per hour, last 24 hours, with a y axis that has values."""
    buckets = failures_per_hour(attempts, now)
    top = max((b["attempts"] for b in buckets), default=0)
    scale = _nice_ceiling(top)
    for i, bucket in enumerate(buckets):
        bucket["x"] = PLOT_LEFT + i * COLUMN
        bucket["attempts_height"] = round(PLOT_HEIGHT * bucket["attempts"] / scale, 1)
        bucket["failures_height"] = round(PLOT_HEIGHT * bucket["failures"] / scale, 1)
    ticks = [
        {"value": v, "y": round(PLOT_TOP + PLOT_HEIGHT - PLOT_HEIGHT * v / scale, 1)}
        for v in (0, scale // 2, scale)
    ]
    return {
        "buckets": buckets,
        "ticks": ticks,
        "attempts": sum(b["attempts"] for b in buckets),
        "failures": sum(b["failures"] for b in buckets),
        "baseline": PLOT_TOP + PLOT_HEIGHT,
        "width": PLOT_LEFT + len(buckets) * COLUMN + 14,  # room for the last hour label
    }


def _nice_ceiling(value: int) -> int:
    """The axis top: the value rounded up to 1, 2 or 5 times a power of ten (at least 2)."""
    if value <= 2:
        return 2
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if value <= step * magnitude:
                return step * magnitude
        magnitude *= 10
