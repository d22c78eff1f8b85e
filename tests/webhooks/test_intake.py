"""What every webhook endpoint shares: size limit, JSON errors, disabled sources, no trace."""

from __future__ import annotations

import io

import pytest

from hub.payloads import MAX_BODY_BYTES
from hub.simulate import SignedRequest
from integrations.samples import PATHS
from tests.auxil.events import (
    google_request,
    load_event,
    stripe_request,
    telegram_request,
    twilio_request,
)
from tests.conftest import SECRETS, post
from tests.webhooks.conftest import assert_error, assert_nothing_recorded, assert_rejected

ENDPOINTS = sorted(set(PATHS.values()))


def valid_requests() -> dict[str, SignedRequest]:
    """One correctly signed request per endpoint, from recorded payloads."""
    return {
        "telegram": telegram_request(SECRETS["TELEGRAM_WEBHOOK_SECRET"], load_event("telegram", "message")),
        "stripe": stripe_request(
            SECRETS["STRIPE_WEBHOOK_SECRET"], load_event("stripe", "checkout.session.completed")
        ),
        "twilio": twilio_request(SECRETS["TWILIO_AUTH_TOKEN"], load_event("twilio", "sms.received")),
        "twilio-status": twilio_request(
            SECRETS["TWILIO_AUTH_TOKEN"], load_event("twilio", "sms.status"), source="twilio-status"
        ),
        "google": google_request(SECRETS["GOOGLE_CHANNEL_TOKEN"], load_event("google", "calendar.exists")),
    }


SOURCES = sorted(valid_requests())


def oversized(source: str) -> SignedRequest:
    request = valid_requests()[source]
    request.body = b"x" * (MAX_BODY_BYTES + 1)
    return request


@pytest.mark.parametrize("source", SOURCES)
def test_a_body_over_1_mib_with_content_length_is_413(spy_app, spy_hub, runs, source):
    response = post(spy_app.test_client(), oversized(source))

    assert_rejected(response, spy_hub, runs, 413, "payload_too_large")


@pytest.mark.parametrize("source", SOURCES)
def test_a_chunked_body_over_1_mib_is_413(spy_app, spy_hub, runs, source):
    request = oversized(source)
    # No Content-Length: the server marks the stream as terminated (as for chunked bodies).
    response = spy_app.test_client().post(
        request.path,
        input_stream=io.BytesIO(request.body),
        headers={**request.headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert_rejected(response, spy_hub, runs, 413, "payload_too_large")


@pytest.mark.parametrize("source", SOURCES)
def test_a_body_shorter_than_its_content_length_is_400(spy_app, spy_hub, runs, source):
    request = valid_requests()[source]
    # The client announced more than it sent, then went away: the server's input ends early.
    response = spy_app.test_client().post(
        request.path,
        input_stream=io.BytesIO(request.body),
        headers=request.headers,
        environ_overrides={"CONTENT_LENGTH": str(len(request.body) + 10)},
    )

    assert_rejected(response, spy_hub, runs, 400, "bad_request")


def stripe_event_of(size: int) -> SignedRequest:
    event = load_event("stripe", "checkout.session.completed")
    event["padding"] = ""
    base = len(stripe_request(SECRETS["STRIPE_WEBHOOK_SECRET"], event).body)
    event["padding"] = "p" * (size - base)
    request = stripe_request(SECRETS["STRIPE_WEBHOOK_SECRET"], event)
    assert len(request.body) == size
    return request


def test_a_body_of_exactly_1_mib_is_accepted(client):
    assert post(client, stripe_event_of(MAX_BODY_BYTES)).status_code == 200


def test_a_chunked_body_of_exactly_1_mib_is_accepted(client):
    request = stripe_event_of(MAX_BODY_BYTES)

    response = client.post(
        request.path,
        input_stream=io.BytesIO(request.body),
        headers={**request.headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 200


DISABLED = {
    "HUB_DRY_RUN": "0",
    "TELEGRAM_WEBHOOK_SECRET": "",
    "STRIPE_WEBHOOK_SECRET": "",
    "TWILIO_AUTH_TOKEN": "",
    "GOOGLE_CHANNEL_TOKEN": "",
}


@pytest.mark.parametrize("source", SOURCES)
def test_with_dry_run_off_a_source_without_its_secret_is_503(make_app, spy_router, runs, source):
    app = make_app(DISABLED, router=spy_router)
    from hub.services import hub_of

    response = post(app.test_client(), valid_requests()[source])

    body = assert_error(response, 503, "source_disabled")
    assert "set " in body["message"]
    assert_nothing_recorded(hub_of(app), runs)


def test_a_disabled_source_does_not_affect_a_configured_one(make_app):
    app = make_app({**DISABLED, "STRIPE_WEBHOOK_SECRET": SECRETS["STRIPE_WEBHOOK_SECRET"]})
    client = app.test_client()

    assert post(client, valid_requests()["stripe"]).status_code == 200
    assert post(client, valid_requests()["telegram"]).status_code == 503


@pytest.mark.parametrize("path", ENDPOINTS)
def test_other_methods_get_a_json_405(spy_app, spy_hub, runs, path):
    response = spy_app.test_client().get(path)

    assert_rejected(response, spy_hub, runs, 405)


@pytest.mark.parametrize("source", SOURCES)
def test_an_empty_request_is_a_json_4xx(spy_app, spy_hub, runs, source):
    response = spy_app.test_client().post(valid_requests()[source].path)

    assert 400 <= response.status_code < 500
    assert_rejected(response, spy_hub, runs, response.status_code)


def test_a_rejection_is_logged_for_the_operator_without_the_offered_secret(spy_app, caplog):
    request = valid_requests()["telegram"]
    request.headers["X-Telegram-Bot-Api-Secret-Token"] = "offered-by-a-stranger"

    post(spy_app.test_client(), request)

    [line] = [r.getMessage() for r in caplog.records if r.name == "hub.webhooks"]
    assert line.startswith("telegram webhook rejected: 403 bad_secret_token")
    assert "offered-by-a-stranger" not in line
