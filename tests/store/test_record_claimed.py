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


# `record_finished`: an inline run that only replied, stored once, already done.


def test_a_run_that_ended_before_its_event_was_stored_is_stored_done_with_its_attempt(
    store: Store, clock: Clock
) -> None:
    arrived = stripe_like("evt_fin")  # made now, as a verifier makes it
    claimed = store.as_claimed(arrived, lease=LEASE)
    clock.advance(0.25)  # the handler's run
    result = store.record_finished(claimed)

    assert not result.duplicate
    stored = store.get(arrived.id)
    assert stored is not None and stored == result.event
    assert (stored.status, stored.attempts, stored.lease_until, stored.next_attempt_at) == (
        DONE,
        1,
        None,
        None,
    )
    assert stored.updated_at == clock.now
    assert [(a.attempt, a.outcome, a.started_at, a.finished_at) for a in store.history(stored)] == [
        (1, DONE, arrived.received_at, clock.now)
    ]
    assert store.due() == []  # nothing left for the sweep
    assert store.claim(stored.id, lease_seconds=LEASE) is None
    assert [e.id for e in store.events(status=DONE)] == [stored.id]
    assert store.count_events(status=PROCESSING) == 0


def test_a_finished_run_of_a_known_event_changes_nothing(store: Store, clock: Clock) -> None:
    first = store.record(stripe_like("evt_fin2"), claim_lease=LEASE).event
    again = store.record_finished(store.as_claimed(stripe_like("evt_fin2"), lease=LEASE))

    assert again.duplicate and again.event.id == first.id
    stored = store.get(first.id)
    assert stored is not None and (stored.status, stored.attempts) == (PROCESSING, 1)  # still the first run's
    assert store.history(stored)[0].outcome == "running"
    assert store.record(stripe_like("evt_fin2")).duplicate


def test_a_redelivery_after_a_finished_run_is_a_duplicate(store: Store) -> None:
    done = store.record_finished(store.as_claimed(stripe_like("evt_fin3"), lease=LEASE)).event

    again = store.record(stripe_like("evt_fin3"), claim_lease=LEASE)
    assert again.duplicate and not again.claimed and again.event == done
