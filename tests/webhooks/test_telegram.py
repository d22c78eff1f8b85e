"""POST /webhooks/telegram: secret token, content type, Update shape, inline replies."""

from __future__ import annotations

import json

import pytest

from tests.auxil.events import load_event, telegram_request
from tests.conftest import SECRETS, post
from tests.webhooks.conftest import assert_rejected

SECRET = SECRETS["TELEGRAM_WEBHOOK_SECRET"]


def message(text: str = "/help", **changes: object) -> dict:
    update = load_event("telegram", "message")
    update["message"]["text"] = text
    update["message"].update(changes)
    return update


def test_help_is_answered_with_a_send_message_method_in_the_response(client, hub):
    response = post(client, telegram_request(SECRET, message("/help")))

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["method"] == "sendMessage"
    assert body["chat_id"] == "123456789"
    assert "/help" in body["text"] and "/start" in body["text"]
    [event] = hub.store.events()
    assert (event.source, event.type, event.provider_id, event.status) == (
        "telegram",
        "message",
        "918273645",
        "done",
    )
    assert hub.store.outbox() == []  # the reply rode in the response: nothing was sent


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", None])
def test_json_with_a_charset_or_without_a_content_type_is_read_as_json(client, hub, content_type):
    response = post(client, telegram_request(SECRET, message("/help"), content_type=content_type))

    assert response.status_code == 200
    assert response.get_json()["method"] == "sendMessage"


@pytest.mark.parametrize("name", ["callback_query", "edited_message", "my_chat_member"])
def test_other_update_kinds_are_recorded_and_acknowledged(spy_app, spy_hub, runs, name):
    update = load_event("telegram", name)

    response = post(spy_app.test_client(), telegram_request(SECRET, update))

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    [event] = spy_hub.store.events()
    assert (event.type, event.provider_id) == (name, str(update["update_id"]))
    assert event.payload == update
    assert runs.ids() == [str(update["update_id"])]


def test_an_update_without_a_chat_reply_is_answered_with_an_empty_object(client):
    response = post(client, telegram_request(SECRET, load_event("telegram", "my_chat_member")))

    assert response.status_code == 200
    assert response.get_json() == {}


def test_missing_secret_token_is_401(spy_app, spy_hub, runs):
    response = post(spy_app.test_client(), telegram_request(None, message()))

    assert_rejected(response, spy_hub, runs, 401, "missing_secret_token")


@pytest.mark.parametrize("token", ["wrong", SECRET[:-1], SECRET + "x", SECRET.upper()])
def test_wrong_secret_token_is_403(spy_app, spy_hub, runs, token):
    response = post(spy_app.test_client(), telegram_request(token, message()))

    body = assert_rejected(response, spy_hub, runs, 403, "bad_secret_token")
    assert token not in json.dumps(body)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_by_type_is_415(spy_app, spy_hub, runs, content_type):
    request = telegram_request(SECRET, message(), content_type=content_type)

    response = post(spy_app.test_client(), request)

    assert_rejected(response, spy_hub, runs, 415, "unsupported_media_type")


def test_the_token_is_checked_before_the_content_type(spy_app, spy_hub, runs):
    response = post(spy_app.test_client(), telegram_request("wrong", "x", content_type="text/plain"))

    assert_rejected(response, spy_hub, runs, 403)


BAD_BODIES = {
    "malformed JSON": b'{"update_id": 1, "message": ',
    "not UTF-8": b'{"update_id": 1, "x": "\xff"}',
    "a list": b"[1, 2]",
    "a string": b'"update"',
    "NaN": b'{"update_id": NaN}',
    "no update_id": json.dumps({"message": message()["message"]}).encode(),
    "string update_id": json.dumps({**message(), "update_id": "918273645"}).encode(),
    "boolean update_id": json.dumps({**message(), "update_id": True}).encode(),
    "float update_id": json.dumps({**message(), "update_id": 1.5}).encode(),
    "message not an object": json.dumps({"update_id": 1, "message": "hi"}).encode(),
    "message without chat": json.dumps({"update_id": 1, "message": {"message_id": 1, "date": 0}}).encode(),
    "chat not an object": json.dumps(message(chat=[1])).encode(),
    "chat id a string": json.dumps(message(chat={"id": "abc", "type": "private"})).encode(),
    "text a number": json.dumps(message(text=5)).encode(),
    "date out of range": json.dumps(message(date=10**20)).encode(),
    "entities not a list": json.dumps(message(entities="bold")).encode(),
    "from without id": json.dumps(message(**{"from": {"is_bot": False}})).encode(),
    "callback_query not an object": json.dumps({"update_id": 1, "callback_query": [1]}).encode(),
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_body_that_is_not_an_update_is_400(spy_app, spy_hub, runs, body):
    response = post(spy_app.test_client(), telegram_request(SECRET, body))

    assert_rejected(response, spy_hub, runs, 400, "bad_payload")


def test_the_same_update_twice_is_stored_and_handled_once(spy_app, spy_hub, runs):
    client = spy_app.test_client()
    request = telegram_request(SECRET, message("hello"))

    first, second = post(client, request), post(client, request)

    assert first.get_json()["text"] == "you said: hello"
    assert second.status_code == 200 and second.get_json() == {}
    assert len(spy_hub.store.events()) == 1
    assert runs.ids() == ["918273645"]


def test_a_known_update_id_with_a_different_body_is_flagged_and_not_merged(spy_app, spy_hub, runs, caplog):
    client = spy_app.test_client()

    post(client, telegram_request(SECRET, message("first")))
    response = post(client, telegram_request(SECRET, message("second")))

    assert response.status_code == 200 and response.get_json() == {}
    [event] = spy_hub.store.events()
    assert event.payload["message"]["text"] == "first"
    assert [e.message.text for e in runs] == ["first"]
    assert any(r.levelname == "WARNING" and "different body" in r.getMessage() for r in caplog.records)
