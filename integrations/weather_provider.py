"""OpenWeatherMap, declared for the provider registry: settings and a doctor check (it
sends no webhooks; `/weather` asks it)."""

from __future__ import annotations

from hub.providers import DoctorCheck, Provider, Setting

WEATHER = Provider(
    name="weather",
    title="OpenWeatherMap",
    settings=(Setting("OPENWEATHER_API_KEY", secret=True), Setting("OPENWEATHER_API_URL", shown=False)),
    doctor=DoctorCheck("integrations.weather:doctor_probe", needs=("OPENWEATHER_API_KEY",)),
)
