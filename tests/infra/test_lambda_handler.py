"""zappa's Lambda handler, loaded offline with the settings zappa generates for `dev`.

GIVEN the handler as it runs on Lambda, WHEN API Gateway (REST v1, HTTP API v2),
EventBridge and zappa's own async invocation call it, THEN hub answers as the contracts
say and stores each event once.
"""

from __future__ import annotations

import json

import pytest

from hub.config import load_settings
from hub.events import DONE
from hub.simulate import SignedRequest
from infra import lambda_events
from integrations.samples import (
    google_push,
    paypal_event,
    stripe_event,
    telegram_message,
    twilio_form,
    twilio_sms,
)
from tests.conftest import SECRETS
from tests.infra.lambda_harness import lambda_handler, settings_values

STAGE = "dev"
PUBLIC_URL = lambda_events.public_url(STAGE)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:  # noqa: ANN001
    """The deploy environment: secrets and a SQLite file of this test's own."""
    return {
        **SECRETS,
        "PAYPAL_WEBHOOK_ID": "WH-LAMBDA-HOOK",
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_DATABASE": str(tmp_path / "hub.sqlite3"),
        "HUB_PUBLIC_URL": PUBLIC_URL,
    }


@pytest.fixture
def invoke(tmp_path, monkeypatch, env):  # noqa: ANN001, ANN201
    # Dry-run stays on so handlers record outbound calls instead of sending them.
    overrides = {"HUB_DRY_RUN": "1"}
    with lambda_handler(tmp_path, monkeypatch, STAGE, env, environment_overrides=overrides) as call:
        yield call


def _settings(env: dict[str, str]):  # noqa: ANN202
    return load_settings(env, env["HUB_INSTANCE_PATH"], environ={})


def _stored(source: str) -> list:
    from hub.services import hub_of
    from hub.wsgi import app

    return hub_of(app).store.events(source=source, limit=50)


WEBHOOKS = {
    "telegram": lambda s: telegram_message(s, "/help", update_id=424242),
    "stripe": lambda s: stripe_event(s, "checkout.session.completed", event_id="evt_lambda_1"),
    "paypal": lambda s: paypal_event(s, "PAYMENT.CAPTURE.COMPLETED", event_id="WH-LAMBDA-1"),
    "twilio": lambda s: twilio_sms(s, PUBLIC_URL, "HELP", sid="SM" + "1" * 32),
    "twilio-status": lambda s: twilio_form(
        s, PUBLIC_URL, "twilio-status", {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered"}
    ),
    "google": lambda s: google_push(s, number=7),
}
EXPECTED = {
    "telegram": (200, "application/json", "sendMessage"),
    "stripe": (200, "application/json", "received"),
    "paypal": (200, "application/json", "received"),
    "twilio": (200, "application/xml", "<Response>"),
    "twilio-status": (204, None, None),
    "google": (200, "application/json", "received"),
}


def _header(response: dict, name: str) -> str:
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    return headers.get(name.lower(), "")


@pytest.mark.parametrize("shape", ["rest_v1", "http_v2"])
@pytest.mark.parametrize("source", list(WEBHOOKS))
def test_each_webhook_through_api_gateway_is_answered_and_stored_once(invoke, env, shape, source) -> None:
    signed = WEBHOOKS[source](_settings(env))
    event = getattr(lambda_events, shape)(signed, STAGE)

    first = invoke(event)
    again = invoke(getattr(lambda_events, shape)(signed, STAGE))  # a provider's re-delivery

    status, mimetype, marker = EXPECTED[source]
    assert first["statusCode"] == status, first.get("body")
    assert again["statusCode"] == status
    if mimetype:
        assert _header(first, "Content-Type").startswith(mimetype)
        assert marker in first["body"]
    stored = _stored(source.split("-")[0])
    assert len(stored) == 1
    assert stored[0].status == DONE  # HUB_TASKS=lambda runs in-process off Lambda


@pytest.mark.parametrize("shape", ["rest_v1", "http_v2"])
def test_telegram_reply_rides_in_the_response(invoke, env, shape) -> None:
    event = getattr(lambda_events, shape)(telegram_message(_settings(env), "/start", chat_id=77), STAGE)

    body = json.loads(invoke(event)["body"])

    assert body["method"] == "sendMessage"
    assert body["chat_id"] == "77"


@pytest.mark.parametrize("shape", ["rest_v1", "http_v2"])
def test_wrong_secret_is_refused_and_nothing_is_stored(invoke, env, shape) -> None:
    signed = telegram_message(_settings(env), "/help")
    signed.headers["X-Telegram-Bot-Api-Secret-Token"] = "not-the-secret"

    response = invoke(getattr(lambda_events, shape)(signed, STAGE))

    assert response["statusCode"] == 403
    assert json.loads(response["body"])["error"] == "bad_secret_token"
    assert "not-the-secret" not in response["body"]
    assert _stored("telegram") == []


@pytest.mark.parametrize("shape", ["rest_v1", "http_v2"])
def test_twilio_signature_made_for_another_url_is_refused(invoke, env, shape) -> None:
    signed = twilio_sms(_settings({**env, "HUB_PUBLIC_URL": "https://elsewhere.example"}), PUBLIC_URL, "HELP")

    response = invoke(getattr(lambda_events, shape)(signed, STAGE))

    assert response["statusCode"] == 403
    assert _stored("twilio") == []


def test_healthz_answers_through_the_stage_prefix(invoke) -> None:
    event = lambda_events.http_v2(SignedRequest("/healthz", b""), STAGE)
    event["requestContext"]["http"]["method"] = "GET"

    response = invoke(event)

    assert response["statusCode"] == 200
    assert json.loads(response["body"])["tasks"] == "lambda"


def test_generated_settings_never_log_whole_events() -> None:
    values = settings_values(STAGE)

    assert values["DEBUG"] is False
    assert values["LOG_LEVEL"] == "INFO"
    assert values["APP_MODULE"] == "hub.wsgi" and values["APP_FUNCTION"] == "app"
    assert values["ENVIRONMENT_VARIABLES"]["HUB_TASKS"] == "lambda"
    assert "WEBSOCKET_HANDLER_MODULE" not in values
    # An HTTP API sends form posts (Twilio) base64-encoded; zappa decodes them only with this on.
    assert values["BINARY_SUPPORT"] is True


def test_form_posts_arrive_base64_encoded_from_an_http_api_and_are_verified(invoke, env) -> None:
    event = lambda_events.http_v2(twilio_sms(_settings(env), PUBLIC_URL, "HELP", sid="SM" + "3" * 32), STAGE)

    response = invoke(event)

    assert event["isBase64Encoded"] is True  # as AWS sends application/x-www-form-urlencoded
    assert response["statusCode"] == 200 and "<Response>" in response["body"]
    assert [e.provider_id for e in _stored("twilio")] == ["SM" + "3" * 32]
