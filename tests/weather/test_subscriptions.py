"""Subscriptions, the daily digest and weather alerts, against the local fake OWM."""

from __future__ import annotations

from hub.services import hub_of
from integrations.samples import telegram_message, twilio_sms
from tests.conftest import post


def chat(client, hub, text: str, chat_id: int = 42) -> str:  # noqa: ANN001
    return post(client, telegram_message(hub.settings, text, chat_id=chat_id)).json["text"]


def sends(hub) -> list[tuple[str, str]]:  # noqa: ANN001
    """(address, text) of every message recorded in the outbox, oldest first."""
    entries = reversed(hub.store.outbox())
    return [
        (str(e.payload.get("chat_id") or e.payload.get("to")), e.payload.get("text") or e.payload.get("body"))
        for e in entries
    ]


def test_subscribe_then_daily_digest_reaches_the_chat(weather_app):
    app = weather_app()
    client, hub = app.test_client(), hub_of(app)
    assert chat(client, hub, "/subscribe london") == (
        "Subscribed: a daily digest and weather alerts for London. /unsubscribe to stop."
    )
    hub.emit("schedule", "weather.digest", "digest-1", {})
    assert sends(hub) == [
        ("42", "Good morning! London, GB: broken clouds, 12°C (feels like 10°C), humidity 70%, wind 4 m/s")
    ]


def test_unknown_city_is_not_subscribed(weather_app):
    app = weather_app()
    client, hub = app.test_client(), hub_of(app)
    assert "could not find a city called 'Atlantis'" in chat(client, hub, "/subscribe Atlantis")
    hub.emit("schedule", "weather.digest", "digest-1", {})
    assert sends(hub) == []


def test_unsubscribe_stops_the_digest(weather_app):
    app = weather_app()
    client, hub = app.test_client(), hub_of(app)
    chat(client, hub, "/subscribe London")
    assert chat(client, hub, "/unsubscribe") == "Unsubscribed from weather messages."
    assert chat(client, hub, "/unsubscribe") == "You had no weather subscription here."
    hub.emit("schedule", "weather.digest", "digest-1", {})
    assert sends(hub) == []


def test_watch_alerts_each_subscriber_on_their_channel_once_a_day(weather_app, owm):
    app = weather_app()
    client, hub = app.test_client(), hub_of(app)
    chat(client, hub, "/subscribe Oslo", chat_id=7)
    post(client, twilio_sms(hub.settings, "http://localhost", "SUBSCRIBE oslo", sender="+15550002222"))
    chat(client, hub, "/subscribe Bergen", chat_id=8)
    chat(client, hub, "/subscribe London", chat_id=9)
    chat(client, hub, "/subscribe Paris", chat_id=10)
    owm.requests.clear()

    hub.emit("schedule", "weather.watch", "watch-1", {})
    hub.emit("schedule", "weather.watch", "watch-2", {})  # a second run the same day

    forecasts = [q["q"] for path, q in owm.requests if path.endswith("/forecast")]
    assert sorted(forecasts) == ["bergen", "london", "oslo", "paris"]  # once per city, cached after
    alerts = sorted(e.provider_id.split(":")[:2] for e in hub.store.events(source="weather"))
    assert alerts == [["bergen", "storm"], ["oslo", "frost"], ["paris", "rain"]]
    sent = sends(hub)
    assert ("7", "Frost expected in Oslo: down to -3°C in the next 24 h.") in sent
    assert ("+15550002222", "Frost expected in Oslo: down to -3°C in the next 24 h.") in sent
    assert [a for a, text in sent if text.startswith("Storm warning for Bergen")] == ["8"]
    assert [a for a, text in sent if text.startswith("Rain expected in Paris")] == ["10"]
    assert len(sent) == 4  # London (clouds, 11°C, light wind) crossed no threshold


def test_calendar_subscription_is_separate_from_weather(weather_app):
    app = weather_app()
    client, hub = app.test_client(), hub_of(app)
    assert chat(client, hub, "/subscribe calendar").startswith("You will hear about calendar changes")
    assert chat(client, hub, "/unsubscribe") == "You had no weather subscription here."
    assert chat(client, hub, "/unsubscribe calendar") == "Unsubscribed from calendar news."


def test_sms_unsubscribe_drops_every_subscription_of_the_number(weather_app):
    app = weather_app()
    client, hub = app.test_client(), hub_of(app)
    for text in ("SUBSCRIBE London", "SUBSCRIBE calendar", "UNSUBSCRIBE"):
        post(client, twilio_sms(hub.settings, "http://localhost", text, sender="+15550003333"))
    assert hub.store.kv_items("weather.subscriptions") == {}
    assert hub.store.kv_items("calendar.subscriptions") == {}
