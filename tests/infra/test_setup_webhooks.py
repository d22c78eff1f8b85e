"""`hub setup-webhooks` and `hub doctor`, with every provider mocked at the wire."""

from __future__ import annotations

import json
import re
import urllib.parse

import httpx
import pytest
import responses
import respx

from hub.cli import main
from hub.services import hub_of

TOKEN = "123456:test-bot-token-abcdef"
URL = "https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod"
LIVE = {
    "HUB_DRY_RUN": "0",
    "HUB_STAGE": "prod",
    "HUB_PUBLIC_URL": URL,
    "TELEGRAM_BOT_TOKEN": TOKEN,
    "STRIPE_API_KEY": "sk_test_123456789",
    "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
    "TWILIO_FROM_NUMBER": "+15550001234",
}
TG = f"https://api.telegram.org/bot{TOKEN}"
TWILIO_NUMBERS = (
    f"https://api.twilio.com/2010-04-01/Accounts/{LIVE['TWILIO_ACCOUNT_SID']}/IncomingPhoneNumbers"
)


def invoke(app, *args):  # noqa: ANN001, ANN201
    return app.test_cli_runner().invoke(main, list(args))


def _ok(result: object) -> httpx.Response:
    return httpx.Response(200, json={"ok": True, "result": result})


@pytest.fixture
def telegram(request):  # noqa: ANN001, ANN201
    """A bot whose current webhook URL is `current_url` (set by the test through the route)."""
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{TG}/getMe").mock(
            _ok({"id": 1, "is_bot": True, "first_name": "hub", "username": "hub_prod_bot"})
        )
        mock.state = {"url": ""}
        mock.post(f"{TG}/getWebhookInfo").mock(
            side_effect=lambda req: _ok(
                {
                    "url": mock.state["url"],
                    "has_custom_certificate": False,
                    "pending_update_count": 0,
                    "allowed_updates": ["message", "edited_message", "callback_query", "pre_checkout_query"],
                }
            )
        )
        mock.set_webhook = mock.post(f"{TG}/setWebhook").mock(_ok(True))
        yield mock


def _stripe_and_twilio(rsps: responses.RequestsMock, *, endpoints: list[dict], sms_url: str = "") -> None:
    rsps.get(
        "https://api.stripe.com/v1/webhook_endpoints",
        json={"object": "list", "data": endpoints, "has_more": False, "url": "/v1/webhook_endpoints"},
    )
    rsps.post(
        "https://api.stripe.com/v1/webhook_endpoints",
        json={
            "id": "we_new",
            "object": "webhook_endpoint",
            "url": f"{URL}/webhooks/stripe",
            "enabled_events": ["checkout.session.completed"],
            "secret": "whsec_created_secret",
        },
    )
    number = {
        "sid": "PN" + "b" * 32,
        "phone_number": LIVE["TWILIO_FROM_NUMBER"],
        "sms_url": sms_url,
        "sms_method": "POST",
        "account_sid": LIVE["TWILIO_ACCOUNT_SID"],
    }
    rsps.get(
        re.compile(re.escape(TWILIO_NUMBERS) + r"\.json.*"),
        json={
            "incoming_phone_numbers": [number],
            "meta": {"key": "incoming_phone_numbers", "next_page_url": None},
        },
    )
    updated = {**number, "sms_url": f"{URL}/webhooks/twilio/sms"}
    rsps.post(f"{TWILIO_NUMBERS}/{number['sid']}.json", json=updated)


def test_first_run_registers_every_configured_provider(make_app, telegram) -> None:
    app = make_app(LIVE)
    with responses.RequestsMock() as rsps:
        _stripe_and_twilio(rsps, endpoints=[])
        result = invoke(app, "setup-webhooks", "--url", URL)
        stripe_create = [c for c in rsps.calls if c.request.method == "POST" and "stripe" in c.request.url]
        twilio_update = [c for c in rsps.calls if c.request.method == "POST" and "twilio" in c.request.url]

    assert result.exit_code == 0, result.output
    body = telegram.set_webhook.calls.last.request.content.decode()
    sent = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
    assert sent["url"] == f"{URL}/webhooks/telegram"
    assert sent["secret_token"] == "test-telegram-secret"
    assert "message" in json.loads(sent["allowed_updates"])
    form = urllib.parse.parse_qs(stripe_create[0].request.body)
    assert form["url"] == [f"{URL}/webhooks/stripe"]
    handled = handled_stripe_types(app)
    enabled = [form[f"enabled_events[{i}]"][0] for i in range(len(handled))]
    assert "checkout.session.completed" in enabled
    assert enabled == handled, "the endpoint subscribes to exactly the types hub handles"
    assert "whsec_created_secret" in result.output  # shown once, to be stored
    assert urllib.parse.parse_qs(twilio_update[0].request.body)["SmsUrl"] == [f"{URL}/webhooks/twilio/sms"]


def handled_stripe_types(app) -> list[str]:
    registrations = hub_of(app).router.registrations()
    return sorted(t for (source, t) in registrations if source == "stripe" and t != "*")


def test_second_run_changes_nothing_at_stripe_and_twilio(make_app, telegram) -> None:
    app = make_app(LIVE)
    telegram.state["url"] = f"{URL}/webhooks/telegram"
    existing = {
        "id": "we_1",
        "object": "webhook_endpoint",
        "url": f"{URL}/webhooks/stripe",
        "enabled_events": handled_stripe_types(app),
    }
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _stripe_and_twilio(rsps, endpoints=[existing], sms_url=f"{URL}/webhooks/twilio/sms")
        result = invoke(app, "setup-webhooks", "--url", URL)
        writes = [c for c in rsps.calls if c.request.method == "POST"]

    assert result.exit_code == 0, result.output
    assert writes == []
    assert result.output.count("unchanged") == 3


def test_dry_run_changes_nothing_anywhere(make_app, telegram) -> None:
    app = make_app(LIVE)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _stripe_and_twilio(rsps, endpoints=[])
        result = invoke(app, "setup-webhooks", "--url", URL, "--dry-run")
        writes = [c for c in rsps.calls if c.request.method == "POST"]

    assert result.exit_code == 0, result.output
    assert writes == [] and not telegram.set_webhook.called
    assert "dry run" in result.output and "create" in result.output


def test_refuses_to_point_this_stages_bot_at_another_stages_url(make_app, telegram) -> None:
    app = make_app(LIVE)  # the prod bot token

    result = invoke(app, "setup-webhooks", "--url", URL.replace("/prod", "/dev"))

    assert result.exit_code != 0
    assert "stage 'dev'" in result.output and "'prod'" in result.output
    assert not telegram.set_webhook.called


def test_refuses_a_bot_that_already_serves_another_stage(make_app, telegram) -> None:
    app = make_app(LIVE)
    telegram.state["url"] = URL.replace("/prod", "/dev") + "/webhooks/telegram"

    result = invoke(app, "setup-webhooks", "--url", URL)

    assert result.exit_code != 0
    assert "each stage needs its own bot" in result.output
    assert not telegram.set_webhook.called


def test_refuses_without_a_stage(make_app, telegram) -> None:
    app = make_app({**LIVE, "HUB_STAGE": ""})

    result = invoke(app, "setup-webhooks", "--url", URL)

    assert result.exit_code != 0 and "HUB_STAGE" in result.output


def test_doctor_reports_each_provider_and_fails_on_a_refused_key(make_app, telegram) -> None:
    app = make_app({**LIVE, "REDIS_URL": "", "HUB_TASKS": "inline", "OPENWEATHER_API_KEY": "owm-bad-key"})
    with responses.RequestsMock() as rsps:
        rsps.get("https://api.stripe.com/v1/account", json={"id": "acct_123", "object": "account"})
        rsps.get(
            f"https://api.twilio.com/2010-04-01/Accounts/{LIVE['TWILIO_ACCOUNT_SID']}.json",
            json={"sid": LIVE["TWILIO_ACCOUNT_SID"], "status": "active"},
        )
        rsps.get(
            re.compile(r"https://api\.openweathermap\.org/data/2\.5/weather.*"),
            status=401,
            json={"cod": 401, "message": "Invalid API key"},
        )
        result = invoke(app, "doctor")

    assert result.exit_code == 1
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.strip()}
    assert lines["telegram"].startswith("ok") and "@hub_prod_bot" in lines["telegram"]
    assert lines["stripe"].startswith("ok") and "acct_123" in lines["stripe"]
    assert lines["twilio"].startswith("ok") and "active" in lines["twilio"]
    assert lines["weather"].startswith("FAIL") and "OPENWEATHER_API_KEY" in lines["weather"]
    assert "owm-bad-key" not in result.output
    assert lines["google"].startswith("warn") and "GOOGLE_SERVICE_ACCOUNT_JSON" in lines["google"]


def test_doctor_says_lambda_tasks_need_redis(make_app) -> None:
    app = make_app({"HUB_TASKS": "lambda", "HUB_DRY_RUN": "0", "HUB_STAGE": "dev", "HUB_PUBLIC_URL": URL})

    result = invoke(app, "doctor")

    assert result.exit_code == 1
    assert "set REDIS_URL" in result.output
    assert hub_of(app).settings.hub_tasks == "lambda"


# -- Google: the calendar push channel, opened through the calendar.renew handler ---------

GOOGLE_ONLY = {
    "HUB_DRY_RUN": "0",
    "HUB_STAGE": "prod",
    "HUB_PUBLIC_URL": URL,
    "GOOGLE_CALENDAR_ID": "team@example.com",
}
CALENDAR_ADDRESS = f"{URL}/webhooks/google/calendar"
WATCH_PATH = "/calendar/v3/calendars/team%40example.com/events/watch"


@pytest.fixture
def google_wire():  # noqa: ANN201
    from tests.google.conftest import GoogleWire

    return GoogleWire()


@pytest.fixture
def google_app(make_app, google_wire):  # noqa: ANN001, ANN201
    from tests.google.conftest import new_service_account

    key = new_service_account().json_text
    config = {**GOOGLE_ONLY, "GOOGLE_SERVICE_ACCOUNT_JSON": key}
    return lambda **extra: make_app({**config, **extra}, transports=google_wire.transports)


def _channel(channel_id: str, resource_id: str, days: float = 7) -> dict:
    import time

    expires = int((time.time() + days * 86400) * 1000)
    return {"kind": "api#channel", "id": channel_id, "resourceId": resource_id, "expiration": str(expires)}


def _google_line(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith("google")]
    return line


def test_google_opens_the_calendar_channel_once(google_app, google_wire) -> None:
    app = google_app()
    hub = hub_of(app)
    google_wire.token().answer(200, _channel("chan-1", "res-1"))
    google_wire.answer(200, {"items": [], "nextSyncToken": "sync-1"})  # the renew handler's baseline

    first = invoke(app, "setup-webhooks", "--url", URL)

    assert first.exit_code == 0, first.output
    _token, watch, listing = google_wire.requests
    assert (watch.method, watch.path) == ("POST", WATCH_PATH)
    body = watch.json()
    assert body["type"] == "web_hook" and body["address"] == CALENDAR_ADDRESS
    assert body["token"] == "test-google-channel-token"  # what the webhook then checks
    assert listing.path.endswith("/events") and "syncToken" not in listing.query
    line = _google_line(first.output)
    assert "create" in line and "chan-1" in line and CALENDAR_ADDRESS in line
    assert "test-google-channel-token" not in first.output
    assert hub.store.kv_get("google.calendar", "channel")["id"] == "chan-1"
    renewals = hub.store.events(source="schedule")
    assert [(e.type, e.status) for e in renewals] == [("calendar.renew", "done")]

    second = invoke(app, "setup-webhooks", "--url", URL)

    assert second.exit_code == 0, second.output
    assert "unchanged" in _google_line(second.output) and "chan-1" in _google_line(second.output)
    assert len(google_wire.requests) == 3  # nothing more was sent
    assert len(hub.store.events(source="schedule")) == 1


def test_google_replaces_a_channel_that_points_at_an_old_address(google_app, google_wire) -> None:
    app = google_app()
    hub = hub_of(app)
    old = {**_channel("chan-old", "res-old"), "address": "https://old.example.com/webhooks/google/calendar"}
    hub.store.kv_put("google.calendar", "channel", old)
    hub.store.kv_put("google.calendar", "sync", {"token": "sync-1"})
    google_wire.token().answer(200, _channel("chan-2", "res-2")).answer(204)

    result = invoke(app, "setup-webhooks", "--url", URL)

    assert result.exit_code == 0, result.output
    _token, watch, stop = google_wire.requests
    assert watch.json()["address"] == CALENDAR_ADDRESS
    assert stop.path == "/calendar/v3/channels/stop"
    assert stop.json() == {"id": "chan-old", "resourceId": "res-old"}
    assert "create" in _google_line(result.output) and "chan-2" in _google_line(result.output)


def test_google_refuses_a_url_other_than_the_public_url(google_app, google_wire) -> None:
    app = google_app()
    other = "https://hub.example.com"  # a custom domain: no stage in the path, so only Google objects

    result = invoke(app, "setup-webhooks", "--url", other)

    assert result.exit_code == 1
    line = _google_line(result.output)
    assert "refused" in line and f"HUB_PUBLIC_URL={other}" in line
    assert google_wire.requests == []
    assert hub_of(app).store.kv_get("google.calendar", "channel") is None


def test_google_refuses_without_a_channel_token(google_app, google_wire) -> None:
    app = google_app(GOOGLE_CHANNEL_TOKEN="")

    result = invoke(app, "setup-webhooks", "--url", URL)

    assert result.exit_code == 1
    assert "refused" in _google_line(result.output) and "GOOGLE_CHANNEL_TOKEN" in result.output
    assert google_wire.requests == []


def test_google_dry_run_sends_nothing(google_app, google_wire) -> None:
    app = google_app()

    result = invoke(app, "setup-webhooks", "--url", URL, "--dry-run")

    assert result.exit_code == 0, result.output
    line = _google_line(result.output)
    assert "create" in line and CALENDAR_ADDRESS in line
    assert google_wire.requests == []
    hub = hub_of(app)
    assert hub.store.kv_get("google.calendar", "channel") is None
    assert hub.store.events() == [] and hub.store.outbox() == []


def test_google_refusing_the_watch_is_a_failure(google_app, google_wire) -> None:
    app = google_app()
    denied = {"error": {"code": 403, "message": "The caller does not have permission"}}
    google_wire.token().answer(403, denied)

    result = invoke(app, "setup-webhooks", "--url", URL)

    assert result.exit_code == 1
    line = _google_line(result.output)
    assert "failed" in line and "does not have permission" in line
    assert hub_of(app).store.kv_get("google.calendar", "channel") is None


def test_google_refuses_while_hub_only_records_calls(google_app, google_wire) -> None:
    app = google_app(HUB_DRY_RUN="1")  # the renew handler would record the watch, not send it

    result = invoke(app, "setup-webhooks", "--url", URL)

    assert result.exit_code == 1
    assert "refused" in _google_line(result.output) and "HUB_DRY_RUN=0" in result.output
    assert google_wire.requests == []
    assert hub_of(app).store.kv_get("google.calendar", "channel") is None
