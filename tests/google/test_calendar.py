"""Calendar: channel renewal, push-driven incremental sync, announcements and /agenda."""

from __future__ import annotations

import time

from hub.services import hub_of
from integrations.samples import google_push, telegram_message
from tests.conftest import SECRETS, post

STATE = "google.calendar"
SAMPLE_CHANNEL = "hub-calendar-sample"  # the channel id hub simulate's push carries
WATCH_PATH = "/calendar/v3/calendars/team%40example.com/events/watch"


def chat(app, text: str, chat_id: int = 5) -> str:  # noqa: ANN001
    return post(app.test_client(), telegram_message(hub_of(app).settings, text, chat_id=chat_id)).json["text"]


def sends(hub) -> list[tuple[str, str]]:  # noqa: ANN001
    return [
        (e.payload["chat_id"], e.payload["text"])
        for e in reversed(hub.store.outbox())
        if e.action == "sendMessage"
    ]


def channel_answer(channel_id: str, resource_id: str, expires_in: float = 7 * 86400) -> dict:
    return {
        "kind": "api#channel",
        "id": channel_id,
        "resourceId": resource_id,
        "expiration": str(int((time.time() + expires_in) * 1000)),
    }


def test_renew_registers_a_channel_takes_a_baseline_and_later_replaces_it(google_app, wire):
    hub = hub_of(google_app(HUB_DRY_RUN="0"))
    wire.token().answer(200, channel_answer("chan-1", "res-1"))
    wire.answer(200, {"items": [{"id": "old"}], "nextSyncToken": "sync-1"})

    hub.emit("schedule", "calendar.renew", "renew-1", {})

    token, watch, listing = wire.requests
    assert watch.method == "POST" and watch.path == WATCH_PATH
    body = watch.json()
    assert body["address"] == "https://hub.example.com/webhooks/google/calendar"
    assert body["token"] == SECRETS["GOOGLE_CHANNEL_TOKEN"] and body["type"] == "web_hook"
    assert "syncToken" not in listing.query
    assert hub.store.kv_get(STATE, "channel")["id"] == "chan-1"
    assert hub.store.kv_get(STATE, "sync")["token"] == "sync-1"
    recorded = [e for e in hub.store.outbox() if e.action == "calendar.events.watch"]
    assert "token" not in recorded[0].payload  # the channel token stays out of the outbox

    hub.emit("schedule", "calendar.renew", "renew-2", {})  # far from expiry: nothing to do
    assert len(wire.requests) == 3

    channel = hub.store.kv_get(STATE, "channel")
    hub.store.kv_put(STATE, "channel", {**channel, "expiration": str(int((time.time() + 3600) * 1000))})
    wire.answer(200, channel_answer("chan-2", "res-2")).answer(204)
    hub.emit("schedule", "calendar.renew", "renew-3", {})

    watch2, stop = wire.requests[3:]
    assert watch2.path == WATCH_PATH  # the new channel first, so no push is missed
    assert stop.path == "/calendar/v3/channels/stop"
    assert stop.json() == {"id": "chan-1", "resourceId": "res-1"}
    assert hub.store.kv_get(STATE, "channel")["id"] == "chan-2"
    assert [e.status for e in hub.store.events(source="schedule")] == ["done", "done", "done"]


def test_dry_run_renew_records_the_watch_and_calls_nothing(make_app, wire):
    hub = hub_of(
        make_app(
            {"GOOGLE_CALENDAR_ID": "team@example.com", "HUB_PUBLIC_URL": "https://hub.example.com"},
            transports=wire.transports,
        )
    )
    hub.emit("schedule", "calendar.renew", "renew-1", {})
    [entry] = hub.store.outbox()
    assert (entry.action, entry.status) == ("calendar.events.watch", "recorded")
    assert entry.payload["address"] == "https://hub.example.com/webhooks/google/calendar"
    assert hub.store.kv_get(STATE, "channel")["dry_run"] is True
    assert wire.requests == []


def created(event_id: str, summary: str, when: str) -> dict:
    return {
        "id": event_id,
        "status": "confirmed",
        "summary": summary,
        "created": when,
        "updated": when,
        "start": {"dateTime": "2024-02-12T09:30:00+01:00"},
    }


def test_push_syncs_changes_and_announces_each_once(google_app, wire):
    app = google_app(HUB_ADMIN_CHAT_IDS="900")
    hub = hub_of(app)
    chat(app, "/subscribe calendar", chat_id=5)
    hub.store.kv_put(STATE, "channel", {"id": SAMPLE_CHANNEL, "resourceId": "r", "expiration": "0"})
    hub.store.kv_put(STATE, "sync", {"token": "sync-1"})
    standup = created("ev1", "Standup", "2024-02-01T10:00:00.000Z")
    moved = {**created("ev2", "Review", "2024-01-01T10:00:00.000Z"), "updated": "2024-02-01T11:00:00.000Z"}
    dropped = {"id": "ev3", "status": "cancelled", "updated": "2024-02-01T12:00:00.000Z"}
    wire.token().answer(200, {"items": [standup, moved, dropped], "nextSyncToken": "sync-2"})
    wire.answer(200, {"items": [standup], "nextSyncToken": "sync-3"})  # Google repeats a change

    assert post(app.test_client(), google_push(hub.settings, number=1)).status_code == 200
    assert post(app.test_client(), google_push(hub.settings, number=2)).status_code == 200

    assert wire.requests[1].query["syncToken"] == "sync-1"
    assert wire.requests[2].query["syncToken"] == "sync-2"
    events = hub.store.events(source="google")
    changes = sorted((e.type, e.provider_id) for e in events if e.type != "calendar.push")
    assert changes == [
        ("google.calendar.cancelled", "ev3:2024-02-01T12:00:00.000Z"),
        ("google.calendar.created", "ev1:2024-02-01T10:00:00.000Z"),
        ("google.calendar.updated", "ev2:2024-02-01T11:00:00.000Z"),
    ]
    announced = sends(hub)
    assert ("5", "New event: Standup, Mon 12 Feb 09:30") in announced
    assert ("900", "New event: Standup, Mon 12 Feb 09:30") in announced
    assert ("5", "Event changed: Review, Mon 12 Feb 09:30") in announced
    assert ("900", "Event cancelled: (no title)") in announced
    assert len(announced) == 6  # three changes, two chats, the repeat not announced again
    assert hub.store.kv_get(STATE, "sync")["token"] == "sync-3"


def test_expired_sync_token_means_a_full_resync_without_announcements(google_app, wire):
    app = google_app()
    hub = hub_of(app)
    hub.store.kv_put(STATE, "sync", {"token": "old-token"})
    wire.token().answer(410, {"error": {"code": 410, "message": "Sync token is no longer valid"}})
    wire.answer(200, {"items": [created("a", "A", "2024-02-01T10:00:00Z")], "nextPageToken": "p2"})
    wire.answer(200, {"items": [], "nextSyncToken": "fresh"})

    post(app.test_client(), google_push(hub.settings, number=1))

    assert wire.requests[3].query["pageToken"] == "p2"
    assert hub.store.kv_get(STATE, "sync")["token"] == "fresh"
    assert [e.type for e in hub.store.events(source="google")] == ["calendar.push"]
    assert hub.store.events(source="google")[0].status == "done"


def test_handshake_and_foreign_channels_do_not_sync(google_app, wire):
    app = google_app()
    hub = hub_of(app)
    post(app.test_client(), google_push(hub.settings, state="sync", number=1))
    hub.store.kv_put(STATE, "channel", {"id": "ours", "resourceId": "r", "expiration": "0"})
    post(app.test_client(), google_push(hub.settings, number=2))  # sent on an old channel
    assert wire.requests == []
    assert [e.status for e in hub.store.events(source="google")] == ["done", "done"]


def test_agenda_lists_the_next_events(google_app, wire):
    app = google_app()
    all_day = {"id": "b", "summary": "Offsite", "start": {"date": "2024-02-16"}}
    wire.token().answer(200, {"items": [created("a", "Standup", "2024-02-01T10:00:00Z"), all_day]})
    assert chat(app, "/agenda") == "Next up:\nStandup, Mon 12 Feb 09:30\nOffsite, Fri 16 Feb (all day)"
    listing = wire.requests[1]
    assert listing.query["orderBy"] == "startTime" and listing.query["singleEvents"] == "true"


def test_agenda_without_google_says_so(make_app, wire):
    assert chat(make_app(transports=wire.transports), "/agenda") == "The calendar is not configured here."
    assert wire.requests == []


def test_agenda_when_google_fails(google_app, wire):
    wire.token().answer(500, {"error": {"code": 500}}).answer(500, {"error": {"code": 500}})
    assert chat(google_app(), "/agenda").startswith("Sorry, the calendar is not answering")


def test_a_push_whose_sync_meets_a_google_outage_is_retried_and_announced_once(google_app, wire):
    app = google_app(HUB_RETRY_BASE_SECONDS="0")
    hub = hub_of(app)
    chat(app, "/subscribe calendar", chat_id=5)
    hub.store.kv_put(STATE, "sync", {"token": "sync-1"})
    outage = {"error": {"code": 503, "message": "Backend Error"}}
    wire.token().answer(503, outage).answer(503, outage)  # the request and the library's own retry

    assert post(app.test_client(), google_push(hub.settings, number=1)).status_code == 200

    [push] = hub.store.events(source="google")
    assert (push.status, push.attempts) == ("failed", 1)  # kept for a retry, not lost
    assert hub.store.kv_get(STATE, "sync")["token"] == "sync-1"  # the token did not move on
    standup = created("ev1", "Standup", "2024-02-01T10:00:00.000Z")
    wire.answer(200, {"items": [standup], "nextSyncToken": "sync-2"})

    report = hub.sweep()

    assert (report.ran, report.done) == (1, 1)
    assert hub.store.get(push.id).status == "done"
    assert wire.requests[-1].query["syncToken"] == "sync-1"
    assert sends(hub) == [("5", "New event: Standup, Mon 12 Feb 09:30")]
    assert hub.store.kv_get(STATE, "sync")["token"] == "sync-2"
