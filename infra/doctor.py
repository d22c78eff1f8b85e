"""`hub doctor`: is this configuration ready to serve, and does each provider answer?

Each check says what is wrong and what to do about it; reachability probes make one
cheap read-only call per provider (no message is sent, nothing is changed).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.services import Hub

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass
class Check:
    name: str
    status: str
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name:<10} {self.message}"


def run(hub: Hub, *, on_lambda: bool) -> list[Check]:
    settings = hub.settings
    checks = [
        _config(settings, on_lambda),
        Check("store", OK, f"{hub.store.backend} answers")
        if hub.store.ping()
        else Check("store", FAIL, f"{hub.store.backend} does not answer: check REDIS_URL / HUB_DATABASE"),
    ]
    probes: list[tuple[str, tuple[str, ...], Callable[[Any], str]]] = [
        ("telegram", ("telegram_bot_token",), _telegram),
        ("stripe", ("stripe_api_key",), _stripe),
        ("paypal", ("paypal_client_id", "paypal_client_secret"), lambda s: _paypal(s, hub)),
        ("twilio", ("twilio_account_sid", "twilio_auth_token"), _twilio),
        ("weather", ("openweather_api_key",), _weather),
        ("google", ("google_service_account_json",), _google),
    ]
    for name, needs, probe in probes:
        missing = [n.upper() for n in needs if not getattr(settings, n)]
        if missing:
            checks.append(Check(name, WARN, f"disabled: set {', '.join(missing)} to enable it"))
            continue
        try:
            checks.append(Check(name, OK, probe(settings)))
        except Exception as exc:  # a probe failure is the finding, never a crash
            checks.append(Check(name, FAIL, f"{type(exc).__name__}: {_scrub(str(exc), settings)[:200]}"))
    return checks


def _scrub(text: str, settings: Any) -> str:
    for secret in settings.secret_values():
        text = text.replace(secret, "***")
    return text


def _config(settings: Any, on_lambda: bool) -> Check:
    problems = []
    if settings.hub_dry_run:
        problems.append("HUB_DRY_RUN is on: nothing is sent (set HUB_DRY_RUN=0 to go live)")
    if not settings.hub_public_url:
        problems.append("HUB_PUBLIC_URL is unset: Twilio signatures and setup-webhooks need it")
    if not settings.hub_stage:
        problems.append("HUB_STAGE is unset: setup-webhooks needs it to keep each stage's bot apart")
    if settings.dev_secrets:
        problems.append(f"generated development secrets in use: {', '.join(settings.dev_secrets)}")
    if settings.hub_tasks == "lambda" and not settings.redis_url:
        problems.append(
            "HUB_TASKS=lambda without REDIS_URL: each Lambda instance would keep its own "
            "SQLite file in /tmp; set REDIS_URL"
        )
    if on_lambda and settings.hub_tasks == "thread":
        problems.append("HUB_TASKS=thread on Lambda: work dies when the function freezes; use lambda")
    if not problems:
        return Check("config", OK, f"stage {settings.hub_stage}, live, tasks={settings.hub_tasks}")
    return Check("config", FAIL if not settings.hub_dry_run and problems else WARN, "; ".join(problems))


def _telegram(settings: Any) -> str:
    from integrations import telegram_setup

    status = telegram_setup.webhook_status(settings)
    where = status["url"] or "no webhook (run hub setup-webhooks)"
    error = f"; last delivery error: {status['last_error']}" if status["last_error"] else ""
    return f"@{status['username']} -> {where}{error}"


def _stripe(settings: Any) -> str:
    from integrations import stripe

    return f"account {stripe.account_reachable(settings)}"


def _paypal(settings: Any, hub: Hub) -> str:
    from integrations import paypal_api

    return paypal_api.check(settings, hub.cache)


def _twilio(settings: Any) -> str:
    from integrations import twilio

    return f"account {twilio.account_status(settings)}"


def _weather(settings: Any) -> str:
    import requests

    response = requests.get(
        f"{settings.openweather_api_url}/data/2.5/weather",
        params={"q": "London", "units": "metric", "appid": settings.openweather_api_key},
        timeout=10,
    )
    if response.status_code == 401:
        raise PermissionError("OpenWeatherMap refused OPENWEATHER_API_KEY (new keys take up to 2 h)")
    response.raise_for_status()
    return "OpenWeatherMap answers"


def _google(settings: Any) -> str:
    info = json.loads(settings.google_service_account_json)
    if "client_email" not in info or "private_key" not in info:
        raise ValueError("GOOGLE_SERVICE_ACCOUNT_JSON is not a service-account key file")
    calendar = settings.google_calendar_id or "unset GOOGLE_CALENDAR_ID"
    return f"service account {info['client_email']}; share calendar {calendar} with it"
