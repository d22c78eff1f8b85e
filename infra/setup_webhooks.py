"""`hub setup-webhooks --url <public url>`: point every configured provider at this hub.

Idempotent: each step reads the provider's current setting first and changes only what
differs; `dry_run` prints the plan and changes nothing. Telegram allows one webhook per
bot, so a stage's bot is never pointed at another stage's URL: each stage has its own
bot token, and the URL's stage must be this configuration's `HUB_STAGE`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from hub.services import Hub

ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_UPDATES = ["message", "edited_message", "callback_query", "pre_checkout_query"]
STRIPE_DEFAULT_EVENTS = ["checkout.session.completed"]


class StageMismatchError(Exception):
    """Refused: the URL or the bot belongs to another stage."""


@dataclass
class Step:
    provider: str
    action: str  # unchanged | create | update | skipped | refused
    detail: str

    def line(self) -> str:
        return f"{self.provider:<9} {self.action:<9} {self.detail}"


def known_stages(settings_path: Path = ROOT / "zappa_settings.json") -> tuple[str, ...]:
    try:
        return tuple(json.loads(settings_path.read_text()))
    except (OSError, ValueError):
        return ("dev", "prod")


def stage_of(url: str, stages: tuple[str, ...]) -> str:
    """The stage an API Gateway URL names in its first path segment ('' for custom domains)."""
    first = urlsplit(url).path.strip("/").split("/", 1)[0]
    return first if first in stages else ""


def check_stage(url: str, stage: str, stages: tuple[str, ...]) -> None:
    if not stage:
        raise StageMismatchError(
            "set HUB_STAGE (or --stage) to the stage these credentials belong to: each stage has "
            "its own Telegram bot, and Telegram keeps one webhook per bot"
        )
    url_stage = stage_of(url, stages)
    if url_stage and url_stage != stage:
        raise StageMismatchError(
            f"{url} is stage {url_stage!r} but this configuration (its bot token) is stage {stage!r}: "
            f"load the {url_stage} environment, or use the {stage} URL"
        )


def run(hub: Hub, url: str, *, stage: str, dry_run: bool) -> list[Step]:
    """Register every provider whose credentials are configured; one Step each."""
    base = url.rstrip("/")
    stages = known_stages()
    check_stage(base, stage, stages)
    settings = hub.settings
    steps = [
        _telegram(settings, base, stage, stages, dry_run),
        _stripe(hub, base, dry_run),
        _paypal(hub, base, dry_run),
        _twilio(settings, base, dry_run),
        _google(hub, base, dry_run),
    ]
    return steps


def _generated(settings: Any, *names: str) -> str:
    made = [n.upper() for n in names if n in settings.dev_secrets]
    return f"{', '.join(made)} is a generated development value; set the stage's real one" if made else ""


def _telegram(settings: Any, base: str, stage: str, stages: tuple[str, ...], dry_run: bool) -> Step:
    if not settings.telegram_bot_token:
        return Step("telegram", "skipped", "TELEGRAM_BOT_TOKEN is not set")
    if problem := _generated(settings, "telegram_webhook_secret"):
        return Step("telegram", "refused", problem)
    from integrations import telegram_setup

    target = f"{base}/webhooks/telegram"
    current = telegram_setup.webhook_status(settings)
    current_stage = stage_of(current["url"], stages)
    if current["url"] and current_stage and current_stage != stage:
        raise StageMismatchError(
            f"bot @{current['username']} is the webhook of stage {current_stage!r} ({current['url']}); "
            f"each stage needs its own bot: set this stage's TELEGRAM_BOT_TOKEN"
        )
    same = current["url"] == target and sorted(current["allowed_updates"]) == sorted(TELEGRAM_UPDATES)
    action = "unchanged" if same else ("update" if current["url"] else "create")
    if not dry_run:
        # Always (re)applied: Telegram never shows the secret token, so it cannot be compared.
        telegram_setup.set_webhook(settings, target, TELEGRAM_UPDATES)
    detail = f"@{current['username']} -> {target} (secret token, updates: {', '.join(TELEGRAM_UPDATES)})"
    if current["url"] and current["url"] != target:
        detail += f"; was {current['url']}"
    return Step("telegram", action, detail)


def _stripe(hub: Hub, base: str, dry_run: bool) -> Step:
    settings = hub.settings
    if not settings.stripe_api_key:
        return Step("stripe", "skipped", "STRIPE_API_KEY is not set")
    from integrations import stripe

    target = f"{base}/webhooks/stripe"
    events = sorted({t for (source, t) in hub.router.registrations() if source == "stripe" and t != "*"})
    events = events or STRIPE_DEFAULT_EVENTS
    existing = next((e for e in stripe.webhook_endpoints(settings) if e["url"] == target), None)
    if existing is None:
        if dry_run:
            return Step("stripe", "create", f"{target} for {', '.join(events)}")
        created = stripe.create_webhook_endpoint(settings, target, events)
        return Step(
            "stripe",
            "create",
            f"{target} ({created['id']}). Store its signing secret as STRIPE_WEBHOOK_SECRET "
            f"(append with a comma while rotating): {created['secret']}",
        )
    if sorted(existing["enabled_events"]) == events:
        return Step("stripe", "unchanged", f"{target} ({existing['id']}) for {', '.join(events)}")
    if not dry_run:
        stripe.update_webhook_endpoint(settings, existing["id"], events)
    return Step("stripe", "update", f"{existing['id']} events: {', '.join(events)}")


def _paypal(hub: Hub, base: str, dry_run: bool) -> Step:
    """The app's webhook for the event types hub handles; PAYPAL_WEBHOOK_ID must name it."""
    settings = hub.settings
    if not (settings.paypal_client_id and settings.paypal_client_secret):
        return Step("paypal", "skipped", "PAYPAL_CLIENT_ID or PAYPAL_CLIENT_SECRET is not set")
    from integrations import paypal_api

    events = sorted({t for (source, t) in hub.router.registrations() if source == "paypal" and t != "*"})
    action, detail = paypal_api.ensure_webhook(
        settings, hub.cache, f"{base}/webhooks/paypal", events, dry_run=dry_run
    )
    return Step("paypal", action, detail)


def _twilio(settings: Any, base: str, dry_run: bool) -> Step:
    if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number):
        return Step("twilio", "skipped", "TWILIO_ACCOUNT_SID, _AUTH_TOKEN or _FROM_NUMBER is not set")
    from integrations import twilio

    target = f"{base}/webhooks/twilio/sms"
    number = twilio.number_webhooks(settings)
    if number is None:
        return Step("twilio", "refused", f"the account does not own {settings.twilio_from_number}")
    note = f"; delivery receipts: pass status_callback={base}/webhooks/twilio/status when sending"
    if number["sms_url"] == target and number["sms_method"].upper() == "POST":
        return Step("twilio", "unchanged", f"{settings.twilio_from_number} SMS -> {target}{note}")
    if not dry_run:
        twilio.set_number_webhooks(settings, number["sid"], target)
    was = number["sms_url"] or "unset"
    return Step("twilio", "update", f"{settings.twilio_from_number} SMS -> {target} (was {was}){note}")


def _google(hub: Hub, base: str, dry_run: bool) -> Step:
    """The calendar push channel, opened the way the `calendar.renew` schedule keeps it open:
    by running that handler now, so the channel it stores is the one renewal replaces."""
    settings = hub.settings
    if not (settings.google_service_account_json and settings.google_calendar_id):
        return Step("google", "skipped", "GOOGLE_SERVICE_ACCOUNT_JSON or GOOGLE_CALENDAR_ID is not set")
    if problem := _generated(settings, "google_channel_token"):
        return Step("google", "refused", problem)
    if not settings.google_channel_token:
        return Step("google", "refused", "GOOGLE_CHANNEL_TOKEN is not set: each push must carry it")
    if settings.hub_dry_run:  # the renew handler would only record the watch: claim nothing
        return Step("google", "refused", "HUB_DRY_RUN=1 records calls instead of sending: set HUB_DRY_RUN=0")
    from handlers.calendar import RENEW_BEFORE, STATE

    target = f"{base}/webhooks/google/calendar"
    if settings.hub_public_url != base:
        why = f"set HUB_PUBLIC_URL={base}: the renewal schedule opens channels there"
        return Step("google", "refused", why)
    current = hub.store.kv_get(STATE, "channel") or {}
    fresh = float(current.get("expiration") or 0) / 1000 > time.time() + RENEW_BEFORE
    if current.get("address") == target and fresh and not current.get("dry_run"):
        return Step("google", "unchanged", f"channel {current['id']} -> {target}")
    if dry_run:
        return Step("google", "create", f"push channel on {settings.google_calendar_id} -> {target}")
    run = hub.emit("schedule", "calendar.renew", f"calendar.renew:setup-{uuid.uuid4().hex}", {})
    hub.tasks.drain()
    outcome = hub.store.get(run.event.id)
    opened = hub.store.kv_get(STATE, "channel") or {}
    if outcome is None or outcome.status != "done" or opened.get("address") != target:
        error = outcome.last_error if outcome else "not run"
        why = f"the channel was not opened ({error}); see: hub events --source schedule"
        return Step("google", "failed", why)
    return Step("google", "create", f"channel {opened['id']} -> {target}, expires {opened['expiration']}")
