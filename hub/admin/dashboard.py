"""The admin dashboard: server-rendered pages over the store, behind the admin login.

Pages read the store directly (no build step, no client framework); the events table
refreshes itself by polling `/admin/api/events` with the page's filters.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from hub.admin.auth import guard_page, secure_headers
from hub.events import DEAD, FAILED, STATUSES, iso_time
from hub.runtime import current_hub

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.events import Event

bp = Blueprint("admin_dashboard", __name__, url_prefix="/admin")
bp.before_request(guard_page)
bp.after_request(secure_headers)

EVENTS_SHOWN = 50
STATS_WINDOW = 1000  # the newest events the charts count
HOURS = 24

# What each integration needs, and which of those values are secret (masked when shown).
INTEGRATIONS: dict[str, tuple[tuple[str, bool], ...]] = {
    "Telegram": (("TELEGRAM_BOT_TOKEN", True), ("TELEGRAM_WEBHOOK_SECRET", True)),
    "Stripe": (("STRIPE_API_KEY", True), ("STRIPE_WEBHOOK_SECRET", True)),
    "PayPal": (
        ("PAYPAL_CLIENT_ID", True), ("PAYPAL_CLIENT_SECRET", True), ("PAYPAL_WEBHOOK_ID", False),
        ("PAYPAL_ENVIRONMENT", False),
    ),  # fmt: skip
    "Twilio": (("TWILIO_ACCOUNT_SID", True), ("TWILIO_AUTH_TOKEN", True), ("TWILIO_FROM_NUMBER", True)),
    "OpenWeatherMap": (("OPENWEATHER_API_KEY", True),),
    "Google": (
        ("GOOGLE_SERVICE_ACCOUNT_JSON", True), ("GOOGLE_CHANNEL_TOKEN", True),
        ("GOOGLE_CALENDAR_ID", False), ("GOOGLE_SHEET_ID", False),
    ),  # fmt: skip
    "Sentry": (("SENTRY_DSN", True),),
    "Hub": (("HUB_PUBLIC_URL", False), ("HUB_TASKS", False), ("HUB_DRY_RUN", False), ("REDIS_URL", True)),
}


# Settings an integration works without (defaults apply); shown as "unset", never "missing".
OPTIONAL = frozenset({"HUB_PUBLIC_URL", "REDIS_URL", "GOOGLE_CALENDAR_ID", "GOOGLE_SHEET_ID"})


@dataclass(frozen=True)
class Setting:
    name: str
    state: str  # "set" | "development" | "missing" | "unset" (optional)
    shown: str


# Prefixes that say which kind of key is set and nothing of the secret part.
PUBLIC_PREFIXES = ("whsec_", "sk_test_", "sk_live_", "rk_test_", "rk_live_")


def mask(value: str) -> str:
    """Which kind of key is set (a Stripe test or live key), never any of its secret part."""
    return next((p for p in PUBLIC_PREFIXES if value.startswith(p)), "") + "••••••"


def integration_table(settings: Settings) -> list[tuple[str, bool, list[Setting]]]:
    rows = []
    for integration, names in INTEGRATIONS.items():
        shown = []
        for name, secret in names:
            raw = getattr(settings, name.lower())
            value = ",".join(raw) if isinstance(raw, tuple) else str(raw) if raw is not False else "0"
            if name == "REDIS_URL" and value:
                parts = urlsplit(value)
                value, secret = f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}", False
            state = "development" if name.lower() in settings.dev_secrets else "set" if value else (
                "unset" if name in OPTIONAL else "missing")
            text = "" if not value else mask(value) if secret else value
            shown.append(Setting(name, state, text))
        configured = all(s.state != "missing" for s in shown)
        rows.append((integration, configured, shown))
    return rows


def without_secrets(text: str, settings: Settings) -> str:
    """A stored payload or error as shown: configured secret values masked."""
    for secret in sorted(settings.secret_values(), key=len, reverse=True):
        text = text.replace(secret, "••••••")
    return text


def per_source(events: list[Event]) -> list[dict[str, Any]]:
    counts = Counter(e.source for e in events)
    failures = Counter(e.source for e in events if e.status in (FAILED, DEAD))
    top = max(counts.values(), default=1)
    return [
        {"source": s, "count": n, "failed": failures[s], "width": round(100 * n / top, 1)}
        for s, n in counts.most_common()
    ]


def per_hour(events: list[Event], now: float) -> list[dict[str, Any]]:
    """Events and failures (failed, dead or ever errored) in each of the last 24 hours."""
    start = (int(now) // 3600 - HOURS + 1) * 3600
    buckets = [{"hour": time.strftime("%H:00", time.gmtime(start + i * 3600)), "events": 0, "failures": 0}
               for i in range(HOURS)]  # fmt: skip
    for event in events:
        index = int(event.received_at - start) // 3600
        if 0 <= index < HOURS:
            buckets[index]["events"] += 1
            if event.status in (FAILED, DEAD) or event.last_error:
                buckets[index]["failures"] += 1
    top = max((b["events"] for b in buckets), default=0) or 1
    for bucket in buckets:
        bucket["events_height"] = round(80 * bucket["events"] / top, 1)
        bucket["failures_height"] = round(80 * bucket["failures"] / top, 1)
    return buckets


def _filters() -> dict[str, str]:
    chosen = {k: request.args.get(k, "").strip() for k in ("source", "type", "status")}
    if chosen["status"] and chosen["status"] not in STATUSES:
        chosen["status"] = ""
    return chosen


@bp.get("")
def index() -> str:
    hub = current_hub()
    filters = _filters()
    events = hub.store.events(
        source=filters["source"] or None, type=filters["type"] or None,
        status=filters["status"] or None, limit=EVENTS_SHOWN,
    )  # fmt: skip
    recent = hub.store.events(limit=STATS_WINDOW)
    poll = url_for("admin_api.list_events") + "?" + urlencode({**{k: v for k, v in filters.items() if v},
                                                              "limit": EVENTS_SHOWN})  # fmt: skip
    return render_template(
        "admin/dashboard.html",
        events=events,
        filters=filters,
        statuses=STATUSES,
        sources=sorted({e.source for e in recent} | ({filters["source"]} - {""})),
        poll_url=poll,
        by_source=per_source(recent),
        by_hour=per_hour(recent, hub.store.clock()),
        integrations=integration_table(hub.settings),
        settings=hub.settings,
        clean=lambda text: without_secrets(text or "", hub.settings),
        iso_time=iso_time,
    )


@bp.get("/events/<event_id>")
def event_page(event_id: str) -> str:
    hub = current_hub()
    event = hub.store.get(event_id)
    if event is None:
        abort(404, f"no event {event_id}")
    payload = without_secrets(json.dumps(event.payload, indent=2, sort_keys=True), hub.settings)
    outbox = hub.store.outbox(event_id=event.id, limit=200)
    return render_template(
        "admin/event.html",
        event=event,
        payload=payload,
        outbox=outbox,
        clean=lambda text: without_secrets(text or "", hub.settings),
        as_json=lambda value: without_secrets(json.dumps(value, indent=2, sort_keys=True), hub.settings),
        iso_time=iso_time,
    )


@bp.post("/events/<event_id>/replay")
def replay(event_id: str) -> Response:
    hub = current_hub()
    if hub.store.get(event_id) is None:
        abort(404, f"no event {event_id}")
    result = hub.replay(event_id)
    if not result.ran or result.event is None:
        flash("The event is being handled right now; try again when it finishes.", "error")
    elif result.error:
        flash(f"Replayed: the handler failed again ({without_secrets(result.error, hub.settings)}).", "error")
    else:
        flash(f"Replayed: attempt {result.event.attempts} finished as {result.event.status}.", "ok")
    return redirect(url_for("admin_dashboard.event_page", event_id=event_id), code=303)


@bp.get("/outbox")
def outbox_page() -> str:
    hub = current_hub()
    return render_template(
        "admin/outbox.html",
        entries=hub.store.outbox(limit=200),
        as_json=lambda value: without_secrets(json.dumps(value, sort_keys=True), hub.settings),
        iso_time=iso_time,
    )
