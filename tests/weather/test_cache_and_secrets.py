"""Weather across a shared Redis cache, and the API key kept out of logs and errors."""

from __future__ import annotations

import logging
import socket
import traceback

import pytest

from hub.services import hub_of
from integrations.samples import telegram_message
from integrations.weather import OpenWeather, WeatherUnavailableError
from tests.auxil.fake_openweather import API_KEY
from tests.conftest import post


def ask(app, text: str) -> str:  # noqa: ANN001
    return post(app.test_client(), telegram_message(hub_of(app).settings, text)).json["text"]


@pytest.mark.redis
def test_instances_sharing_redis_read_each_city_once_and_share_the_last_good_copy(
    weather_app, owm, redis_config
):
    first, second = weather_app(**redis_config), weather_app(**redis_config)
    answer = ask(first, "/weather Paris")
    assert answer.startswith("Paris, FR: moderate rain, 14°C")
    assert ask(second, "/weather paris") == answer
    assert len(owm.requests) == 1

    hub_of(second).cache.delete("weather:weather:paris")  # the fresh copy expired
    owm.failing = True
    stale = ask(second, "/weather Paris")
    assert stale.startswith(answer)
    assert "the weather service is not answering" in stale
    assert len(owm.requests) == 2


def test_simple_cache_serves_the_last_good_copy_too(weather_app, owm):
    app = weather_app()
    answer = ask(app, "/weather Oslo")
    hub_of(app).cache.delete("weather:weather:oslo")
    owm.failing = True
    assert ask(app, "/weather Oslo").startswith(answer)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_the_key_never_reaches_logs_or_error_texts(weather_app, owm, caplog):
    caplog.set_level(logging.DEBUG, logger="urllib3")
    app = weather_app()
    ask(app, "/weather London")  # a real request: urllib3 logs its request line
    owm.failing = True
    ask(app, "/forecast Bergen")
    unreachable = weather_app(OPENWEATHER_API_URL=closed_port_url())
    assert ask(unreachable, "/weather Rome").startswith("Sorry, the weather service is not answering")

    hub = hub_of(unreachable)
    with pytest.raises(WeatherUnavailableError) as caught, hub.cache.app.app_context():
        OpenWeather(hub.settings, hub.cache).current("Madrid")
    error_text = "".join(traceback.format_exception(caught.value))
    assert "ConnectionError" in error_text
    assert "appid=***" in caplog.text  # urllib3 did log the request line, redacted
    assert API_KEY not in caplog.text
    assert API_KEY not in error_text
