"""Failing on purpose, to practise recovery locally: `hub simulate --fail N`.

The simulated event carries `hub_simulate_fail: N` in its signed payload, and the worker
fails its first N attempts before any handler runs, so retries, the dead letter and
`hub replay` can be watched without breaking anything. Only a dry-run hub honours the
mark: a live hub runs such an event as if the mark were not there, so no payload can make
a live hub fail its handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.events import Event

FAIL_FIELD = "hub_simulate_fail"
MAX_PLANNED_FAILURES = 100


class SimulatedFailure(RuntimeError):
    """An attempt failed because its event asked to (dry-run only)."""


def planned_failures(payload: dict[str, Any]) -> int:
    """How many first attempts the payload asks to fail (0 when it does not ask, or asks oddly).

    A number in JSON, a string of digits in Twilio's form fields.
    """
    raw = payload.get(FAIL_FIELD)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return 0
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit():
        return 0
    return min(int(text), MAX_PLANNED_FAILURES)


def fail_if_asked(event: Event, *, dry_run: bool) -> None:
    """Raise SimulatedFailure while `event` is within the attempts it asked to fail."""
    if not dry_run:
        return
    planned = planned_failures(event.payload)
    if event.attempts <= planned:
        raise SimulatedFailure(
            f"attempt {event.attempts} of the first {planned} that hub simulate --fail "
            "asked to fail (dry-run only)"
        )
