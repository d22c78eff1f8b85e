"""Exactly-once under load: many threads and two OS processes deliver the same event at once."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Callable
from dataclasses import replace

import pytest

from hub.events import PROCESSING
from hub.store import Store
from tests.store.racers import delivery, race, record_and_claim_in_process

THREADS = 24


def test_threads_recording_one_event_store_it_once(store: Store) -> None:
    results = race(THREADS, lambda: store.record(delivery("evt_storm")))

    assert sum(not r.duplicate for r in results) == 1
    assert not any(r.conflict for r in results)
    assert len({r.event.id for r in results}) == 1  # every duplicate names the stored one
    assert [e.provider_id for e in store.events()] == ["evt_storm"]


def test_threads_with_their_own_store_objects_store_it_once(open_store: Callable[..., Store]) -> None:
    """Like separate workers: each has its own connections."""
    stores = [open_store() for _ in range(4)]
    results = race(THREADS, lambda: stores[hash(uuid.uuid4()) % 4].record(delivery("evt_storm")))

    assert sum(not r.duplicate for r in results) == 1
    assert len(stores[0].events()) == 1


def test_a_duplicate_answer_names_an_event_that_is_already_stored(open_store: Callable[..., Store]) -> None:
    """Nobody hears "duplicate" before the first writer's event can be read back."""
    store, other = open_store(), open_store()
    outcomes = race(THREADS, lambda: (r := other.record(delivery("evt_durable")), other.get(r.event.id)))

    assert all(stored is not None for _, stored in outcomes)
    assert store.get(outcomes[0][0].event.id) is not None


def test_threads_claiming_one_event_one_wins(store: Store) -> None:
    event = store.record(delivery("evt_claim")).event

    claims = race(THREADS, lambda: store.claim(event.id, lease_seconds=60))

    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    stored = store.get(event.id)
    assert stored is not None and (stored.status, stored.attempts) == (PROCESSING, 1)


def test_threads_forcing_a_replay_of_a_done_event_one_wins(store: Store) -> None:
    event = store.record(delivery("evt_replay")).event
    store.complete(store.claim(event.id, lease_seconds=60))  # type: ignore[arg-type]

    claims = race(THREADS, lambda: store.claim(event.id, lease_seconds=60, force=True))

    assert sum(c is not None for c in claims) == 1
    assert store.get(event.id).attempts == 2  # type: ignore[union-attr]


def test_threads_finishing_one_claim_only_one_succeeds(store: Store) -> None:
    event = store.record(delivery("evt_finish")).event
    claimed = store.claim(event.id, lease_seconds=60)

    finished = race(THREADS, lambda: store.complete(claimed))  # type: ignore[arg-type]

    assert sum(f is not None for f in finished) == 1


def test_threads_patching_one_outbox_entry_leave_one_whole_write(store: Store) -> None:
    """Twilio's status callbacks for one message can arrive at once."""
    entry = store.add_outbox("twilio", "send_sms", {"to": "+1"}, event_id="evt_1", status="sent", ref="SM1")
    statuses = [f"status-{i}" for i in range(THREADS)]
    pending = iter(statuses)

    patched = race(THREADS, lambda: (s := next(pending), store.update_outbox("SM1", status=s, detail=s)))

    assert all(result is not None for _, result in patched)
    [stored] = store.outbox()
    assert stored.status in statuses and stored.detail == stored.status
    assert stored == replace(entry, status=stored.status, detail=stored.detail)


@pytest.mark.slow
def test_two_processes_record_and_claim_one_event_once(backend_location: tuple[str, str]) -> None:
    backend, where = backend_location
    per_process = 12
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2 * per_process)
    results = context.Queue()
    provider_id = "evt_" + uuid.uuid4().hex
    processes = [
        context.Process(
            target=record_and_claim_in_process,
            args=(backend, where, provider_id, per_process, barrier, results),
        )
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)

    assert [p.exitcode for p in processes] == [0, 0]
    assert sum(r["new"] for r in reports) == 1
    assert len({i for r in reports for i in r["ids"]}) == 1
    assert sum(r["claims"] for r in reports) == 1
