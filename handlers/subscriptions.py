"""Subscriptions: `/subscribe <city>` for a daily digest and weather alerts, `/subscribe calendar`
for calendar announcements; `/unsubscribe [calendar]`. One weather city per chat.

State lives in the store (kv), keyed "<channel>:<address>", so SMS and Telegram users
are notified on the channel they subscribed from. Schedules drive the rest:
- schedule/weather.digest: each subscriber gets today's weather for their city.
- schedule/weather.watch: each subscribed city's 24 h forecast is checked once and every
  threshold crossed becomes a weather/weather.alert event whose provider id
  (city:kind:date) keeps the same alert from going out twice in a day.
- weather/weather.alert: the alert goes to that city's subscribers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from handlers import router
from handlers.core import as_typed, send_verb
from handlers.weather import describe_current, freshness_note
from hub import fanout
from hub.context import Context
from hub.events import Event
from integrations.weather import (
    CityNotFoundError,
    OpenWeather,
    WeatherError,
    WeatherNotConfiguredError,
    normalise_city,
)

log = logging.getLogger("hub.subscriptions")

WEATHER_SUBSCRIPTIONS = "weather.subscriptions"
CALENDAR_SUBSCRIPTIONS = "calendar.subscriptions"
STORM_WIND = 17.0  # m/s: Beaufort 8, gale
FROST_TEMP = 0.0


def subscriber_key(channel: str, address: str) -> str:
    return f"{channel}:{address}"


@router.command(
    "subscribe",
    help="daily weather and alerts for a city, or calendar news",
    usage="/subscribe <city> | /subscribe calendar",
)
def subscribe(event: Event, ctx: Context) -> None:
    message = event.message
    assert message is not None  # commands only come with chat messages
    city = " ".join(ctx.args).strip()
    key = subscriber_key(message.channel, message.address)
    who = {"channel": message.channel, "address": message.address, "since": time.time()}
    channel = message.channel
    if not city:
        example, calendar = as_typed("/subscribe London", channel), as_typed("/subscribe calendar", channel)
        ctx.reply(f"Which city? For example: {example} (or {calendar})")
        return
    if city.casefold() == "calendar":
        ctx.store.kv_put(CALENDAR_SUBSCRIPTIONS, key, who)
        ctx.reply(f"You will hear about calendar changes here. {_to_stop('/unsubscribe calendar', channel)}")
        return
    label = " ".join(city.split())
    try:
        label = OpenWeather.for_context(ctx).current(city).data.get("name") or label
    except (CityNotFoundError, WeatherNotConfiguredError) as exc:
        ctx.reply(str(exc))
        return
    except WeatherError:
        pass  # the service is down: subscribe anyway, the city is checked at the next watch
    ctx.store.kv_put(WEATHER_SUBSCRIPTIONS, key, {**who, "city": normalise_city(city), "label": label})
    stop = _to_stop("/unsubscribe", channel)
    ctx.reply(f"Subscribed: a daily digest and weather alerts for {label}. {stop}")


def _to_stop(command: str, channel: str) -> str:
    """ "/unsubscribe to stop." in a chat; "Text UNSUBSCRIBE to stop." by SMS."""
    typed = as_typed(command, channel)
    return f"{send_verb(channel)} {typed} to stop." if channel == "sms" else f"{typed} to stop."


@router.command(
    "unsubscribe", help="stop weather (or calendar) messages", usage="/unsubscribe | /unsubscribe calendar"
)
def unsubscribe(event: Event, ctx: Context) -> None:
    message = event.message
    assert message is not None
    calendar = " ".join(ctx.args).strip().casefold() == "calendar"
    namespace = CALENDAR_SUBSCRIPTIONS if calendar else WEATHER_SUBSCRIPTIONS
    key = subscriber_key(message.channel, message.address)
    if ctx.store.kv_get(namespace, key) is None:
        ctx.reply("You had no " + ("calendar" if calendar else "weather") + " subscription here.")
        return
    ctx.store.kv_put(namespace, key, None)
    ctx.reply("Unsubscribed from " + ("calendar news." if calendar else "weather messages."))


def drop_subscriber(ctx: Context, channel: str, address: str) -> None:
    """Forget every subscription of one address (an SMS opt-out: texts to it are blocked)."""
    key = subscriber_key(channel, address)
    for namespace in (WEATHER_SUBSCRIPTIONS, CALENDAR_SUBSCRIPTIONS):
        ctx.store.kv_put(namespace, key, None)


def weather_subscribers(ctx: Context) -> Iterator[dict[str, Any]]:
    """Every weather subscription, read a page at a time (100,000 subscribers are never all
    in memory), the rest in a follow-up run once this one has read for its time box
    (hub.fanout). Each message to one becomes a delivery named by its recipient and text,
    so the order does not matter and one read twice (Redis paging may) is still told once."""
    yield from (sub for sub in fanout.walk(ctx, WEATHER_SUBSCRIPTIONS) if sub.get("city"))


@router.on("schedule", "weather.digest")
def digest(event: Event, ctx: Context) -> None:
    client = OpenWeather.for_context(ctx)
    for sub in weather_subscribers(ctx):
        try:
            reading = client.current(sub["city"])
        except WeatherError as exc:
            log.warning("digest skipped %s: %s", sub["city"], exc)
            continue
        text = "Good morning! " + describe_current(reading) + freshness_note(reading)
        # Named, not known by its text: a rerun may read other weather, yet it is one digest.
        ctx.send_text(sub["channel"], sub["address"], text, effect="digest")


@router.on("schedule", "weather.watch")
def watch(event: Event, ctx: Context) -> None:
    client = OpenWeather.for_context(ctx)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    for city in sorted({sub["city"] for sub in weather_subscribers(ctx)}):
        try:
            reading = client.forecast(city)
        except WeatherError as exc:
            log.warning("weather watch skipped %s: %s", city, exc)
            continue
        for kind, text in find_alerts(reading.data):
            # An alert from sample weather says so, like every other answer made from it.
            payload = {"city": city, "kind": kind, "date": today, "text": text + freshness_note(reading)}
            ctx.emit("weather", "weather.alert", f"{city}:{kind}:{today}", payload)


@router.on("weather", "weather.alert")
def alert(event: Event, ctx: Context) -> None:
    city, text = event.payload.get("city", ""), event.payload.get("text", "")
    for sub in weather_subscribers(ctx):
        if sub["city"] == city:
            ctx.send_text(sub["channel"], sub["address"], text)


def find_alerts(forecast: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, text) for each threshold the next 24 h cross: storm, frost, rain."""
    city = forecast.get("city", {})
    name, offset = city.get("name") or "your city", int(city.get("timezone") or 0)
    slots = forecast.get("list", [])[:8]

    def at(slot: dict[str, Any]) -> str:
        return time.strftime("%H:%M", time.gmtime(int(slot.get("dt", 0)) + offset))

    def code(slot: dict[str, Any]) -> int:
        return int((slot.get("weather") or [{}])[0].get("id") or 0)

    alerts = []
    storm = [s for s in slots if code(s) // 100 == 2 or s.get("wind", {}).get("speed", 0) >= STORM_WIND]
    if storm:
        peak = max(s.get("wind", {}).get("speed", 0) for s in storm)
        alerts.append(
            (
                "storm",
                f"Storm warning for {name}: from about {at(storm[0])}, wind up to {peak:.0f} m/s. Stay safe.",
            )
        )
    temps = [s["main"]["temp"] for s in slots if "temp" in s.get("main", {})]
    if temps and min(temps) <= FROST_TEMP:
        alerts.append(("frost", f"Frost expected in {name}: down to {min(temps):.0f}°C in the next 24 h."))
    rain = [s for s in slots if code(s) // 100 in (3, 5) or s.get("rain", {}).get("3h", 0) >= 0.5]
    if rain:
        alerts.append(("rain", f"Rain expected in {name} from about {at(rain[0])}. Take an umbrella."))
    return alerts
