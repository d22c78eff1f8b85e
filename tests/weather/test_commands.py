"""/weather and /forecast, on Telegram and by SMS, against OpenWeatherMap mocked at the wire."""

from __future__ import annotations

import pytest
import responses
from responses import matchers

from hub.services import hub_of
from integrations.samples import telegram_message, twilio_sms
from tests.auxil.fake_openweather import current_payload, forecast_payload
from tests.conftest import post

OWM = "https://api.openweathermap.org/data/2.5"
KEY = "owm-secret-key-123456"
LONDON = {
    "name": "London",
    "country": "GB",
    "temp": 11.4,
    "wind": 4.1,
    "id": 803,
    "description": "broken clouds",
}


@pytest.fixture
def app(make_app):  # noqa: ANN001, ANN201
    return make_app({"OPENWEATHER_API_KEY": KEY})


def ask(client, hub, text: str) -> str:  # noqa: ANN001
    response = post(client, telegram_message(hub.settings, text, chat_id=42))
    assert response.status_code == 200
    return response.json["text"]


def london_ok(rsps: responses.RequestsMock, kind: str = "weather") -> responses.BaseResponse:
    params = {"q": "london", "units": "metric", "appid": KEY}
    if kind == "forecast":
        params["cnt"] = "8"
        body = forecast_payload(LONDON, 1_700_000_000, 8)
    else:
        body = current_payload(LONDON, 1_700_000_000)
    return rsps.get(f"{OWM}/{kind}", json=body, match=[matchers.query_param_matcher(params)])


@responses.activate
def test_weather_command_answers_with_metric_current_weather(client, hub):
    london_ok(responses.mock)
    assert ask(client, hub, "/weather London") == (
        "London, GB: broken clouds, 11°C (feels like 9°C), humidity 70%, wind 4 m/s"
    )


@responses.activate
def test_same_city_in_any_spelling_is_read_once(client, hub):
    call = london_ok(responses.mock)
    first = ask(client, hub, "/weather London")
    assert ask(client, hub, "/weather   lONDON ") == first
    assert call.call_count == 1


@responses.activate
def test_sms_weather_shares_the_command(client, hub):
    london_ok(responses.mock)
    response = post(client, twilio_sms(hub.settings, "http://localhost", "WEATHER London"))
    assert response.mimetype == "application/xml"
    assert b"London, GB: broken clouds, 11" in response.data


@responses.activate
def test_forecast_lists_the_next_24_hours_in_3_hour_steps(client, hub):
    london_ok(responses.mock, "forecast")
    lines = ask(client, hub, "/forecast london").splitlines()
    assert lines[0] == "London, GB, next 24 h:"
    assert len(lines) == 9
    assert lines[1].endswith("11°C broken clouds")


@responses.activate
def test_unknown_city_gets_a_friendly_answer_and_is_not_asked_again_at_once(client, hub):
    missing = responses.get(f"{OWM}/weather", status=404, json={"cod": "404", "message": "city not found"})
    assert "could not find a city called 'Atlantis'" in ask(client, hub, "/weather Atlantis")
    assert "could not find" in ask(client, hub, "/weather atlantis")
    assert missing.call_count == 1


def test_a_city_is_asked_for_when_missing(client, hub):
    assert ask(client, hub, "/weather") == "Which city? For example: /weather London"


@responses.activate
def test_stale_answer_is_served_when_upstream_fails(client, hub):
    london_ok(responses.mock)
    ask(client, hub, "/weather London")
    hub.cache.delete("weather:weather:london")  # the fresh copy expired
    responses.replace(responses.GET, f"{OWM}/weather", status=502, body="bad gateway")
    text = ask(client, hub, "/weather London")
    assert text.startswith("London, GB: broken clouds, 11°C")
    assert "the weather service is not answering; this is from 1 min ago" in text


@responses.activate
def test_upstream_failure_without_a_copy_says_so(client, hub):
    responses.get(f"{OWM}/weather", body=responses.ConnectionError("boom"))
    assert ask(client, hub, "/weather London").startswith("Sorry, the weather service is not answering")


@responses.activate
def test_dry_run_without_key_answers_from_a_labelled_offline_sample(make_app):
    app = make_app({"OPENWEATHER_API_KEY": ""})
    client, hub = app.test_client(), hub_of(app)
    first = ask(client, hub, "/weather Lima")
    assert first.startswith("Lima: ")
    assert first.endswith("(sample data: OPENWEATHER_API_KEY is not set)")
    assert ask(client, hub, "/weather lima") == first  # deterministic
    assert len(responses.calls) == 0


def test_live_without_key_says_weather_is_not_configured(make_app):
    app = make_app({"OPENWEATHER_API_KEY": "", "HUB_DRY_RUN": "0"})
    text = ask(app.test_client(), hub_of(app), "/weather Lima")
    assert text == "Weather is not configured here (OPENWEATHER_API_KEY is not set)."
