"""Settings: read once from config overrides, the environment and `.env`, validated at start-up.

Hub's settings are read here only; everything asks the `Settings` stored on the app. Two
other places read `os.environ`, for what is not a hub setting: `app.py` gathers the
environment (over `.env`) and hands it to `load_settings`, and `lambda_invoke.py` reads
the Lambda runtime's own variables (function name, region, its role's credentials).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hub.errors import ConfigError
from hub.records import frozen_record

log = logging.getLogger("hub.config")

TASK_MODES = ("inline", "thread", "lambda")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


# A frozen record (hub/records.py): Python 3.11 would write the source of each method
# @dataclass generates over all ~70 fields and compile it on every cold start
# (docs/PERFORMANCE.md). Nothing compares or hashes two Settings (one per app, passed by
# reference): equality is identity, and a Settings still hashes (by identity) for caches
# keyed on it; and no repr prints every secret.
@frozen_record
class Settings:
    """Every setting hub knows, typed. Field names are the variable names, lower-cased."""

    instance_path: Path
    hub_public_url: str = ""
    hub_admin_token: str = ""
    hub_dry_run: bool = True
    hub_database: str = ""
    hub_tasks: str = "thread"
    hub_max_attempts: int = 5
    hub_retry_base_seconds: float = 30.0
    hub_retry_max_seconds: float = 3600.0
    hub_lease_seconds: float = 300.0
    hub_dedup_days: int = 7
    hub_secret_key: str = ""
    hub_admin_chat_ids: tuple[str, ...] = ()
    redis_url: str = ""
    hub_redis_prefix: str = "{hub}:"  # one hash tag: Lua scripts also run on Redis Cluster
    hub_redis_cluster: bool | None = None  # None (auto): ask the node whether it is a cluster
    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    stripe_api_key: str = ""
    stripe_webhook_secret: tuple[str, ...] = ()
    stripe_success_url: str = ""  # where Checkout sends payers; empty: Stripe's own page
    hub_currency: str = "EUR"  # the currency /pay amounts are in
    paypal_client_id: str = ""
    paypal_client_secret: str = ""
    paypal_webhook_id: str = ""  # the id of the webhook PayPal signs for (WH-... or a dev value)
    paypal_environment: str = "sandbox"  # sandbox | live
    paypal_api_url: str = ""  # empty: PayPal's own host for the environment (tests: a fake)
    paypal_ca_bundle: str = ""  # PEM roots for PayPal's certificate chain; empty: certifi's
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    openweather_api_key: str = ""
    openweather_api_url: str = "https://api.openweathermap.org"
    google_service_account_json: str = ""
    google_channel_token: str = ""
    google_calendar_id: str = ""
    google_sheet_id: str = ""
    sentry_dsn: str = ""
    sentry_traces_sample_rate: float = 0.0
    hub_stage: str = ""  # the zappa stage this configuration belongs to (dev, prod)
    # Deliveries (hub.deliveries): one runner's time budget (under half of Lambda's 30 s
    # timeout; a handler's fan-out reads for half of it, hub.fanout), how long a claimed
    # delivery is its runner's, sends in flight per runner.
    hub_delivery_run_seconds: float = 12.0
    hub_delivery_lease_seconds: float = 120.0
    hub_delivery_concurrency: int = 8
    # Send rates shared by every instance (hub.ratelimit): Telegram's published limits, and
    # Twilio's 1 message/s for a long code (raise it for a toll-free number or short code).
    hub_telegram_per_second: float = 30.0
    hub_telegram_chat_per_second: float = 1.0
    hub_telegram_group_per_minute: float = 20.0
    hub_twilio_mps: float = 1.0
    # Operator alerts (hub.alerts): a source with this many failed attempts within the
    # window (opened by its first failure) is reported to HUB_ADMIN_CHAT_IDS once.
    hub_alert_failures: int = 5
    hub_alert_window_seconds: float = 600.0
    dev_secrets: tuple[str, ...] = field(default=(), compare=False)

    @property
    def database_path(self) -> Path:
        return Path(self.hub_database) if self.hub_database else self.instance_path / "hub.sqlite3"

    def secret_values(self) -> list[str]:
        """Every configured secret, so logs and error reports can scrub them: hub's own, and
        each setting a provider declares secret (the ones its card masks)."""
        return list(self._secrets)

    @functools.cached_property
    def _secrets(self) -> tuple[str, ...]:  # asked on every webhook; settings never change
        from hub.providers import providers

        names = [*HUB_SECRETS, *(s.name.lower() for p in providers() for s in p.settings if s.secret)]
        values = []
        for name in dict.fromkeys(names):
            value = getattr(self, name)
            values.extend(value if isinstance(value, tuple) else [value])
        return tuple(v for v in values if v and len(v) >= 6)


# hub's own secrets; each provider's are the settings its declaration marks secret.
HUB_SECRETS = ("hub_admin_token", "hub_secret_key", "sentry_dsn")


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean: write 1 or 0.")


def _parse_number(name: str, raw: str, kind: type, minimum: float) -> Any:
    try:
        value = kind(raw.strip())
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):  # float() also takes "nan" and "inf"
        raise ConfigError(f"{name}={raw!r} is not a number: write e.g. {kind(minimum)!r}.")
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} is too small: write {kind(minimum)!r} or more.")
    return value


def _parse_url(name: str, raw: str) -> str:
    try:
        parts = urlsplit(raw.strip())
    except ValueError:  # e.g. an unclosed "[" in an IPv6 host
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"{name}={raw!r} is not an absolute base URL: write it with its scheme and "
            "without a query, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
        )
    return raw.strip().rstrip("/")


def _parse_stripe_secrets(name: str, raw: str) -> tuple[str, ...]:
    secrets = tuple(s.strip() for s in raw.split(",") if s.strip())
    for secret in secrets:
        if not secret.startswith("whsec_"):
            raise ConfigError(
                f"{name} holds a value that does not start with 'whsec_': copy the endpoint's "
                "signing secret from the Stripe dashboard (several: comma-separated)."
            )
    return secrets


def _parse_list(name: str, raw: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in raw.split(",") if s.strip())


def _parse_tasks(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in TASK_MODES:
        raise ConfigError(f"{name}={raw!r} is unknown: write one of {', '.join(TASK_MODES)}.")
    return value


def _parse_float_rate(name: str, raw: str) -> float:
    value = _parse_number(name, raw, float, 0.0)
    if value > 1:
        raise ConfigError(f"{name}={raw!r} is not a rate: write a number between 0 and 1, e.g. 0.1.")
    return value


_PARSERS = {
    "HUB_PUBLIC_URL": _parse_url,
    "HUB_DRY_RUN": _parse_bool,
    "HUB_TASKS": _parse_tasks,
    "HUB_MAX_ATTEMPTS": lambda n, r: _parse_number(n, r, int, 1),
    "HUB_RETRY_BASE_SECONDS": lambda n, r: _parse_number(n, r, float, 0.0),
    "HUB_RETRY_MAX_SECONDS": lambda n, r: _parse_number(n, r, float, 0.0),
    "HUB_LEASE_SECONDS": lambda n, r: _parse_number(n, r, float, 1.0),
    "HUB_DEDUP_DAYS": lambda n, r: _parse_number(n, r, int, 7),
    "HUB_ADMIN_CHAT_IDS": _parse_list,
    "REDIS_URL": lambda n, r: _parse_redis_url(n, r),
    "HUB_REDIS_CLUSTER": lambda n, r: _parse_cluster_mode(n, r),
    "HUB_REDIS_PREFIX": lambda n, r: _parse_redis_prefix(n, r),
    "TELEGRAM_API_URL": _parse_url,
    "STRIPE_WEBHOOK_SECRET": _parse_stripe_secrets,
    "OPENWEATHER_API_URL": _parse_url,
    "SENTRY_TRACES_SAMPLE_RATE": _parse_float_rate,
    "STRIPE_SUCCESS_URL": _parse_url,
    "HUB_CURRENCY": lambda n, r: _parse_currency(n, r),
    "PAYPAL_ENVIRONMENT": lambda n, r: _parse_paypal_environment(n, r),
    "PAYPAL_API_URL": _parse_url,
    "PAYPAL_CA_BUNDLE": lambda n, r: _parse_pem_file(n, r),
    "HUB_DELIVERY_RUN_SECONDS": lambda n, r: _parse_number(n, r, float, 0.1),
    "HUB_DELIVERY_LEASE_SECONDS": lambda n, r: _parse_number(n, r, float, 1.0),
    "HUB_DELIVERY_CONCURRENCY": lambda n, r: _parse_number(n, r, int, 1),
    "HUB_TELEGRAM_PER_SECOND": lambda n, r: _parse_number(n, r, float, 0.01),
    "HUB_TELEGRAM_CHAT_PER_SECOND": lambda n, r: _parse_number(n, r, float, 0.01),
    "HUB_TELEGRAM_GROUP_PER_MINUTE": lambda n, r: _parse_number(n, r, float, 0.01),
    "HUB_TWILIO_MPS": lambda n, r: _parse_number(n, r, float, 0.01),
    "HUB_ALERT_FAILURES": lambda n, r: _parse_number(n, r, int, 1),
    "HUB_ALERT_WINDOW_SECONDS": lambda n, r: _parse_number(n, r, float, 1.0),
}


def _parse_pem_file(name: str, raw: str) -> str:
    path = Path(raw.strip())
    try:
        readable = b"-----BEGIN CERTIFICATE-----" in path.read_bytes()
    except OSError:
        readable = False
    if not readable:
        raise ConfigError(f"{name}={raw!r} is not a readable PEM file of certificates.")
    return str(path)


def _parse_paypal_environment(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("sandbox", "live"):
        raise ConfigError(f"{name}={raw!r} is unknown: write sandbox or live.")
    return value


def _parse_currency(name: str, raw: str) -> str:
    value = raw.strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise ConfigError(f"{name}={raw!r} is not an ISO currency code: write e.g. EUR or USD.")
    return value


def _parse_redis_prefix(name: str, raw: str) -> str:
    # Redis Cluster hashes a key by its first {...}: with one in the prefix, all of hub's keys
    # share a slot, which its multi-key scripts need (else CROSSSLOT on every webhook).
    _, brace, rest = raw.strip().partition("{")
    if not brace or rest.find("}") < 1:
        raise ConfigError(f"{name}={raw!r} has no hash tag: write e.g. {{hub}}: (braces included).")
    return raw.strip()


def _parse_cluster_mode(name: str, raw: str) -> bool | None:
    if raw.strip().lower() == "auto":
        return None
    try:
        return _parse_bool(name, raw)
    except ConfigError:
        raise ConfigError(f"{name}={raw!r} is not a cluster mode: write auto, 1 or 0.") from None


def _parse_redis_url(name: str, raw: str) -> str:
    if not raw.strip().startswith(("redis://", "rediss://", "unix://")):
        # The value is not echoed: a Redis URL may carry a password.
        raise ConfigError(f"{name} is not a Redis URL: write e.g. redis://host:6379/0 (rediss:// for TLS).")
    return raw.strip()


def load_settings(
    overrides: Mapping[str, Any] | None,
    instance_path: str | Path,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build `Settings` from `overrides` (wins), then `environ` (default: the process's).

    Raises `ConfigError` naming the variable for any malformed value.
    """
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    values: dict[str, Any] = {"instance_path": Path(instance_path)}
    for f in dataclasses.fields(Settings):
        name = f.name.upper()
        if f.name in ("instance_path", "dev_secrets"):
            continue
        if name in overrides:
            raw = overrides[name]
            if raw is None:  # an explicit None in `config` means "unset": the default
                continue
        elif name in environ:
            raw = environ[name]
        else:
            continue
        if not isinstance(raw, str):
            raw = _native_text(raw)
        if raw.strip() == "":  # an empty variable means unset (HUB_DRY_RUN= keeps dry-run on)
            continue
        parser = _PARSERS.get(name)
        values[f.name] = parser(name, raw) if parser else raw.strip()
    return Settings(**values)


def _native_text(raw: Any) -> str:
    """An already-typed value from a `config` dict (True, 3, ["whsec_a"]) as the variable's
    text, so it is parsed and checked exactly like the environment's."""
    if isinstance(raw, list | tuple):
        return ",".join(str(v) for v in raw)
    if isinstance(raw, bool):
        return "1" if raw else "0"
    return str(raw)
