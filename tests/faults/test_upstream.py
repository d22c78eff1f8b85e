"""Upstream failures in live mode: Telegram 429, Twilio timeouts, Stripe 500s, OpenWeatherMap
down. Each ends in a retry with backoff, a stale answer or a dead letter, and the event log
(`/admin/api/events`) shows what happened."""

from __future__ import annotations

import time

import pytest
import requests
import responses

from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event, telegram_message
from tests.auxil.fake_openweather import API_KEY as OWM_KEY
from tests.auxil.fake_openweather import FakeOpenWeather
from tests.conftest import SECRETS, post

TWILIO_SID = "AC" + "0" * 32
TWILIO_MESSAGES = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
LIVE = {"HUB_DRY_RUN": "0", "HUB_RETRY_BASE_SECONDS": "10"}


def notify(channel: str, address: str):  # noqa: ANN201
    """A router whose invoice.paid handler sends one text on `channel`."""
    router = Router()
    router.add_handler("stripe", "invoice.paid", lambda event, ctx: ctx.send_text(channel, address, "Paid!"))
    return router


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def deliver(app, clock: Clock):  # noqa: ANN001, ANN201
    hub = hub_of(app)
    hub.store.clock = clock
    response = post(app.test_client(), stripe_event(hub.settings, "invoice.paid"))
    assert response.status_code == 200, "the provider is acknowledged whatever happens upstream"
    return hub, response.json["event_id"]


def event_log(app, admin_headers, event_id):  # noqa: ANN001, ANN201
    return app.test_client().get(f"/admin/api/events/{event_id}", headers=admin_headers).json


def delivery_log(app, admin_headers, event_id):  # noqa: ANN001, ANN201
    return app.test_client().get(f"/admin/api/deliveries?event_id={event_id}", headers=admin_headers).json


# PTB 22 warns (a DeprecationWarning, silent outside tests) when RetryAfter is built with
# an int retry_after; under pytest's warnings-as-errors that warning would replace the 429.
@pytest.mark.filterwarnings("ignore::DeprecationWarning:telegram")
def test_telegram_429_is_retried_no_sooner_than_retry_after_and_sent_once(make_app, admin_headers, bot_api):
    api = bot_api
    api.fail("sendMessage", 429, retry_after=30, times=2)
    config = {
        **LIVE,
        "TELEGRAM_BOT_TOKEN": "123456:TEST",
        "TELEGRAM_API_URL": api.url,
        "HUB_RETRY_BASE_SECONDS": "1",
    }
    app = make_app(config, router=notify("telegram", "42"))
    clock = Clock()
    hub, event_id = deliver(app, clock)

    logged = event_log(app, admin_headers, event_id)
    assert logged["status"] == "done", "the handler's run succeeded: the message is a delivery"
    [told] = delivery_log(app, admin_headers, event_id)
    assert told["status"] == "failed" and "rate limit, retry after" in told["last_error"]
    assert logged["outbox"][0]["status"] == "failed"
    waited = hub.store.get_delivery(told["id"]).next_attempt_at - clock.now
    assert waited >= 30, f"retried after {waited:.1f} s though Telegram asked for 30 s"

    clock.now += 10
    assert hub.sweep().deliveries.ran == 0, "too early: Telegram's retry_after has not passed"
    clock.now += 25
    assert hub.sweep().deliveries.failed == 1  # the second 429
    clock.now += 35
    assert hub.sweep().deliveries.sent == 1

    refused = [c for c in api.calls if c.method == "sendMessage" and c.status == 429]
    assert len(refused) == 2 and [m["text"] for m in api.sent()] == ["Paid!"]
    [told] = delivery_log(app, admin_headers, event_id)
    assert (told["status"], told["attempts"]) == ("sent", 3)
    logged = event_log(app, admin_headers, event_id)
    assert sorted(o["status"] for o in logged["outbox"]) == ["failed", "failed", "sent"]


@responses.activate
def test_twilio_timeouts_back_off_then_dead_letter_then_replay_sends_once(make_app, admin_headers) -> None:  # noqa: ANN001
    responses.post(TWILIO_MESSAGES, body=requests.exceptions.ConnectTimeout("connect timed out"))
    config = {
        **LIVE,
        "HUB_MAX_ATTEMPTS": "3",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_FROM_NUMBER": "+15550009999",
    }
    app = make_app(config, router=notify("sms", "+15550002222"))
    clock = Clock()
    hub, event_id = deliver(app, clock)
    assert hub.store.get(event_id).status == "done"
    [told] = delivery_log(app, admin_headers, event_id)

    delays = []
    for _ in range(2):
        delivery = hub.store.get_delivery(told["id"])
        assert delivery.status == "failed"
        delays.append(delivery.next_attempt_at - clock.now)
        clock.now = delivery.next_attempt_at
        hub.sweep()
    assert delays[1] > delays[0] * 0.9, f"backoff grows: {delays}"
    dead = app.test_client().get("/admin/api/deliveries?status=dead", headers=admin_headers).json
    assert [d["id"] for d in dead] == [told["id"]]
    assert "ConnectTimeout" in dead[0]["last_error"]
    assert SECRETS["TWILIO_AUTH_TOKEN"] not in str(delivery_log(app, admin_headers, event_id))
    assert len(responses.calls) == 3

    responses.replace(
        responses.POST, TWILIO_MESSAGES, status=201, json={"sid": "SM" + "1" * 32, "status": "queued"}
    )
    replay = app.test_client().post(f"/admin/api/deliveries/{told['id']}/replay", headers=admin_headers)
    assert replay.status_code == 200
    [told] = delivery_log(app, admin_headers, event_id)
    assert (told["status"], told["attempts"], told["ref"]) == ("sent", 4, "SM" + "1" * 32)
    sent = [o for o in event_log(app, admin_headers, event_id)["outbox"] if o["status"] == "sent"]
    assert len(sent) == 1 and sent[0]["ref"] == "SM" + "1" * 32


@responses.activate
def test_stripe_500s_are_retried_with_one_idempotency_key_then_succeed(make_app, admin_headers) -> None:  # noqa: ANN001
    from integrations.stripe import create_checkout_session

    url = "https://api.stripe.com/v1/checkout/sessions"
    for _ in range(3):
        responses.post(url, status=500, json={"error": {"type": "api_error", "message": "boom"}})
    router = Router()
    router.add_handler(
        "stripe",
        "invoice.paid",
        lambda event, ctx: create_checkout_session(ctx, 500, "eur", "Test", "42"),
    )
    app = make_app({**LIVE, "STRIPE_API_KEY": "sk_test_123"}, router=router)
    clock = Clock()
    hub, event_id = deliver(app, clock)
    assert len(responses.calls) >= 2, "the SDK retries a 500 itself"
    assert event_log(app, admin_headers, event_id)["status"] == "failed"

    session = {"id": "cs_test_1", "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/x"}
    responses.replace(responses.POST, url, json=session)
    clock.now = hub.store.get(event_id).next_attempt_at
    assert hub.sweep().done == 1
    keys = {call.request.headers.get("Idempotency-Key") for call in responses.calls}
    assert len(keys) == 1, "every try of one event uses one idempotency key"


def test_openweathermap_down_serves_the_last_good_reading_marked_stale(make_app) -> None:  # noqa: ANN001
    from integrations.weather import OpenWeather, WeatherUnavailableError

    with FakeOpenWeather() as owm:
        app = make_app({"OPENWEATHER_API_KEY": OWM_KEY, "OPENWEATHER_API_URL": owm.url})
        hub = hub_of(app)
        with app.app_context():
            client = OpenWeather(hub.settings, hub.cache)
            assert client.current("London").stale is False
            owm.failing = True
            hub.cache.delete("weather:weather:london")  # the fresh copy expired
            reading = client.current("London")
            assert reading.stale is True and reading.data["name"] == "London"
            with pytest.raises(WeatherUnavailableError):
                client.current("Oslo")  # nothing good to fall back on
        # Through the bot: a chat command still gets an answer and the event is done.
        response = post(app.test_client(), telegram_message(hub.settings, "/weather Paris"))
        assert response.status_code == 200 and response.json.get("text")
        assert hub.store.events()[0].status == "done"
