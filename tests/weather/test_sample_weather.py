"""The offline sample weather (dry-run, no OPENWEATHER_API_KEY): plausible, and always labelled."""

from __future__ import annotations

import pytest

from handlers.subscriptions import STORM_WIND, find_alerts
from hub.services import hub_of
from integrations import weather
from integrations.samples import telegram_message
from integrations.weather import SNOW_AT_C, sample_payload
from tests.conftest import post

CITIES = [f"{prefix}{n}" for prefix in ("Town ", "Porto ", "Nord") for n in range(120)] + [
    "Paris",
    "London",
    "Oslo",
    "Lima",
    "Reykjavik",
    "Cairo",
    "New York",
    "São Paulo",
]
HOURS = (0, 6, 12, 15, 21)
SAMPLE_NOTE = "(sample data: OPENWEATHER_API_KEY is not set)"


@pytest.fixture
def at_hour(monkeypatch):
    def set_hour(hour: int) -> None:
        monkeypatch.setattr(weather.time, "time", lambda: 1_764_547_200 + hour * 3600)  # a UTC midnight

    return set_hour


def slots(kind: str, city: str) -> list[dict]:
    data = sample_payload(kind, city)
    return data["list"] if kind == "forecast" else [data]


@pytest.mark.parametrize("hour", HOURS)
def test_precipitation_matches_the_temperature_and_numbers_stay_earthly(at_hour, hour):
    at_hour(hour)
    for city in CITIES:
        for kind in ("weather", "forecast"):
            for slot in slots(kind, city):
                temp, sky = slot["main"]["temp"], slot["weather"][0]
                if "snow" in sky["description"]:
                    assert temp <= SNOW_AT_C, (city, slot)
                if "rain" in sky["description"]:
                    assert temp > SNOW_AT_C, (city, slot)
                assert sky["main"] in ("Clear", "Clouds", "Rain", "Snow")
                assert -10 <= temp <= 28 and slot["main"]["feels_like"] <= temp
                assert 0 < slot["main"]["humidity"] <= 100
                assert 0 < slot["wind"]["speed"] < STORM_WIND  # a sample never raises a storm alert


def test_a_forecast_changes_gently_from_one_slot_to_the_next(at_hour):
    at_hour(9)
    for city in CITIES:
        temps = [slot["main"]["temp"] for slot in slots("forecast", city)]
        assert all(abs(a - b) <= 3 for a, b in zip(temps, temps[1:], strict=False)), (city, temps)
        assert max(temps) - min(temps) <= 2 * weather.DAILY_SWING_C + 0.1


def test_paris_has_no_warm_snow_and_every_answer_is_labelled(make_app):
    app = make_app({"OPENWEATHER_API_KEY": ""})
    client, settings = app.test_client(), hub_of(app).settings

    for text in ("/weather Paris", "/forecast Paris"):
        answer = post(client, telegram_message(settings, text)).json["text"]
        assert answer.startswith("Paris")
        assert answer.endswith(SAMPLE_NOTE)


def test_an_alert_from_sample_weather_says_it_is_a_sample(make_app, at_hour):
    at_hour(3)
    city = next(c for c in CITIES if find_alerts(sample_payload("forecast", c)))
    app = make_app({"OPENWEATHER_API_KEY": ""})
    hub = hub_of(app)
    post(app.test_client(), telegram_message(hub.settings, f"/subscribe {city}", chat_id=42))

    with app.app_context():
        hub.emit("schedule", "weather.watch", "watch-1", {})

    alerts = [e.payload["text"] for e in hub.store.outbox() if e.payload.get("chat_id") == "42"]
    assert alerts and all(text.endswith(SAMPLE_NOTE) for text in alerts)
