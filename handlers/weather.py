"""`/weather <city>` and `/forecast <city>` (`WEATHER London` by SMS), and their wording."""

from __future__ import annotations

import logging
import time
from typing import Any

from handlers import router
from handlers.core import as_typed
from hub.context import Context
from hub.events import Event
from integrations.weather import OpenWeather, Reading, WeatherError, WeatherUnavailableError

log = logging.getLogger("hub.weather")


@router.command("weather", help="current weather", usage="/weather <city>")
def weather(event: Event, ctx: Context) -> None:
    ctx.reply(answer(ctx, "weather", " ".join(ctx.args)))


@router.command("forecast", help="the next 24 hours", usage="/forecast <city>")
def forecast(event: Event, ctx: Context) -> None:
    ctx.reply(answer(ctx, "forecast", " ".join(ctx.args)))


def answer(ctx: Context, kind: str, city: str) -> str:
    """The text a user gets for `kind` in `city`, failures included (never raises WeatherError)."""
    if not city.strip():
        channel = ctx.event.message.channel if ctx.event.message else "telegram"
        return f"Which city? For example: {as_typed(f'/{kind} London', channel)}"
    client = OpenWeather.for_context(ctx)
    try:
        reading = client.current(city) if kind == "weather" else client.forecast(city)
    except WeatherUnavailableError as exc:
        log.warning("weather read failed: %s", exc)
        return "Sorry, the weather service is not answering right now. Try again in a few minutes."
    except WeatherError as exc:  # unknown city, not configured: the message says what to do
        return str(exc)
    text = describe_current(reading) if kind == "weather" else describe_forecast(reading)
    return text + freshness_note(reading)


def describe_current(reading: Reading) -> str:
    data = reading.data
    place = _place(data.get("name", ""), data.get("sys", {}).get("country", ""))
    main, wind = data["main"], data.get("wind", {})
    line = f"{place}: {_sky(data)}, {_deg(main['temp'])}"
    if "feels_like" in main:
        line += f" (feels like {_deg(main['feels_like'])})"
    extras = []
    if "humidity" in main:
        extras.append(f"humidity {main['humidity']}%")
    if "speed" in wind:
        extras.append(f"wind {wind['speed']:.0f} m/s")
    return line + (", " + ", ".join(extras) if extras else "")


def describe_forecast(reading: Reading) -> str:
    data = reading.data
    city = data.get("city", {})
    offset = int(city.get("timezone") or 0)
    lines = [f"{_place(city.get('name', ''), city.get('country', ''))}, next 24 h:"]
    for slot in data["list"][:8]:
        hour = time.strftime("%a %H:%M", time.gmtime(int(slot["dt"]) + offset))
        rain = f", rain {slot['pop'] * 100:.0f}%" if slot.get("pop", 0) >= 0.3 else ""
        lines.append(f"{hour} {_deg(slot['main']['temp'])} {_sky(slot)}{rain}")
    return "\n".join(lines)


def freshness_note(reading: Reading) -> str:
    if reading.sample:
        return "\n(sample data: OPENWEATHER_API_KEY is not set)"
    if reading.stale:
        minutes = max(1, int((time.time() - reading.fetched_at) // 60))
        return f"\n(the weather service is not answering; this is from {minutes} min ago)"
    return ""


def _place(name: str, country: str) -> str:
    return f"{name}, {country}" if country else name or "?"


def _sky(item: dict[str, Any]) -> str:
    skies = item.get("weather") or [{}]
    return str(skies[0].get("description") or skies[0].get("main") or "?")


def _deg(value: float) -> str:
    return f"{float(value):.0f}°C".replace("-0°C", "0°C")
