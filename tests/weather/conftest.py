"""Weather fixtures: a local fake OpenWeatherMap and apps pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from tests.auxil.fake_openweather import API_KEY, FakeOpenWeather


@pytest.fixture
def owm() -> Iterator[FakeOpenWeather]:
    with FakeOpenWeather() as fake:
        yield fake


@pytest.fixture
def weather_app(make_app, owm) -> Callable[..., Flask]:  # noqa: ANN001
    """An app reading the fake OWM with a valid key; extra config keys override."""

    def build(**config: Any) -> Flask:
        return make_app({"OPENWEATHER_API_KEY": API_KEY, "OPENWEATHER_API_URL": owm.url, **config})

    return build
