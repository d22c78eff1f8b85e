"""Weather through real servers: a threaded hub (HUB_TASKS=thread) reading the local fake
OpenWeatherMap, and alerts sent live to the fake Bot API and to Twilio (via `responses`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import requests
import responses

from hub.services import hub_of
from hub.simulate import SignedRequest
from infra.schedules import tick
from integrations.samples import telegram_message, twilio_sms
from tests.auxil.server import serving
from tests.conftest import post
from tests.payments.wire import TWILIO_MESSAGES, form, message_json

LONDON_NOW = "London, GB: broken clouds, 12°C (feels like 10°C), humidity 70%, wind 4 m/s"


def test_weather_by_telegram_and_sms_through_a_threaded_server(weather_app, owm):
    app = weather_app(HUB_TASKS="thread")
    settings = hub_of(app).settings

    with serving(app) as base, requests.Session() as session:

        def deliver(signed: SignedRequest) -> requests.Response:
            return session.post(signed.url(base), data=signed.body, headers=signed.headers, timeout=30)

        chats = [telegram_message(settings, "/weather London", chat_id=300 + i) for i in range(8)]
        # Twilio signs the URL it calls: here the served one (no HUB_PUBLIC_URL set).
        texts = [twilio_sms(settings, base, "WEATHER london", sender=f"+1555000{i:04d}") for i in range(8)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(deliver, chats + texts))
        forecast = deliver(telegram_message(settings, "/forecast Oslo", chat_id=400))
        sms_forecast = deliver(twilio_sms(settings, base, "FORECAST oslo"))
        unknown = deliver(twilio_sms(settings, base, "WEATHER Atlantis"))
        hub_of(app).tasks.drain()

    assert [a.status_code for a in answers] == [200] * 16
    on_telegram, by_sms = answers[:8], answers[8:]
    assert {(a.json()["method"], a.json()["text"]) for a in on_telegram} == {("sendMessage", LONDON_NOW)}
    assert sorted(a.json()["chat_id"] for a in on_telegram) == [str(300 + i) for i in range(8)]
    assert {a.headers["Content-Type"].split(";")[0] for a in by_sms} == {"application/xml"}
    assert {twiml_text(a) for a in by_sms} == {LONDON_NOW}
    assert forecast.json()["text"].startswith("Oslo, NO, next 24 h:")
    assert twiml_text(sms_forecast) == forecast.json()["text"]
    assert "could not find a city called 'Atlantis'" in twiml_text(unknown)
    queries = {(path, q["q"], q["units"]) for path, q in owm.requests}
    assert ("/data/2.5/weather", "london", "metric") in queries
    assert ("/data/2.5/forecast", "oslo", "metric") in queries
    events = hub_of(app).store.events()
    assert len(events) == 19 and {e.status for e in events} == {"done"}


def twiml_text(response: requests.Response) -> str:
    [message] = ElementTree.fromstring(response.text).iter("Message")
    return message.text or ""


@responses.activate
def test_storm_alert_reaches_each_subscriber_once(weather_app, owm, bot_api):
    responses.add_passthru(owm.url)  # OpenWeatherMap is the local fake; only Twilio is mocked
    responses.post(TWILIO_MESSAGES, status=201, json=message_json("SM" + "c" * 32))
    app = weather_app(
        HUB_DRY_RUN="0",
        TELEGRAM_BOT_TOKEN="123:ABC",
        TELEGRAM_API_URL=bot_api.url,
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_FROM_NUMBER="+15550002222",
    )
    client, hub = app.test_client(), hub_of(app)
    # GIVEN two subscribers to Bergen (a thunderstorm with gale winds), one by SMS, and one to London
    for chat_id, city in ((7, "Bergen"), (9, "London")):
        answer = post(client, telegram_message(hub.settings, f"/subscribe {city}", chat_id=chat_id)).json
        assert answer["text"].startswith(f"Subscribed: a daily digest and weather alerts for {city}")
    post(client, twilio_sms(hub.settings, "http://localhost", "SUBSCRIBE bergen", sender="+15550007777"))
    assert bot_api.sent() == [] and len(responses.calls) == 0  # the confirmations rode in the answers

    # WHEN the watch runs, its schedule delivered twice, then again half an hour later
    now = datetime.now(UTC)
    first, again = tick(app, "weather.watch", now), tick(app, "weather.watch", now)
    hub.cache.clear()  # the later run reads a fresh forecast, which still says storm
    later = tick(app, "weather.watch", now + timedelta(minutes=30))

    # THEN each Bergen subscriber has one storm warning, on the channel they subscribed from
    assert (first.duplicate, again.duplicate, later.duplicate) == (False, True, False)
    storm = "Storm warning for Bergen: from about "
    telegram = [(m["chat_id"], m["text"]) for m in bot_api.sent()]
    assert len(telegram) == 1, "London crossed no threshold: nothing for chat 9"
    [(chat, text)] = telegram
    assert chat == "7" and text.startswith(storm) and "wind up to 20 m/s" in text
    sms = [form(c.request.body) for c in responses.calls]
    assert [(s["To"], s["Body"][: len(storm)]) for s in sms] == [("+15550007777", storm)]
    forecasts = [q["q"] for path, q in owm.requests if path.endswith("/forecast")]
    assert forecasts == ["bergen", "london", "bergen", "london"]  # both runs really looked
    alerts = hub.store.events(source="weather")
    assert [(e.provider_id.split(":")[:2], e.status) for e in alerts] == [(["bergen", "storm"], "done")]
