"""The base's intake rule in a race the suite cannot time: a purge between the two steps."""

from __future__ import annotations

from pathlib import Path

from hub.events import Event
from hub.store.attempts import Attempt
from hub.store.sqlite import SQLiteStore
from tests.store.conftest import stripe_like


class PurgedMidway(SQLiteStore):
    """Finds the known event, then loses it to a purge before the base can read it."""

    def _insert(self, event: Event, *, due_at: float | None, attempt: Attempt | None = None) -> str | None:
        known = super()._insert(event, due_at=due_at, attempt=attempt)
        if known is not None and not getattr(self, "purged", False):
            self.purged = True
            self._execute("DELETE FROM events WHERE id = ?", (known,))
        return known


def test_a_delivery_whose_first_copy_was_purged_meanwhile_is_stored(tmp_path: Path) -> None:
    store = PurgedMidway(tmp_path / "hub.sqlite3")
    first = store.record(stripe_like("evt_1")).event

    again = store.record(stripe_like("evt_1"))

    assert not again.duplicate  # never "duplicate" of something no longer stored
    assert store.get(first.id) is None
    assert store.get(again.event.id) == again.event
    store.close()
