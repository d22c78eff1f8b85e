"""Google Calendar: keep a push channel alive, sync changes on each push, announce them.

- schedule/calendar.renew registers a channel when none is live or the live one expires
  within RENEW_BEFORE, then stops the old one (new first: no gap in notifications).
- google/calendar.push ("sync" is Google's handshake and does nothing) runs an
  incremental sync with the stored sync token. The first sync, and a resync after
  410 Gone, only take a new token: announcing a whole calendar would be noise.
- Each created/updated/cancelled event becomes an internal google/google.calendar.<kind>
  event (provider id: event id + updated time, so a change is announced once), and
  is announced to chats that sent `/subscribe calendar` plus the HUB_ADMIN_CHAT_IDS
  (Telegram chats): operators hear about their calendar without subscribing.
- `/agenda` lists the next events.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from handlers import router
from handlers.subscriptions import CALENDAR_SUBSCRIPTIONS
from hub.context import Context
from hub.events import Event
from integrations import google_calendar
from integrations.google_api import GoogleNotConfiguredError
from integrations.google_setup import RENEW_BEFORE, STATE

log = logging.getLogger("hub.calendar")

AGENDA_SIZE = 5
KINDS = ("created", "updated", "cancelled")


@router.on("schedule", "calendar.renew")
def renew(event: Event, ctx: Context) -> None:
    channel = ctx.store.kv_get(STATE, "channel")
    # A channel recorded in dry-run never reached Google: a live hub must not stop it.
    if channel and channel.get("dry_run") and not ctx.settings.hub_dry_run:
        channel = None
    # A channel pointing at an old public URL (the hub moved) is replaced like an expiring one.
    moved = (
        channel and channel.get("address", "") != ctx.settings.hub_public_url + google_calendar.WEBHOOK_PATH
    )
    if channel and not moved and int(channel.get("expiration") or 0) / 1000 - time.time() > RENEW_BEFORE:
        return
    try:
        fresh = google_calendar.watch_calendar(ctx)
    except GoogleNotConfiguredError as exc:
        log.warning("calendar channel not renewed: %s", exc)
        return
    ctx.store.kv_put(STATE, "channel", {**fresh, "dry_run": ctx.settings.hub_dry_run})
    if channel:
        google_calendar.stop_channel(ctx, channel)
    if ctx.settings.google_service_account_json and not _sync_token(ctx):
        _full_sync(ctx)  # a baseline, so the first push already has something to compare with


@router.on("google", "calendar.push")
def push(event: Event, ctx: Context) -> None:
    if event.payload.get("resource_state") == "sync":
        return  # the handshake right after watch: nothing changed yet
    channel = ctx.store.kv_get(STATE, "channel")
    live_channel = channel and not channel.get("dry_run")  # a dry-run record never reached Google
    if live_channel and event.payload.get("channel_id") != channel.get("id"):
        log.info("push from a channel that is no longer ours; ignored")
        return
    try:
        sync(ctx)
    except GoogleNotConfiguredError as exc:
        log.warning("calendar not synced: %s", exc)


def sync(ctx: Context) -> int:
    """Emit an event per change since the stored sync token; returns how many."""
    token = _sync_token(ctx)
    if not token:
        _full_sync(ctx)
        return 0
    try:
        items, next_token = google_calendar.list_events(ctx, syncToken=token)
    except google_calendar.SyncTokenExpiredError:
        log.warning("calendar sync token expired (410); full resync, changes in between not announced")
        _full_sync(ctx)
        return 0
    for item in items:  # emitted before the token moves on: a retried run re-emits, deduplicated
        kind = change_kind(item)
        provider_id = f"{item.get('id', '')}:{item.get('updated', '')}"
        ctx.emit("google", f"google.calendar.{kind}", provider_id, _summary(item))
    ctx.store.kv_put(STATE, "sync", {"token": next_token, "at": time.time()})
    return len(items)


def _sync_token(ctx: Context) -> str:
    return (ctx.store.kv_get(STATE, "sync") or {}).get("token", "")


def _full_sync(ctx: Context) -> None:
    _, token = google_calendar.list_events(ctx, singleEvents=True, maxResults=2500)
    ctx.store.kv_put(STATE, "sync", {"token": token, "at": time.time()})


def change_kind(item: dict[str, Any]) -> str:
    """cancelled, created (created and updated within seconds of each other), else updated."""
    if item.get("status") == "cancelled":
        return "cancelled"
    try:
        created = datetime.fromisoformat(item["created"])
        updated = datetime.fromisoformat(item["updated"])
    except (KeyError, ValueError):
        return "updated"
    return "created" if abs((updated - created).total_seconds()) < 5 else "updated"


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "status", "summary", "start", "end", "updated", "htmlLink", "location")
    return {k: item[k] for k in keep if k in item}


def describe(item: dict[str, Any]) -> str:
    """`Standup, Mon 12 Feb 09:30` or `Offsite, Fri 16 Feb (all day)`."""
    title = item.get("summary") or "(no title)"
    start = item.get("start") or {}
    try:
        if "dateTime" in start:
            when = datetime.fromisoformat(start["dateTime"]).strftime("%a %d %b %H:%M")
        elif "date" in start:
            when = datetime.fromisoformat(start["date"]).strftime("%a %d %b") + " (all day)"
        else:
            return title
    except ValueError:
        return title
    return f"{title}, {when}"


def announce(event: Event, ctx: Context) -> None:
    kind = event.type.rsplit(".", 1)[-1]
    heading = {"created": "New event", "updated": "Event changed", "cancelled": "Event cancelled"}[kind]
    text = f"{heading}: {describe(event.payload)}"
    for channel, address in recipients(ctx):
        ctx.send_text(channel, address, text)


for _kind in KINDS:
    router.add_handler("google", f"google.calendar.{_kind}", announce)


def recipients(ctx: Context) -> list[tuple[str, str]]:
    """Calendar subscribers, then admin Telegram chats not already among them; stable order."""
    subs = ctx.store.kv_items(CALENDAR_SUBSCRIPTIONS)
    found = [(s["channel"], s["address"]) for _, s in sorted(subs.items())]
    admins = [("telegram", chat) for chat in ctx.settings.hub_admin_chat_ids]
    found += [admin for admin in admins if admin not in found]
    return found


@router.command("agenda", help="the next calendar events")
def agenda(event: Event, ctx: Context) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    try:
        items, _ = google_calendar.list_events(
            ctx,
            all_pages=False,
            timeMin=now,
            singleEvents=True,
            orderBy="startTime",
            maxResults=AGENDA_SIZE,
        )
    except GoogleNotConfiguredError:
        ctx.reply("The calendar is not configured here.")
        return
    except Exception:  # an API failure must still get an answer in chat
        log.warning("agenda read failed", exc_info=True)
        ctx.reply("Sorry, the calendar is not answering right now. Try again in a few minutes.")
        return
    if not items:
        ctx.reply("Nothing on the calendar.")
        return
    ctx.reply("Next up:\n" + "\n".join(describe(i) for i in items[:AGENDA_SIZE]))
