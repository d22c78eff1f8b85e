"""The payment story end to end, live (HUB_DRY_RUN=0), every provider at the wire:

`/pay 15` in Telegram -> a Stripe Checkout link -> Stripe delivers checkout.session.completed
three times -> the chat gets one confirmation, the payer one SMS receipt, the sheet one row.

Stripe and Twilio answer through `responses` (their SDKs use requests), the Bot API through
respx (python-telegram-bot uses httpx), Google through googleapiclient's HttpMockSequence
handed to the app as its Google transport, after a real signed service-account token request.
"""

from __future__ import annotations

import json
import time

import pytest
import responses

from hub.services import hub_of
from integrations.samples import stripe_event, telegram_message
from tests.conftest import post
from tests.google.conftest import (
    ACCESS_TOKEN,
    TOKEN_URI,
    GoogleWire,
    ServiceAccount,
    new_service_account,
)
from tests.payments.wire import (
    LIVE,
    STRIPE_SESSIONS,
    TWILIO_MESSAGES,
    form,
    message_json,
    session_json,
    telegram_api,
)

CHAT = 5150
PHONE = "+447700900456"
SHEET = "sheet-story"
APPENDED = {"updates": {"updatedRange": "Sheet1!A2:F2", "updatedRows": 1}}
SERVER_ERROR = {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}


@pytest.fixture(scope="module")
def account() -> ServiceAccount:
    return new_service_account()


@pytest.fixture
def sheets() -> GoogleWire:
    """Google at the wire: the token endpoint and the Sheets API answer from this sequence."""
    return GoogleWire()


@pytest.fixture
def story(make_app, account, sheets):  # noqa: ANN001, ANN201
    config = {**LIVE, "GOOGLE_SERVICE_ACCOUNT_JSON": account.json_text, "GOOGLE_SHEET_ID": SHEET}
    app = make_app(config, transports=sheets.transports)
    responses.post(STRIPE_SESSIONS, json=session_json("cs_test_story"))
    responses.post(TWILIO_MESSAGES, status=201, json=message_json("SM" + "f" * 32))
    return app.test_client(), hub_of(app)


def pay_and_complete(client, hub) -> tuple[str, str, list[str]]:  # noqa: ANN001
    """GIVEN a chat that asks to pay 15 EUR, WHEN Stripe reports the payment three times.

    Returns the link button's URL, the stored id of the Stripe event, and the sheet row due.
    """
    answer = post(client, telegram_message(hub.settings, "/pay 15 concert ticket", chat_id=CHAT)).json
    assert answer["method"] == "sendMessage" and answer["chat_id"] == str(CHAT)
    [[button]] = answer["reply_markup"]["inline_keyboard"]
    [checkout] = [c for c in responses.calls if c.request.url == STRIPE_SESSIONS]
    sent = form(checkout.request.body)
    assert sent["metadata[telegram_chat_id]"] == str(CHAT)
    session = {
        "id": "cs_test_story",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "status": "complete",
        "amount_total": 1500,
        "currency": "eur",
        "customer_details": {"phone": PHONE, "email": "sam@example.com", "name": "Sam"},
        "metadata": {k[len("metadata[") : -1]: v for k, v in sent.items() if k.startswith("metadata[")},
    }
    delivery = stripe_event(hub.settings, "checkout.session.completed", session, event_id="evt_story_paid")
    answers = [post(client, delivery) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json["duplicate"] for a in answers] == [False, True, True]
    paid_at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(json.loads(delivery.body)["created"]))
    row = [paid_at, "cs_test_story", "15.00 EUR", "concert ticket", "sam@example.com", str(CHAT)]
    return button["url"], answers[0].json["event_id"], row


def appends(wire: GoogleWire) -> list:
    return [r for r in wire.requests if r.path.endswith(":append")]


def assert_one_of_each(chat: list[dict], sheets: GoogleWire, row: list[str]) -> None:
    """THEN one confirmation in the chat, one SMS receipt, one row (raw values) in the sheet."""
    assert [(m["chat_id"], m["text"]) for m in chat] == [
        (str(CHAT), "Payment received: 15.00 EUR for concert ticket. Thank you!")
    ]
    sms = [form(c.request.body) for c in responses.calls if "twilio" in c.request.url]
    assert [(s["To"], s["Body"]) for s in sms] == [
        (PHONE, "Receipt: 15.00 EUR paid for concert ticket. Thank you!")
    ]
    token = sheets.requests[0]
    assert token.uri == TOKEN_URI and token.form()["grant_type"].endswith(":jwt-bearer")
    last = appends(sheets)[-1]
    assert last.uri.startswith(f"https://sheets.googleapis.com/v4/spreadsheets/{SHEET}/values/A1:append?")
    assert last.query["valueInputOption"] == "RAW"
    assert last.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert last.json() == {"values": [row]}
    assert sheets.pending == 0


@responses.activate
def test_pay_then_three_deliveries_make_one_confirmation_one_receipt_one_row(story, sheets):
    client, hub = story
    sheets.token().answer(200, APPENDED)

    with telegram_api() as chat:
        url, event_id, row = pay_and_complete(client, hub)

    assert url == "https://checkout.stripe.com/c/pay/cs_test_story"
    assert_one_of_each(chat, sheets, row)
    assert len(appends(sheets)) == 1
    paid = hub.store.get(event_id)
    assert (paid.status, paid.attempts) == ("done", 1)


@responses.activate
def test_a_failing_sheet_is_retried_by_the_sweep_without_repeating_the_messages(story, sheets):
    client, hub = story
    # 500 to the append and to googleapiclient's own retry of it: the run fails...
    sheets.token().answer(500, SERVER_ERROR).answer(500, SERVER_ERROR)
    sheets.answer(200, APPENDED)  # ...and the sweep's retry goes through

    with telegram_api() as chat:
        _, event_id, row = pay_and_complete(client, hub)
        failed = hub.store.get(event_id)
        assert (failed.status, failed.attempts) == ("failed", 1)
        assert "500" in failed.last_error
        report = hub.sweep()

    assert (report.ran, report.done) == (1, 1)
    assert (hub.store.get(event_id).status, hub.store.get(event_id).attempts) == ("done", 2)
    assert_one_of_each(chat, sheets, row)
    assert len(appends(sheets)) == 3  # two refused, one written: a single row
    google_calls = [(e.action, e.status) for e in reversed(hub.store.outbox()) if e.integration == "google"]
    assert google_calls == [("sheets.values.append", "failed"), ("sheets.values.append", "sent")]
