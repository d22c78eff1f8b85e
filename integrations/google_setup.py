"""Google's setup-webhooks step and doctor probe, named by its declaration, and where the
calendar push channel is kept: the `calendar.renew` handler and setup-webhooks both read
these, so neither imports the other."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.services import Hub

STATE = "google.calendar"  # kv namespace: "channel" and "sync" records
RENEW_BEFORE = 2 * 86400  # seconds before expiry a channel is replaced


def setup_webhook(
    hub: Hub, base: str, *, stage: str, stages: tuple[str, ...], dry_run: bool
) -> tuple[str, str]:
    """The calendar push channel, opened the way the `calendar.renew` schedule keeps it open:
    by running that handler now, so the channel it stores is the one renewal replaces."""
    settings = hub.settings
    if not (settings.google_service_account_json and settings.google_calendar_id):
        return "skipped", "GOOGLE_SERVICE_ACCOUNT_JSON or GOOGLE_CALENDAR_ID is not set"
    if "google_channel_token" in settings.dev_secrets:
        return "refused", "GOOGLE_CHANNEL_TOKEN is a generated development value; set the stage's real one"
    if not settings.google_channel_token:
        return "refused", "GOOGLE_CHANNEL_TOKEN is not set: each push must carry it"
    if settings.hub_dry_run:  # the renew handler would only record the watch: claim nothing
        return "refused", "HUB_DRY_RUN=1 records calls instead of sending: set HUB_DRY_RUN=0"
    target = f"{base}/webhooks/google/calendar"
    if settings.hub_public_url != base:
        return "refused", f"set HUB_PUBLIC_URL={base}: the renewal schedule opens channels there"
    current = hub.store.kv_get(STATE, "channel") or {}
    fresh = float(current.get("expiration") or 0) / 1000 > time.time() + RENEW_BEFORE
    if current.get("address") == target and fresh and not current.get("dry_run"):
        return "unchanged", f"channel {current['id']} -> {target}"
    if dry_run:
        return "create", f"push channel on {settings.google_calendar_id} -> {target}"
    run = hub.emit("schedule", "calendar.renew", f"calendar.renew:setup-{uuid.uuid4().hex}", {})
    hub.tasks.drain()
    outcome = hub.store.get(run.event.id)
    opened = hub.store.kv_get(STATE, "channel") or {}
    if outcome is None or outcome.status != "done" or opened.get("address") != target:
        error = outcome.last_error if outcome else "not run"
        return "failed", f"the channel was not opened ({error}); see: hub events --source schedule"
    return "create", f"channel {opened['id']} -> {target}, expires {opened['expiration']}"


def doctor_probe(hub: Hub) -> str:
    settings = hub.settings
    info = json.loads(settings.google_service_account_json)
    if "client_email" not in info or "private_key" not in info:
        raise ValueError("GOOGLE_SERVICE_ACCOUNT_JSON is not a service-account key file")
    calendar = settings.google_calendar_id or "unset GOOGLE_CALENDAR_ID"
    return f"service account {info['client_email']}; share calendar {calendar} with it"
