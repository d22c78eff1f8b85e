"""One contract, two backends: every test here runs on SQLite and on the real Redis."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from hub.events import DEAD, DONE, FAILED, PROCESSING, RECEIVED, ChatMessage, Event
from hub.store import Store
from tests.store.conftest import START, Clock, stripe_like

LEASE = 60.0


# -- record: exactly-once intake ------------------------------------------------------------


def test_record_stores_a_new_event_as_received(store: Store) -> None:
    result = store.record(stripe_like("evt_new"))

    assert not result.duplicate and not result.conflict
    stored = store.get(result.event.id)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.provider_id) == (RECEIVED, 0, "evt_new")
    assert stored.payload == {"id": "evt_new", "type": "invoice.paid", "data": {"object": {"amount": 1200}}}


def test_the_providers_own_json_text_is_stored_and_reads_back_as_the_payload(store: Store) -> None:
    # Key order and spacing as a provider might send them: stored as sent, read back equal.
    text = (
        '{"type": "invoice.paid",\n  "id": "evt_text", "data": {"object": {"amount": 1200, "n": [1, 2.5]}}}'
    )
    payload = json.loads(text)
    event = Event(
        source="stripe", type="invoice.paid", provider_id="evt_text", payload=payload, payload_json=text
    )

    stored = store.get(store.record(event).event.id)

    assert stored is not None and stored.payload == payload


def test_a_new_event_gets_its_own_id_time_and_headers_and_reads_back_field_for_field(
    store: Store,
) -> None:
    first = Event(source="telegram", type="message", provider_id="1", payload={"update_id": 1})
    second = Event(source="telegram", type="message", provider_id="2", payload={"update_id": 2})

    assert first.id != second.id and first.id.startswith("evt_") and len(first.id) == 36
    assert abs(first.received_at - time.time()) < 60
    assert first.headers == {} and first.headers is not second.headers
    given = first.with_changes(
        headers={"User-Agent": "TelegramBot"}, message=ChatMessage("telegram", "1", "/help", sender="7")
    )
    recorded = store.record(given, claim_lease=LEASE).event

    assert store.get(recorded.id) == recorded
    assert (recorded.message, recorded.headers, recorded.status) == (given.message, given.headers, PROCESSING)


def test_a_payload_changed_after_verification_is_stored_as_changed_not_as_the_text(store: Store) -> None:
    verified = Event(
        source="stripe",
        type="invoice.paid",
        provider_id="evt_t2",
        payload={"id": "evt_t2"},
        payload_json='{"id": "evt_t2"}',
    )

    stored = store.get(store.record(verified.with_changes(payload={"id": "evt_t2", "extra": 1})).event.id)

    assert stored is not None
    assert stored.payload == {"id": "evt_t2", "extra": 1}


def test_redelivery_is_a_duplicate_of_the_first_event(store: Store) -> None:
    first = store.record(stripe_like("evt_dup"))
    again = store.record(stripe_like("evt_dup"))  # same body: a plain re-delivery

    assert again.duplicate and not again.conflict
    assert again.event.id == first.event.id
    assert len(store.events()) == 1


def test_same_id_with_a_different_body_is_a_conflict_and_keeps_the_first(store: Store) -> None:
    first = store.record(stripe_like("evt_c", body=b'{"amount": 1}'))
    other = stripe_like("evt_c", body=b'{"amount": 999}').with_changes(payload={"amount": 999})

    result = store.record(other)

    assert result.duplicate and result.conflict
    assert result.event.id == first.event.id
    assert store.get(first.event.id).payload == first.event.payload  # type: ignore[union-attr]
    assert len(store.events()) == 1


def test_same_provider_id_from_another_source_is_a_different_event(store: Store) -> None:
    store.record(stripe_like("42"))
    result = store.record(stripe_like("42", source="telegram"))

    assert not result.duplicate
    assert len(store.events()) == 2


def test_a_stored_event_reads_back_exactly(store: Store, clock: Clock) -> None:
    """Floats, None, empty strings and chat messages survive the backend's encoding."""
    message = ChatMessage(channel="telegram", address="1001", text="/weather Oslo", sender="Sam")
    event = Event(
        source="telegram",
        type="message",
        provider_id="77",
        payload={"n": 1.5, "none": None},
        received_at=START + 0.123456789,
        message=message,
        body_sha256="",
    )
    stored = store.record(event).event
    quiet = store.record(stripe_like("evt_quiet", at=START + 1 / 3)).event

    assert store.get(stored.id) == stored
    assert store.get(quiet.id) == quiet
    assert store.get(quiet.id).message is None  # type: ignore[union-attr]
    claimed = store.claim(quiet.id, lease_seconds=LEASE + 0.25)
    assert store.get(quiet.id) == claimed
    failed = store.fail(claimed, "", retry_at=clock() + 1 / 7)  # type: ignore[arg-type]
    assert store.get(quiet.id) == failed
    assert failed is not None and failed.next_attempt_at == clock() + 1 / 7 and failed.lease_until is None


def test_unknown_id_reads_as_none(store: Store) -> None:
    assert store.get("evt_nope") is None
    assert store.claim("evt_nope", lease_seconds=LEASE) is None


# -- listing --------------------------------------------------------------------------------


def _seed(store: Store) -> dict[str, Event]:
    rows = [
        ("a", "stripe", "invoice.paid", 1),
        ("b", "telegram", "message", 2),
        ("c", "stripe", "checkout.session.completed", 3),
        ("d", "stripe", "invoice.paid", 4),
    ]
    return {
        name: store.record(stripe_like(f"evt_{name}", at=START + offset, source=source, type=type)).event
        for name, source, type, offset in rows
    }


def test_events_are_listed_newest_first(store: Store) -> None:
    seeded = _seed(store)

    assert [e.id for e in store.events()] == [seeded[n].id for n in "dcba"]
    assert [e.id for e in store.events(limit=2)] == [seeded[n].id for n in "dc"]


def test_events_filter_by_source_type_and_status(store: Store) -> None:
    seeded = _seed(store)
    claimed = store.claim(seeded["a"].id, lease_seconds=LEASE)
    store.complete(claimed)  # type: ignore[arg-type]

    assert [e.id for e in store.events(source="stripe")] == [seeded[n].id for n in "dca"]
    assert [e.id for e in store.events(type="invoice.paid")] == [seeded[n].id for n in "da"]
    assert [e.id for e in store.events(status=DONE)] == [seeded["a"].id]
    assert [e.id for e in store.events(source="stripe", status=RECEIVED)] == [seeded[n].id for n in "dc"]
    assert [e.id for e in store.events(source="stripe", type="invoice.paid", limit=1)] == [seeded["d"].id]
    assert store.events(source="twilio") == []


# -- claim, complete, fail ------------------------------------------------------------------


def test_claim_takes_the_event_with_a_lease(store: Store, clock: Clock) -> None:
    event = store.record(stripe_like()).event

    claimed = store.claim(event.id, lease_seconds=LEASE)

    assert claimed is not None
    assert (claimed.status, claimed.attempts, claimed.lease_until) == (PROCESSING, 1, clock() + LEASE)
    assert store.get(event.id) == claimed


def test_a_live_lease_cannot_be_claimed_again_not_even_by_force(store: Store, clock: Clock) -> None:
    event = store.record(stripe_like()).event
    store.claim(event.id, lease_seconds=LEASE)
    clock.advance(LEASE - 1)

    assert store.claim(event.id, lease_seconds=LEASE) is None
    assert store.claim(event.id, lease_seconds=LEASE, force=True) is None
    assert store.get(event.id).attempts == 1  # type: ignore[union-attr]


def test_an_expired_lease_can_be_claimed(store: Store, clock: Clock) -> None:
    event = store.record(stripe_like()).event
    first = store.claim(event.id, lease_seconds=LEASE)
    clock.advance(LEASE + 1)

    second = store.claim(event.id, lease_seconds=LEASE)

    assert second is not None and second.attempts == 2
    assert store.complete(first) is None  # type: ignore[arg-type]  # the lease was lost
    assert store.complete(second) is not None


def test_complete_marks_done_and_done_is_claimed_only_by_force(store: Store) -> None:
    event = store.record(stripe_like()).event
    done = store.complete(store.claim(event.id, lease_seconds=LEASE))  # type: ignore[arg-type]

    assert done is not None and (done.status, done.lease_until, done.last_error) == (DONE, None, "")
    assert store.get(event.id) == done
    assert store.claim(event.id, lease_seconds=LEASE) is None
    replayed = store.claim(event.id, lease_seconds=LEASE, force=True)
    assert replayed is not None and (replayed.status, replayed.attempts) == (PROCESSING, 2)


def test_fail_schedules_a_retry_that_is_claimable_only_once_due(store: Store, clock: Clock) -> None:
    event = store.record(stripe_like()).event
    claimed = store.claim(event.id, lease_seconds=LEASE)

    failed = store.fail(claimed, "ValueError: boom", retry_at=clock() + 30)  # type: ignore[arg-type]

    assert failed is not None
    assert (failed.status, failed.last_error) == (FAILED, "ValueError: boom")
    assert failed.next_attempt_at == clock() + 30
    assert event.id not in store.due()
    assert store.claim(event.id, lease_seconds=LEASE) is None
    clock.advance(30)
    assert store.due() == [event.id]
    retried = store.claim(event.id, lease_seconds=LEASE)
    assert retried is not None and retried.attempts == 2 and retried.next_attempt_at is None


def test_force_claims_a_failed_event_before_its_retry_time(store: Store, clock: Clock) -> None:
    event = store.record(stripe_like()).event
    store.fail(store.claim(event.id, lease_seconds=LEASE), "e", retry_at=clock() + 300)  # type: ignore[arg-type]

    assert store.claim(event.id, lease_seconds=LEASE, force=True) is not None


def test_fail_without_retry_time_is_dead(store: Store, clock: Clock) -> None:
    event = store.record(stripe_like()).event

    dead = store.fail(store.claim(event.id, lease_seconds=LEASE), "x" * 5000, retry_at=None)  # type: ignore[arg-type]

    assert dead is not None and dead.status == DEAD and dead.next_attempt_at is None
    assert len(dead.last_error) == 2000
    assert store.get(event.id) == dead
    clock.advance(86400)
    assert store.due() == []
    assert store.claim(event.id, lease_seconds=LEASE) is None
    assert store.claim(event.id, lease_seconds=LEASE, force=True) is not None


# -- due: what the sweep picks up -------------------------------------------------------------


def test_due_lists_stragglers_expired_leases_and_due_retries_only(store: Store, clock: Clock) -> None:
    straggler = store.record(stripe_like("evt_s"), attention_after=100).event
    leased = store.record(stripe_like("evt_l"), attention_after=100).event
    retry = store.record(stripe_like("evt_r"), attention_after=100).event
    done = store.record(stripe_like("evt_d"), attention_after=100).event
    dead = store.record(stripe_like("evt_x"), attention_after=100).event
    store.claim(leased.id, lease_seconds=150)
    store.fail(store.claim(retry.id, lease_seconds=LEASE), "e", retry_at=clock() + 120)  # type: ignore[arg-type]
    store.complete(store.claim(done.id, lease_seconds=LEASE))  # type: ignore[arg-type]
    store.fail(store.claim(dead.id, lease_seconds=LEASE), "e", retry_at=None)  # type: ignore[arg-type]

    assert store.due() == []
    clock.advance(100)
    assert store.due() == [straggler.id]
    clock.advance(20)
    assert sorted(store.due()) == sorted([straggler.id, retry.id])
    clock.advance(30)
    assert sorted(store.due()) == sorted([straggler.id, retry.id, leased.id])
    assert len(store.due(limit=2)) == 2
    clock.advance(86400)
    assert done.id not in store.due() and dead.id not in store.due()


# -- purge: retention and dedup memory ---------------------------------------------------------


def test_purge_forgets_old_events_and_their_dedup_memory(
    open_store: Callable[..., Store], clock: Clock
) -> None:
    store = open_store(dedup_days=7)
    old = store.record(stripe_like("evt_old", at=clock())).event
    clock.advance(3 * 86400)
    young = store.record(stripe_like("evt_young", at=clock())).event
    clock.advance(4 * 86400 + 1)

    assert store.purge() == 1

    assert store.get(old.id) is None
    assert store.get(young.id) is not None
    assert [e.id for e in store.events()] == [young.id]
    assert [e.id for e in store.events(source="stripe", status=RECEIVED)] == [young.id]
    assert [e.id for e in store.events(type="invoice.paid")] == [young.id]
    assert old.id not in store.due()
    again = store.record(stripe_like("evt_old", at=clock()))
    assert not again.duplicate  # forgotten: a re-delivery is a new event
    assert store.record(stripe_like("evt_young", at=clock())).duplicate


def test_purge_forgets_old_outbox_entries(open_store: Callable[..., Store], clock: Clock) -> None:
    store = open_store(dedup_days=1)
    store.add_outbox("telegram", "send", {}, event_id="evt_1", status="sent", ref="r1", key="k1")
    clock.advance(86400 + 1)
    kept = store.add_outbox("telegram", "send", {}, event_id="evt_1", status="sent", ref="r1b", key="k1b")
    clock.advance(1)
    young = store.add_outbox("telegram", "send", {}, event_id="evt_2", status="sent", key="k2")

    store.purge()

    assert store.outbox() == [young, kept]
    assert store.outbox(event_id="evt_1") == [kept]
    assert store.outbox_by_key("k1") is None
    assert store.update_outbox("r1", status="delivered") is None
    assert store.outbox_by_key("k2") == young


# -- outbox ---------------------------------------------------------------------------------


def test_outbox_lists_newest_first_and_filters_by_event(store: Store, clock: Clock) -> None:
    first = store.add_outbox(
        "telegram",
        "send_message",
        {"text": "hi", "n": 1.5},
        event_id="evt_1",
        status="recorded",
        key="evt_1:telegram:send_message:1",
        response={"message_id": 7},
    )
    clock.advance(1)
    second = store.add_outbox("twilio", "send_sms", {"to": "+1"}, event_id="evt_2", status="sent", ref="SM1")
    clock.advance(1)
    third = store.add_outbox("stripe", "checkout", {}, event_id=None, status="failed", detail="boom")

    assert store.outbox() == [third, second, first]
    assert store.outbox(limit=2) == [third, second]
    assert store.outbox(event_id="evt_1") == [first]
    assert store.outbox(event_id="evt_9") == []
    assert first.response == {"message_id": 7} and third.response is None


def test_outbox_update_by_provider_ref(store: Store) -> None:
    entry = store.add_outbox("twilio", "send_sms", {"to": "+1"}, event_id="evt_1", status="sent", ref="SM1")

    updated = store.update_outbox("SM1", status="delivered", detail="ok")

    assert updated is not None
    assert (updated.id, updated.status, updated.detail) == (entry.id, "delivered", "ok")
    assert store.outbox() == [updated]
    assert store.update_outbox("SM_unknown", status="delivered") is None


def test_outbox_update_changes_only_status_and_detail(store: Store, clock: Clock) -> None:
    """Every other field reads back identically: exact float times, empty lists and dicts."""
    clock.advance(0.123456789)
    payload = {"to": "+1", "media": [], "opts": {}, "nested": {"ids": [1, 2.5], "none": None}, "n": 1.0}
    entry = store.add_outbox(
        "twilio",
        "send_sms",
        payload,
        event_id="evt_1",
        status="sent",
        ref="SM1",
        key="k",
        response={"sid": "SM1", "price": None, "tags": []},
    )

    updated = store.update_outbox("SM1", status="delivered", detail="ok")

    expected = replace(entry, status="delivered", detail="ok")
    assert updated == expected and store.outbox() == [expected]
    assert repr(store.outbox()[0]) == repr(expected)  # same types too: 1.0 stays a float, [] a list


def test_outbox_by_key_finds_the_first_call_with_that_key(store: Store, clock: Clock) -> None:
    first = store.add_outbox("telegram", "send", {"a": 1}, event_id="evt_1", status="recorded", key="k")
    clock.advance(1)
    store.add_outbox("telegram", "send", {"a": 2}, event_id="evt_1", status="recorded", key="k")

    assert store.outbox_by_key("k") == first
    assert store.outbox_by_key("other") is None


# -- kv -------------------------------------------------------------------------------------


def test_kv_put_get_items_and_delete(store: Store) -> None:
    store.kv_put("subs", "1001", {"city": "Oslo", "t": 1.5})
    store.kv_put("subs", "1000", {"city": "Rome"})
    store.kv_put("other", "1001", {"x": None})
    store.kv_put("subs", "1001", {"city": "Bergen"})  # overwrite

    assert store.kv_get("subs", "1001") == {"city": "Bergen"}
    assert store.kv_get("subs", "404") is None
    assert store.kv_items("subs") == {"1000": {"city": "Rome"}, "1001": {"city": "Bergen"}}
    assert store.kv_items("other") == {"1001": {"x": None}}

    store.kv_put("subs", "1000", None)
    store.kv_put("subs", "never", None)  # deleting what is not there is fine

    assert store.kv_get("subs", "1000") is None
    assert store.kv_items("subs") == {"1001": {"city": "Bergen"}}
    assert store.kv_items("empty") == {}


def test_kv_keeps_an_empty_dict(store: Store) -> None:
    store.kv_put("ns", "k", {})

    assert store.kv_get("ns", "k") == {}
    assert store.kv_items("ns") == {"k": {}}


# -- health ---------------------------------------------------------------------------------


def test_ping_answers_true_when_reachable(store: Store) -> None:
    assert store.ping() is True


@pytest.mark.parametrize("limit", [0, -1])
def test_a_non_positive_limit_lists_nothing(store: Store, limit: int) -> None:
    store.record(stripe_like())
    store.add_outbox("telegram", "send", {}, event_id=None, status="recorded")

    assert store.events(limit=limit) == []
    assert store.outbox(limit=limit) == []
    assert store.due(limit=limit) == []


def test_filters_reach_past_the_newest_events(store: Store) -> None:
    """A filter finds an old match behind a page of newer events that do not match."""
    old = store.record(stripe_like("evt_old", source="telegram", at=START)).event
    for n in range(250):
        store.record(stripe_like(f"evt_{n}", at=START + 1 + n))

    assert store.events(source="telegram") == [old]
    assert len(store.events(source="stripe", limit=1000)) == 250


def test_unicode_and_whole_number_times_read_back(store: Store) -> None:
    message = ChatMessage(channel="sms", address="+4790000000", text="Været i Tromsø ✓")
    event = Event(
        source="twilio",
        type="sms.received",
        provider_id="SM1",
        payload={"Body": "Været ✓"},
        received_at=1_700_000_000,
        message=message,
    )

    stored = store.record(event).event

    assert store.get(stored.id) == stored
    assert store.get(stored.id).received_at == 1_700_000_000.0  # type: ignore[union-attr]


def test_a_retention_under_one_day_is_refused(open_store: Callable[..., Store]) -> None:
    with pytest.raises(ValueError, match="dedup_days"):
        open_store(dedup_days=0)
