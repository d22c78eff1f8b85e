"""Replies and outbound messages at the wire: a fake Bot API, the real PTB code path."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import pytest

from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event, telegram_message
from integrations.telegram_send import send_message_params, split_text
from tests.conftest import post
from tests.store.conftest import Clock
from tests.telegram.conftest import TOKEN

PAY_BUTTON = {"inline_keyboard": [[{"text": "Pay 5 EUR", "url": "https://checkout.stripe.com/c/pay/cs_1"}]]}


def replying(*replies: tuple[str, dict]) -> Router:
    """A router whose every chat message is answered with `replies`, in order."""
    router = Router()

    @router.text_fallback
    def answer(event, ctx):
        for text, options in replies:
            ctx.reply(text, **options)

    return router


def send(app, text="hello", **kwargs):
    return post(app.test_client(), telegram_message(hub_of(app).settings, text, **kwargs))


def event_of(app):
    return hub_of(app).store.events(source="telegram")[0]


def delivery_of(app):
    """The one delivery the event's handler told (its first reply rode in the answer)."""
    [delivery] = hub_of(app).store.deliveries(event_id=event_of(app).id)
    return delivery


def test_first_reply_rides_in_the_webhook_answer_the_rest_go_through_the_bot_api(live_app, fake):
    app = live_app(router=replying(("one", {}), ("two", {}), ("three", {})))
    response = send(app, chat_id=42)
    assert response.json == {"method": "sendMessage", "chat_id": "42", "text": "one"}
    assert [(m["chat_id"], m["text"]) for m in fake.sent()] == [("42", "two"), ("42", "three")]
    assert fake.methods().count("getMe") <= 1  # the Bot is initialised once, then reused
    assert event_of(app).status == "done"


def test_inline_keyboard_works_in_the_answer_and_through_the_api(live_app, fake):
    outbound = {"reply_markup": PAY_BUTTON, "parse_mode": "HTML"}
    app = live_app(router=replying(("Pay here:", {"reply_markup": PAY_BUTTON}), ("Or here:", outbound)))
    response = send(app)
    assert response.json["reply_markup"] == PAY_BUTTON
    [sent] = fake.sent()
    assert sent["reply_markup"] == PAY_BUTTON
    assert sent["parse_mode"] == "HTML"


def test_a_malformed_keyboard_is_refused_before_anything_is_sent(live_app, fake):
    app = live_app(router=replying(("a", {}), ("b", {"reply_markup": {"buttons": []}})))
    send(app)
    event = event_of(app)
    assert event.status == "failed"
    assert "reply_markup must be a dict with one of inline_keyboard" in event.last_error
    assert fake.sent() == []


def test_long_texts_are_split_outbound_and_cut_in_the_webhook_answer(live_app, fake):
    words = " ".join(f"word{i}" for i in range(2000))  # about 17,000 characters
    app = live_app(router=replying(("short", {}), (words, {"reply_markup": PAY_BUTTON})))
    send(app)
    sent = fake.sent()
    assert len(sent) == 5
    assert all(len(m["text"]) <= 4096 for m in sent)
    assert " ".join(m["text"] for m in sent) == words  # split between words, nothing lost
    assert [("reply_markup" in m) for m in sent] == [False] * 4 + [True]

    answer = send_message_params("42", words, {})
    assert len(answer["text"]) <= 4096 and answer["text"].endswith("[…]")


def test_split_text_counts_utf16_units_and_cuts_hard_without_breaks():
    emoji = "😀" * 3000  # 2 UTF-16 units each: 6000 units
    pieces = split_text(emoji)
    assert [len(p) for p in pieces] == [2048, 952]
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]
    assert split_text("fits") == ["fits"]


def test_short_flood_wait_is_waited_out_and_sent_once(live_app, fake):
    fake.fail("sendMessage", 429, retry_after=1)
    app = live_app(router=replying(("a", {}), ("b", {})))
    send(app)
    assert [m["text"] for m in fake.sent()] == ["b"]
    assert [c.status for c in fake.calls if c.method == "sendMessage"] == [429, 200]
    assert event_of(app).status == "done"


def test_long_flood_wait_fails_the_delivery_for_a_later_retry(live_app, fake):
    fake.fail("sendMessage", 429, retry_after=30)
    app = live_app(router=replying(("a", {}), ("b", {})))
    hub_of(app).store.clock = clock = Clock(time.time())
    send(app)
    assert event_of(app).status == "done", "the handler's run succeeded; the message waits"
    delivery = delivery_of(app)
    assert delivery.status == "failed" and delivery.next_attempt_at is not None
    assert delivery.next_attempt_at - delivery.updated_at >= 29.9  # as long as Telegram asked
    assert "rate limit, retry after 30 s" in delivery.last_error
    assert fake.sent() == []

    clock.advance(29)
    hub_of(app).sweep()
    assert fake.sent() == [], "not due before Telegram's retry_after"
    clock.advance(2)
    hub_of(app).sweep()
    # "a" rode in the webhook's answer; "b", whose call failed, is made again now.
    assert [m["text"] for m in fake.sent()] == ["b"]
    assert delivery_of(app).status == "sent"
    assert (event_of(app).status, event_of(app).attempts) == ("done", 1), "the run is not repeated"


def test_server_errors_are_retried_briefly(live_app, fake):
    fake.fail("sendMessage", 500, times=2)
    app = live_app(router=replying(("a", {}), ("b", {})))
    send(app)
    assert [m["text"] for m in fake.sent()] == ["b"]
    assert event_of(app).status == "done"


def test_a_lasting_outage_fails_the_delivery_after_three_attempts(live_app, fake):
    fake.fail("sendMessage", 502, times=3)
    app = live_app(router=replying(("a", {}), ("b", {})))
    send(app)
    delivery = delivery_of(app)
    assert delivery.status == "failed"
    assert "Bot API unreachable after 3 attempts" in delivery.last_error
    assert [c.status for c in fake.calls if c.method == "sendMessage"] == [502, 502, 502]


@pytest.mark.parametrize(
    ("status", "description", "shown"),
    [
        (400, "Bad Request: chat not found", "Chat not found"),
        (403, "Forbidden: bot was blocked by the user", "blocked by the user"),
        (403, "Forbidden: user is deactivated", "user is deactivated"),
    ],
)
def test_a_chat_that_cannot_receive_ends_dead_at_once_with_the_reason(
    live_app, fake, status, description, shown
):
    fake.fail("sendMessage", status, description, times=10)
    app = live_app({"HUB_RETRY_BASE_SECONDS": "0"}, router=replying(("a", {}), ("b", {})))
    hub_of(app).store.clock = clock = Clock(time.time())
    send(app)
    delivery = delivery_of(app)
    assert (delivery.status, delivery.attempts) == ("dead", 1), "no retry can make the chat exist"
    assert shown in delivery.last_error and "sendMessage to chat 1001" in delivery.last_error
    [entry] = hub_of(app).store.outbox(event_id=event_of(app).id)
    assert entry.status == "failed" and shown in entry.detail
    clock.advance(3600)
    hub_of(app).sweep()
    assert len([c for c in fake.calls if c.method == "sendMessage"]) == 1, "never sent again"


def test_another_bad_request_is_retried_later(live_app, fake):
    fake.fail("sendMessage", 400, "Bad Request: message text is empty")
    app = live_app(router=replying(("a", {}), ("b", {})))
    send(app)
    delivery = delivery_of(app)
    assert delivery.status == "failed" and delivery.next_attempt_at > delivery.updated_at
    assert "Message text is empty" in delivery.last_error


def test_a_user_who_blocked_the_bot_is_not_retried(live_app, fake):
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    app = live_app(router=replying(("a", {}), ("b", {})))
    send(app)
    event = event_of(app)
    assert event.status == "done"
    [entry] = hub_of(app).store.outbox(event_id=event.id)
    assert entry.status == "failed" and "blocked by the user" in entry.detail


def test_a_rejected_token_is_named_but_never_shown(live_app, fake):
    fake.fail("getMe", 401, "Unauthorized")
    app = live_app(router=replying(("a", {}), ("b", {})))
    send(app)
    delivery = delivery_of(app)
    assert "rejected TELEGRAM_BOT_TOKEN" in delivery.last_error
    assert TOKEN not in delivery.last_error
    assert all(TOKEN not in e.detail for e in hub_of(app).store.outbox())


def test_dry_run_records_and_sends_nothing(make_app, fake):
    app = make_app(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake.url},
        router=replying(("a", {}), ("b", {"reply_markup": PAY_BUTTON})),
    )
    send(app, chat_id=7)
    [entry] = hub_of(app).store.outbox()
    assert (entry.action, entry.status) == ("sendMessage", "recorded")
    assert entry.payload == {"chat_id": "7", "text": "b", "reply_markup": PAY_BUTTON}
    assert fake.calls == []


@pytest.mark.parametrize("between", ["asyncio.run", "a thread's own loop"])
def test_calls_keep_working_across_rebuilt_apps_and_other_event_loops(live_app, fake, between):
    """Tests (and warm Lambdas) build apps again in one process; others use asyncio too."""
    for round_ in range(3):
        app = live_app(router=replying(("a", {}), (f"round {round_}", {})))
        send(app)
        if between == "asyncio.run":
            asyncio.run(asyncio.sleep(0))
        else:
            worker = threading.Thread(target=lambda: asyncio.run(asyncio.sleep(0)))
            worker.start()
            worker.join()
    assert [m["text"] for m in fake.sent()] == ["round 0", "round 1", "round 2"]
    assert fake.methods().count("getMe") == 1


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_a_blocked_recipient_gets_its_own_failure_back_when_rows_share_a_timestamp(
    live_app, fake, request, backend
):
    """Two outbox rows made in the same instant have no order (Redis sorts them by id):
    the blocked chat's delivery must carry that chat's failed call, not the other row."""
    router = Router()
    rounds = itertools.count()

    @router.on("stripe", "invoice.paid")
    def notify(event, ctx):
        n = next(rounds)  # new chats each round: the per-chat limit (1/s) never waits
        ctx.send_text("telegram", f"111{n}", "to the first chat")
        ctx.send_text("telegram", f"222{n}", "to the blocked chat")

    config = request.getfixturevalue("redis_config") if backend == "redis" else {}
    app = live_app(config, router=router)
    store = hub_of(app).store
    store.clock = lambda: float(int(time.time()))  # whole seconds: a round's rows share one timestamp
    for n in range(8):
        fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=f"222{n}")
    for _ in range(8):  # a wrong pick would show within 8 tries with probability 255/256
        assert post(app.test_client(), stripe_event(hub_of(app).settings, "invoice.paid")).status_code == 200
    hub_of(app).tasks.drain()
    deadline = time.monotonic() + 20
    while any(d.status == "pending" for d in store.deliveries(limit=50)) and time.monotonic() < deadline:
        hub_of(app).sweep()  # what a run left due (a chat's second message waits its 1/s slot)
        time.sleep(0.2)

    blocked = [d for d in store.deliveries(limit=50) if d.address.startswith("222")]
    assert len(blocked) == 8
    calls = {entry.id: entry for entry in store.outbox(limit=50)}
    for delivery in blocked:
        assert delivery.status != "sent" and "blocked by the user" in delivery.last_error
        call = calls[delivery.outbox_id]
        assert (call.payload["chat_id"], call.status) == (delivery.address, "failed")
