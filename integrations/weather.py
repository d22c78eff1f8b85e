"""OpenWeatherMap (requests): current weather and a 24 h forecast, cached per city.

Choices:
- Reads change nothing at the provider, so they are not outbox *actions*: with
  OPENWEATHER_API_KEY set they reach OpenWeatherMap even in dry-run. In dry-run without
  a key, answers come from a deterministic offline sample (marked `sample`) so the
  playground works with no keys; live without a key raises `WeatherNotConfiguredError`.
- Every answer is cached twice in the app's cache: a fresh copy (minutes) that saves
  upstream calls, and a "last good" copy (a day) served, marked `stale`, when
  OpenWeatherMap fails. An unknown city (OWM 404) is remembered briefly too.
- The key travels in the URL (`appid=`), so exception texts are rebuilt without the URL
  and urllib3's debug lines are redacted: the key never reaches logs or event errors.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests
    from flask_caching import Cache

    from hub.config import Settings
    from hub.context import Context
    from hub.services import Hub

log = logging.getLogger("hub.weather")

TIMEOUT = (3.05, 10.0)  # (connect, read) seconds: a chat reply must not hang on OWM
FRESH_SECONDS = {"weather": 600, "forecast": 1800}
LAST_GOOD_SECONDS = 86400
NOT_FOUND_SECONDS = 600
FORECAST_SLOTS = 8  # 8 x 3 h = the next 24 h
MAX_CITY_LENGTH = 80


class WeatherError(Exception):
    """A weather read failed; the message is safe to show a user."""


class CityNotFoundError(WeatherError):
    pass


class WeatherUnavailableError(WeatherError):
    pass


class WeatherNotConfiguredError(WeatherError):
    pass


@dataclass(frozen=True)
class Reading:
    """One OWM answer (`data` as the API gives it) and how fresh it is."""

    kind: str  # "weather" | "forecast"
    data: dict[str, Any]
    fetched_at: float
    stale: bool = False  # served from the last-good copy because upstream failed
    sample: bool = False  # offline sample (dry-run, no key)


def normalise_city(city: str) -> str:
    """Cache key part: `  new   YORK ` and `New York` are one city."""
    return " ".join(city.split()).casefold()


class OpenWeather:
    """Client over requests and a Flask-Caching cache; build one per use (it is cheap)."""

    def __init__(self, settings: Settings, cache: Cache, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.cache = cache
        # requests (~45 ms) is imported on first use: handlers import this module at start-up,
        # and most webhooks never ask for the weather.
        import requests

        self.session = session or requests.Session()
        _redact_urllib3_logs()

    @classmethod
    def for_context(cls, ctx: Context) -> OpenWeather:
        return cls(ctx.settings, ctx.cache)

    def current(self, city: str) -> Reading:
        return self._read("weather", city)

    def forecast(self, city: str) -> Reading:
        return self._read("forecast", city)

    def _read(self, kind: str, city: str) -> Reading:
        name = normalise_city(city)
        if not name:
            raise CityNotFoundError("Which city? For example: /weather London")
        if len(name) > MAX_CITY_LENGTH:
            raise CityNotFoundError(f"That city name is too long (at most {MAX_CITY_LENGTH} characters).")
        if not self.settings.openweather_api_key:
            if self.settings.hub_dry_run:
                return Reading(kind, sample_payload(kind, city), time.time(), sample=True)
            raise WeatherNotConfiguredError(
                "Weather is not configured here (OPENWEATHER_API_KEY is not set)."
            )
        fresh_key, last_key = f"weather:{kind}:{name}", f"weather:last:{kind}:{name}"
        cached = self.cache.get(fresh_key)
        if isinstance(cached, dict):
            if cached.get("not_found"):
                raise _not_found(city)
            return Reading(kind, cached["data"], cached["fetched_at"])
        try:
            data = self._fetch(kind, name)
        except CityNotFoundError:
            self.cache.set(fresh_key, {"not_found": True}, timeout=NOT_FOUND_SECONDS)
            raise _not_found(city) from None
        except WeatherUnavailableError as exc:
            last = self.cache.get(last_key)
            if isinstance(last, dict):
                log.warning("OpenWeatherMap failed (%s); serving the last good %s for %r", exc, kind, name)
                return Reading(kind, last["data"], last["fetched_at"], stale=True)
            raise
        entry = {"data": data, "fetched_at": time.time()}
        self.cache.set(fresh_key, entry, timeout=FRESH_SECONDS[kind])
        self.cache.set(last_key, entry, timeout=LAST_GOOD_SECONDS)
        return Reading(kind, data, entry["fetched_at"])

    def _fetch(self, kind: str, name: str) -> dict[str, Any]:
        params: dict[str, Any] = {"q": name, "units": "metric", "appid": self.settings.openweather_api_key}
        if kind == "forecast":
            params["cnt"] = FORECAST_SLOTS
        url = f"{self.settings.openweather_api_url}/data/2.5/{kind}"
        import requests

        try:
            response = self.session.get(url, params=params, timeout=TIMEOUT)
        except requests.RequestException as exc:
            # requests' messages quote the URL, key included: keep only the error's kind.
            raise WeatherUnavailableError(f"OpenWeatherMap is unreachable ({type(exc).__name__})") from None
        if response.status_code == 404:
            raise _not_found(name)
        if response.status_code == 401:
            raise WeatherUnavailableError("OpenWeatherMap rejected the API key (401)")
        if response.status_code != 200:
            raise WeatherUnavailableError(f"OpenWeatherMap answered {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise WeatherUnavailableError("OpenWeatherMap answered with something that is not JSON") from None
        if not isinstance(data, dict) or not _well_formed(kind, data):
            raise WeatherUnavailableError("OpenWeatherMap answered without the expected fields")
        return data


def _not_found(city: str) -> CityNotFoundError:
    shown = " ".join(city.split())[:MAX_CITY_LENGTH]
    return CityNotFoundError(
        f"I could not find a city called {shown!r}. Check the spelling, e.g. 'Paris, FR'."
    )


def _well_formed(kind: str, data: dict[str, Any]) -> bool:
    if kind == "weather":
        return isinstance(data.get("main"), dict) and "temp" in data["main"]
    return isinstance(data.get("list"), list)


# -- offline sample (dry-run without a key) -----------------------------------------------------

# The sample's weather regimes as OpenWeatherMap codes them (id, main, description). Wet
# weather falls as snow at or below SNOW_AT_C and as rain above: no warm "light snow".
_SKIES = (
    (800, "Clear", "clear sky"),
    (802, "Clouds", "scattered clouds"),
    (804, "Clouds", "overcast clouds"),
)
_WET = None  # the fourth regime: rain or snow, by temperature
_RAIN, _SNOW = (500, "Rain", "light rain"), (600, "Snow", "light snow")
SNOW_AT_C = 1.0
DAILY_SWING_C = 3.5  # half the day-night difference of a mild day


def sample_payload(kind: str, city: str) -> dict[str, Any]:
    """A deterministic, plausible OWM-shaped answer for `city`: same city and hour, same numbers.

    A city gets a base temperature and a weather regime from a hash of its name; the hours
    follow a daily curve (warmest mid-afternoon) and the regime drifts over the forecast.
    """
    seed = int(hashlib.sha256(normalise_city(city).encode()).hexdigest(), 16)
    name = " ".join(city.split()).title()
    now = int(time.time()) // 10800 * 10800
    base = seed % 26 - 4  # -4 to 21 °C
    wind = round((seed >> 8) % 8 + 1.5, 1)  # 1.5 to 8.5 m/s: a breeze, never a storm
    regimes = (*_SKIES, _WET)
    slots = []
    for i in range(FORECAST_SLOTS if kind == "forecast" else 1):
        dt = now + i * 10800
        temp = round(base + DAILY_SWING_C * math.cos(2 * math.pi * (dt % 86400 / 3600 - 15) / 24), 1)
        regime = regimes[((seed >> 16) + i // 3) % len(regimes)]
        sky_id, main, description = regime or (_SNOW if temp <= SNOW_AT_C else _RAIN)
        humidity = 45 + (seed >> 24) % 30 + (25 if regime is _WET else 10 if sky_id == 804 else 0)
        feels_like = temp - wind * 0.4 if temp < 10 else temp  # wind chill, roughly
        slots.append(
            {
                "dt": dt,
                "main": {"temp": temp, "feels_like": round(feels_like, 1), "humidity": min(humidity, 97)},
                "weather": [{"id": sky_id, "main": main, "description": description}],
                "wind": {"speed": wind},
                "pop": 0.7 if regime is _WET else 0.2 if sky_id == 804 else 0.05,
            }
        )
    if kind == "forecast":
        return {
            "cod": "200",
            "cnt": len(slots),
            "list": slots,
            "city": {"name": name, "country": "", "timezone": 0},
        }
    return {**slots[0], "name": name, "sys": {"country": ""}, "timezone": 0, "cod": 200}


# -- keeping the key out of third-party logs ----------------------------------------------------

_APPID = re.compile(r"(appid=)[^&\s\"']+", re.IGNORECASE)


class _RedactAppId(logging.Filter):
    """urllib3 logs each request line (URL and key) at DEBUG: mask the key."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "appid=" in message.lower():
            record.msg, record.args = _APPID.sub(r"\1***", message), None
        return True


def _redact_urllib3_logs() -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactAppId) for f in logger.filters):
        logger.addFilter(_RedactAppId())


def doctor_probe(hub: Hub) -> str:
    """One current-weather read, proving OPENWEATHER_API_KEY works (for `hub doctor`)."""
    import requests

    settings = hub.settings
    response = requests.get(
        f"{settings.openweather_api_url}/data/2.5/weather",
        params={"q": "London", "units": "metric", "appid": settings.openweather_api_key},
        timeout=10,
    )
    if response.status_code == 401:
        raise PermissionError("OpenWeatherMap refused OPENWEATHER_API_KEY (new keys take up to 2 h)")
    response.raise_for_status()
    return "OpenWeatherMap answers"
