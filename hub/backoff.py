"""Retry timing shared by event runs and deliveries: backoff with jitter, and the wait a
provider asked for; plus the error text as stored (scrubbed of secrets)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from hub.logs import scrub_text

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.store import Store


def retry_delay(attempts: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: about base * 2^(attempts-1), never over cap.

    The jitter ("equal jitter") keeps half the delay fixed so retries do not bunch up
    when a provider recovers, yet never fire immediately.
    """
    ceiling = min(cap, base * (2 ** max(attempts - 1, 0)))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def asked_delay(exc: BaseException | None) -> float:
    """Seconds the provider asked us to wait (Telegram 429 `retry_after`), 0 if it did not say.

    Looked for on the exception and its causes, so an integration may wrap the SDK's error.
    """
    while exc is not None:
        asked = getattr(exc, "retry_after", None)
        if isinstance(asked, timedelta):
            return asked.total_seconds()
        if isinstance(asked, int | float) and not isinstance(asked, bool):
            return float(asked)
        exc = exc.__cause__
    return 0.0


def error_text(settings: Settings, exc: BaseException) -> str:
    """The error as stored and logged, without secrets or personal data.

    Scrubbed here, not on display: the admin API and CLI return it as stored. Whole, before
    the store cuts it to length, so no secret is cut into an unrecognisable half.
    """
    secrets = sorted(settings.secret_values(), key=len, reverse=True)  # a secret may hold another
    return scrub_text(f"{type(exc).__name__}: {exc}", secrets)


T = TypeVar("T")
STORE_OUTAGE_SECONDS = 30.0  # how long a finished send waits for the store to come back


def until_stored(store: Store, write: Callable[[], T], *, seconds: float = STORE_OUTAGE_SECONDS) -> T:
    """`write`, retried while the store is unreachable (a Redis restart, a failover).

    For the write that records a send already made: given up, the outcome would be
    unknown and the message sent again (flagged) once its lease ran out.
    """
    deadline = time.monotonic() + seconds
    pause = 0.05
    while True:
        try:
            return write()
        except store.unavailable_errors:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
