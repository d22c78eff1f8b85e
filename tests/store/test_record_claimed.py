"""`record(claim_lease=...)`: intake and claim in one write, with the claim's guarantees."""

from __future__ import annotations

from hub.events import DONE, PROCESSING
from hub.store import Store
from tests.store.conftest import Clock, stripe_like

LEASE = 60.0


def test_a_new_event_is_stored_already_claimed_for_its_caller(store: Store, clock: Clock) -> None:
    result = store.record(stripe_like("evt_pre"), claim_lease=LEASE)

    assert result.claimed and not result.duplicate
    stored = store.get(result.event.id)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.lease_until) == (PROCESSING, 1, clock.now + LEASE)
    assert store.claim(stored.id, lease_seconds=LEASE, force=True) is None  # no second worker
    assert store.complete(result.event) is not None  # the caller finishes it as if it had claimed
    assert store.get(stored.id).status == DONE  # type: ignore[union-attr]


def test_a_redelivery_is_a_duplicate_and_claims_nothing(store: Store) -> None:
    store.record(stripe_like("evt_pre2"), claim_lease=LEASE)
    again = store.record(stripe_like("evt_pre2"), claim_lease=LEASE)

    assert again.duplicate and not again.claimed


def test_the_sweep_takes_it_over_when_its_caller_dies(store: Store, clock: Clock) -> None:
    event = store.record(stripe_like("evt_pre3"), claim_lease=LEASE).event
    assert store.due() == []

    clock.advance(LEASE + 1)  # the process that stored it never finished it
    assert store.due() == [event.id]
    taken = store.claim(event.id, lease_seconds=LEASE)
    assert taken is not None and taken.attempts == 2
    assert store.complete(event) is None  # the dead caller's late completion loses
