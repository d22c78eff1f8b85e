"""Attempt history, paging and counts, on SQLite and on the real Redis.

Each attempt is kept when it ends (and when a takeover finds it abandoned), so a replay
or a retry no longer hides the earlier run's error.
"""

from __future__ import annotations

from hub.events import DEAD, DONE, FAILED
from tests.store.conftest import START, stripe_like


def test_each_attempt_keeps_its_times_outcome_and_error(store, clock):
    store.record(stripe_like("evt_h"))
    event = store.get(store.events()[0].id)

    first = store.claim(event.id, lease_seconds=30)
    clock.advance(2)
    store.fail(first, "RuntimeError: card declined", retry_at=clock.now + 60)
    clock.advance(100)
    second = store.claim(event.id, lease_seconds=30)
    clock.advance(1)
    store.fail(second, "RuntimeError: still declined", retry_at=None)
    clock.advance(10)
    third = store.claim(event.id, lease_seconds=30, force=True)  # a replay of the dead event
    store.complete(third)

    history = store.history(store.get(event.id))
    assert [(a.attempt, a.outcome) for a in history] == [(1, FAILED), (2, DEAD), (3, DONE)]
    assert [a.error for a in history] == ["RuntimeError: card declined", "RuntimeError: still declined", ""]
    assert (history[0].started_at, history[0].finished_at) == (START, START + 2)
    assert (history[1].started_at, history[1].finished_at) == (START + 102, START + 103)
    summary = history[0].summary()
    assert set(summary) == {"attempt", "started_at", "finished_at", "outcome", "error"}
    assert summary["started_at"].endswith("Z") and summary["error"] == "RuntimeError: card declined"
    assert history[2].summary()["error"] is None


def test_a_run_in_progress_shows_as_running_and_an_abandoned_one_as_interrupted(store, clock):
    recorded = store.record(stripe_like("evt_lease"), claim_lease=30).event  # claimed at intake
    running = store.history(store.get(recorded.id))
    assert [(a.attempt, a.outcome, a.started_at, a.finished_at) for a in running] == [
        (1, "running", START, None)
    ]

    clock.advance(31)  # the worker died: its lease ran out
    taken = store.claim(recorded.id, lease_seconds=30)
    clock.advance(1)
    store.complete(taken)
    history = store.history(store.get(recorded.id))
    assert [(a.attempt, a.outcome) for a in history] == [(1, "interrupted"), (2, DONE)]
    assert history[0].started_at == START and history[0].finished_at is None
    assert "lease expired" in history[0].error
    assert history[1].started_at == START + 31


def test_attempts_of_many_events_at_once(store):
    ids = []
    for n in range(3):
        event = store.record(stripe_like(f"evt_many{n}")).event
        store.complete(store.claim(event.id, lease_seconds=30))
        ids.append(event.id)
    assert sorted(a.event_id for a in store.attempts_of(ids)) == sorted(ids)
    assert store.attempts_of([]) == []


def test_purge_forgets_the_attempts_with_their_events(store, clock):
    event = store.record(stripe_like("evt_old")).event
    store.complete(store.claim(event.id, lease_seconds=30))
    clock.advance(8 * 86400)
    store.purge()
    assert store.attempts_of([event.id]) == []


def test_events_page_on_with_a_cursor_across_equal_times(store):
    for n in range(7):  # four share one received_at: the cursor must not skip or repeat ties
        store.record(stripe_like(f"evt_p{n}", at=START + (n if n < 3 else 3)))
    first = store.events(limit=3)
    second = store.events(limit=3, starting_after=first[-1].id)
    third = store.events(limit=3, starting_after=second[-1].id)
    seen = [e.provider_id for e in first + second + third]
    assert sorted(seen) == [f"evt_p{n}" for n in range(7)] and len(third) == 1
    assert [e.provider_id for e in store.events(limit=7)] == seen, "pages follow the listing's order"
    assert store.events(starting_after="evt_unknown") == []


def test_counts_follow_the_filters(store):
    store.record(stripe_like("evt_c1"))
    store.record(stripe_like("evt_c2", type="invoice.payment_failed"))
    store.record(stripe_like("evt_c3", source="paypal"))
    declined = store.events(type="invoice.payment_failed")[0]
    store.fail(store.claim(declined.id, lease_seconds=30), "declined", retry_at=None)
    assert store.count_events() == 3
    assert store.count_events(source="stripe") == 2
    assert store.count_events(status=DEAD) == 1
    assert store.count_events(source="stripe", status="received") == 1
    assert store.count_events(source="stripe", type="invoice.paid", status="received") == 1
    assert store.count_events(source="nobody") == 0


def test_outbox_pages_and_filters(store, clock):
    for n in range(5):
        store.add_outbox(
            "telegram" if n % 2 else "twilio",
            "send",
            {"n": n},
            event_id="evt_x",
            status="recorded" if n < 4 else "sent",
        )
        clock.advance(1)
    everything = store.outbox()
    assert [e.payload["n"] for e in everything] == [4, 3, 2, 1, 0]
    page = store.outbox(limit=2, starting_after=everything[1].id)
    assert [e.payload["n"] for e in page] == [2, 1]
    assert [e.payload["n"] for e in store.outbox(integration="telegram")] == [3, 1]
    assert [e.payload["n"] for e in store.outbox(integration="twilio", status="recorded")] == [2, 0]
    assert [
        e.payload["n"] for e in store.outbox(integration="twilio", limit=1, starting_after=everything[0].id)
    ] == [2]
    assert store.outbox(possible_duplicate=True) == [], "entries without the flag are no duplicates"
    assert len(store.outbox(possible_duplicate=False)) == 5
    older = store.outbox(event_id="evt_x", limit=1, starting_after=everything[2].id)
    assert [e.payload["n"] for e in older] == [1]


def test_headers_are_kept_with_the_event(store):
    event = stripe_like("evt_headers").with_changes(headers={"Content-Type": "application/json"})
    stored = store.record(event).event
    assert store.get(stored.id).headers == {"Content-Type": "application/json"}
    assert store.get(store.record(stripe_like("evt_bare")).event.id).headers == {}


def test_a_file_from_an_older_hub_gains_the_headers_column(tmp_path):
    import sqlite3

    from hub.store.sqlite import _SCHEMA, SQLiteStore

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # the tables as the first release made them
        conn.executescript(_SCHEMA)
        assert "headers" not in {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    store = SQLiteStore(path)
    try:
        stored = store.record(stripe_like("evt_migrated").with_changes(headers={"A": "b"})).event
        assert store.get(stored.id).headers == {"A": "b"}
    finally:
        store.close()
