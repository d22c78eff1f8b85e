"""Deliveries in a real browser at 1366 and 390 px: the Deliveries page fits the screen (its
table turns into cards on a phone), a dead delivery is replayed with its button, a sent one
is refused in words, the event page lists its deliveries and the outbox shows provider
reports and possible duplicates. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from hub.deliveries import DEAD, FAILED, Delivery
from hub.router import Router
from hub.services import hub_of
from integrations.samples import stripe_event
from tests.browser.conftest import SCREENSHOTS, WIDTHS, save_screenshot
from tests.browser.test_console_browser import assert_fits, log_in
from tests.conftest import post
from tests.operator.test_delivery_pages import ended

KINDS = list(WIDTHS)
PHONE = "+15551234567"


def seeded(make_app: Any) -> tuple[Any, str, Delivery]:
    """A paid invoice that told three messages: one sent, one SMS dead, one Telegram failing;
    an SMS the provider could not deliver and a resend of unknown outcome in the outbox."""
    router = Router()

    @router.on("stripe", "invoice.paid")
    def paid(event, ctx):  # noqa: ANN001, ANN202
        ctx.send_text("telegram", "1001", "Thank you! We received 9.00 EUR for your subscription.")

    app = make_app(router=router)
    hub = hub_of(app)
    event_id = post(app.test_client(), stripe_event(hub.settings, "invoice.paid")).json["event_id"]
    shipped = "Your order has shipped and arrives on Thursday between 9 and 12."
    dead = ended(
        hub,
        event_id,
        PHONE,
        shipped,
        status=DEAD,
        error="TwilioRestException: HTTP 400 error: 21610 Attempt to send to unsubscribed recipient",
    )
    ended(
        hub,
        event_id,
        "-1001234567890",
        "Daily digest: 3 new posts",
        status=FAILED,
        channel="telegram",
        error="RetryAfter: Flood control exceeded. Retry in 17 seconds",
    )
    hub.store.add_outbox(
        "twilio",
        "messages.create",
        {"to": "[phone]", "body": "Your code is 1234"},
        event_id=event_id,
        status="sent",
        ref="SM0001",
    )
    hub.store.record_provider_report("SM0001", status="undelivered", detail="30003 unreachable handset")
    doubled = hub.store.add_outbox(
        "telegram",
        "sendMessage",
        {"chat_id": 7, "text": "Payment received"},
        event_id=event_id,
        status="sending",
    )
    hub.store.finish_outbox(replace(doubled, status="sent", possible_duplicate=True))
    return app, event_id, dead


@pytest.mark.browser
@pytest.mark.parametrize("kind", KINDS)
def test_deliveries_fit_the_screen_and_replay_from_their_button(make_app, serve, sized, kind):
    app, event_id, dead = seeded(make_app)
    base = serve(app)
    page = sized(kind)
    log_in(page, base)

    page.get_by_role("link", name="Deliveries", exact=True).click()
    page.get_by_role("heading", name="Deliveries", exact=True).wait_for()
    assert_fits(page, "/admin/deliveries")
    rows = page.locator("table.deliveries tbody tr")
    assert rows.count() == 3 and page.locator("#count").inner_text() == "Newest 3 deliveries."
    assert PHONE not in page.content() and "+••••••4567" in page.locator(f'tr[id="{dead.id}"]').inner_text()
    header_shown = page.locator("table.deliveries thead").is_visible()
    assert header_shown == (kind == "desktop"), "a phone shows cards, not a table header"
    for button in page.locator("table.deliveries button.replay").all():
        box = button.bounding_box()
        assert box["x"] + box["width"] <= WIDTHS[kind], "a replay button is on screen, not scrolled away"
    if kind == "phone":
        first = rows.first.bounding_box()
        assert first["width"] <= WIDTHS["phone"], "a card is no wider than the phone"
    save_screenshot(page, f"deliveries-{kind}-list")

    page.get_by_label("Status").select_option("dead")
    page.get_by_role("button", name="Filter").click()
    page.locator("#count").wait_for()
    assert page.locator("#count").inner_text() == "Newest 1 matching delivery."
    page.locator(f'tr[id="{dead.id}"]').get_by_role("button", name="Replay").click()
    page.get_by_role("status").wait_for()
    assert "Replayed: the delivery to +••••••4567 is due now." in page.get_by_role("status").inner_text()
    assert hub_of(app).store.get_delivery(dead.id).status == "sent", "dry-run: recorded by the run"
    assert page.locator("table.deliveries tr.empty").inner_text() == "No delivery matches these filters."
    save_screenshot(page, f"deliveries-{kind}-replayed")

    page.goto(base + f"/admin/events/{event_id}")
    section = page.locator("#deliveries")
    section.wait_for()
    assert section.locator("tbody tr").count() == 3
    assert_fits(page, "event page with deliveries")
    save_screenshot(page, f"deliveries-{kind}-event")
    section.screenshot(path=str(SCREENSHOTS / f"deliveries-{kind}-event-section.png"))

    page.goto(base + "/admin/outbox")
    page.get_by_role("heading", name="Outbox").wait_for()
    assert_fits(page, "/admin/outbox")
    twilio = page.locator("table.outbox tr", has_text="messages.create")
    assert twilio.locator(".badge-sent").is_visible() and twilio.locator(".badge-undelivered").is_visible()
    assert page.locator("table.outbox .badge-duplicate").is_visible()
    save_screenshot(page, f"deliveries-{kind}-outbox")
