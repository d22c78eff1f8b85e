"""POST /webhooks/google/calendar: the channel token, then channel id and message number."""

from __future__ import annotations

import pytest

from tests.auxil.events import google_request, load_event
from tests.conftest import SECRETS, post
from tests.webhooks.conftest import assert_rejected

TOKEN = SECRETS["GOOGLE_CHANNEL_TOKEN"]


@pytest.mark.parametrize("name", ["calendar.sync", "calendar.exists"])
def test_a_push_with_the_channel_token_is_recorded(spy_app, spy_hub, runs, name):
    headers = load_event("google", name)

    response = post(spy_app.test_client(), google_request(TOKEN, headers))

    assert response.status_code == 200
    assert response.get_json()["duplicate"] is False
    [event] = spy_hub.store.events()
    assert event.provider_id == f"hub-calendar-5d8f1b2a:{headers['X-Goog-Message-Number']}"
    assert event.payload["resource_state"] == headers["X-Goog-Resource-State"]
    assert event.payload["message_number"] == int(headers["X-Goog-Message-Number"])
    assert len(runs) == 1


def test_the_same_push_twice_is_one_event(spy_app, spy_hub, runs):
    client = spy_app.test_client()
    request = google_request(TOKEN, load_event("google", "calendar.exists"))

    post(client, request)
    again = post(client, request)

    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert len(spy_hub.store.events()) == 1 and len(runs) == 1


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN[:-1], TOKEN + " x"])
def test_a_missing_or_wrong_token_is_403(spy_app, spy_hub, runs, token):
    request = google_request(token, load_event("google", "calendar.exists"))

    assert_rejected(post(spy_app.test_client(), request), spy_hub, runs, 403, "bad_channel_token")


@pytest.mark.parametrize(
    "changes",
    [
        {"X-Goog-Channel-ID": None},
        {"X-Goog-Channel-ID": " "},
        {"X-Goog-Message-Number": None},
        {"X-Goog-Message-Number": "seven"},
        {"X-Goog-Message-Number": "-1"},
        {"X-Goog-Message-Number": "\u00b2"},  # str.isdigit() says yes, int() says no
        {"X-Goog-Message-Number": "9" * 40},
    ],
    ids=["no channel id", "blank channel id", "no number", "word", "negative", "superscript", "huge"],
)
def test_a_push_without_channel_id_or_message_number_is_400(spy_app, spy_hub, runs, changes):
    headers = load_event("google", "calendar.exists")
    for name, value in changes.items():
        headers.pop(name)
        if value is not None:
            headers[name] = value

    assert_rejected(post(spy_app.test_client(), google_request(TOKEN, headers)), spy_hub, runs, 400)


def test_the_token_is_checked_before_the_headers(spy_app, spy_hub, runs):
    response = post(spy_app.test_client(), google_request("wrong", {}))

    assert_rejected(response, spy_hub, runs, 403)
