"""The dashboard's integrations card: what is configured, what works now, what live needs.

Secrets are shown as masks; a value generated for local use says "development". Readiness
is said in the operator's terms: in dry-run an integration works with development secrets
(its calls are recorded, not sent), and the card names what a live deployment still needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hub.providers import Setting as Declared
from hub.providers import providers

if TYPE_CHECKING:
    from hub.config import Settings

# After the providers' own (each declaration's shown settings), hub's own services: Sentry
# (hub.observability; an extra, so not configuring it is a choice, not a failure) and
# hub's settings (nothing to be ready for).
SENTRY = ("Sentry", (Declared("SENTRY_DSN", secret=True, optional=True),))
HUB = (
    "Hub",
    (
        Declared("HUB_PUBLIC_URL", optional=True),
        Declared("HUB_TASKS"),
        Declared("HUB_DRY_RUN"),
        Declared("REDIS_URL", secret=True, optional=True),
    ),
)
OPTIONAL_INTEGRATIONS = frozenset({"Sentry"})
SETTINGS_ONLY = frozenset({"Hub"})


def integrations() -> list[tuple[str, tuple[Declared, ...]]]:
    """The card's rows: every provider that declares settings to show, then hub's own."""
    declared = [(p.title, tuple(s for s in p.settings if s.shown)) for p in providers()]
    return [(title, shown) for title, shown in declared if shown] + [SENTRY, HUB]


# Prefixes that say which kind of key is set and nothing of the secret part.
PUBLIC_PREFIXES = ("whsec_", "sk_test_", "sk_live_", "rk_test_", "rk_live_")


@dataclass(frozen=True)
class Setting:
    name: str
    state: str  # "set" | "development" | "missing" | "unset" (optional)
    shown: str


@dataclass(frozen=True)
class Integration:
    name: str
    readiness: str  # "live" | "dry-run" | "off" | "optional" | "settings"
    says: str  # one sentence for the operator
    settings: list[Setting]


def mask(value: str) -> str:
    """Which kind of key is set (a Stripe test or live key), never any of its secret part."""
    return next((p for p in PUBLIC_PREFIXES if value.startswith(p)), "") + "••••••"


def _setting(settings: Settings, declared: Declared) -> Setting:
    name, secret = declared.name, declared.secret
    raw = getattr(settings, name.lower())
    value = ",".join(raw) if isinstance(raw, tuple) else str(raw) if raw is not False else "0"
    if name == "REDIS_URL" and value:
        parts = urlsplit(value)
        value, secret = f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}", False
    if name.lower() in settings.dev_secrets:
        state = "development"
    elif value:
        state = "set"
    else:
        state = "unset" if declared.optional else "missing"
    return Setting(name, state, "" if not value else mask(value) if secret else value)


def _readiness(name: str, shown: list[Setting], dry_run: bool) -> tuple[str, str]:
    if name in SETTINGS_ONLY:
        return "settings", "dry-run: calls are recorded, not sent" if dry_run else "live: calls are sent"
    # A development secret exists only in dry-run: a live deployment needs a real one.
    needed = [s.name for s in shown if s.state in ("missing", "development")]
    if name in OPTIONAL_INTEGRATIONS and all(s.state == "unset" for s in shown):
        return "optional", f"optional, off: set {', '.join(s.name for s in shown)} to turn it on"
    if not needed:
        return "live", "ready for live"
    if dry_run:
        return "dry-run", f"works in dry-run; live needs {', '.join(needed)}"
    return "off", f"off: set {', '.join(needed)}"


def integration_table(settings: Settings) -> list[Integration]:
    rows = []
    for name, declared in integrations():
        shown = [_setting(settings, setting) for setting in declared]
        readiness, says = _readiness(name, shown, settings.hub_dry_run)
        rows.append(Integration(name, readiness, says, shown))
    return rows
