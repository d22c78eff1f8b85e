"""The outbox records a live call before making it, and tells what a rerun found."""

from __future__ import annotations

import pytest

from hub.outbox import Outbox


@pytest.fixture(params=["sqlite", "redis"])
def store(request, make_app):  # noqa: ANN001, ANN201
    config = request.getfixturevalue("redis_config") if request.param == "redis" else {}
    from hub.services import hub_of

    return hub_of(make_app(config)).store


def test_a_live_call_is_sending_while_it_is_made(store) -> None:  # noqa: ANN001
    outbox = Outbox(store, dry_run=False)
    seen = []

    def send() -> dict:
        seen.append(store.outbox_by_key("k1").status)
        return {"ref": "m1"}

    result = outbox.call("telegram", "sendMessage", {"chat_id": "1"}, send, event_id="evt_1", key="k1")
    assert seen == ["sending"]
    assert (result.entry.status, result.entry.ref, result.entry.possible_duplicate) == ("sent", "m1", False)
    assert store.outbox_by_key("k1").status == "sent"


def test_a_keyed_provider_call_of_unknown_outcome_is_repeated_with_its_key_unflagged(store) -> None:  # noqa: ANN001
    store.add_outbox(
        "stripe",
        "checkout.sessions.create",
        {"idempotency_key": "ik"},
        event_id="evt_1",
        status="sending",
        key="k2",
    )  # a run that died mid-call
    calls = []
    result = Outbox(store, dry_run=False).call(
        "stripe",
        "checkout.sessions.create",
        {"idempotency_key": "ik"},
        lambda: calls.append(1) or {"ref": "cs_1"},
        event_id="evt_1",
        key="k2",
    )
    assert calls == [1]
    assert (result.entry.status, result.entry.possible_duplicate) == ("sent", False)
    assert [e.id for e in store.outbox()] == [result.entry.id], "the same entry, not a second one"


def test_a_failed_call_frees_its_key_so_the_retry_sends_and_a_third_run_reuses_it(store) -> None:  # noqa: ANN001
    outbox = Outbox(store, dry_run=False)

    def boom() -> dict:
        raise RuntimeError("502 from the provider")

    with pytest.raises(RuntimeError):
        outbox.call("telegram", "sendMessage", {}, boom, event_id="evt_1", key="k3")
    second = outbox.call("telegram", "sendMessage", {}, lambda: {"ref": "m2"}, event_id="evt_1", key="k3")
    third = outbox.call("telegram", "sendMessage", {}, boom, event_id="evt_1", key="k3")
    assert (second.reused, third.reused, third.entry.id) == (False, True, second.entry.id)
    assert sorted(e.status for e in store.outbox()) == ["failed", "sent"]
