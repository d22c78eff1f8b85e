"""The operator's console in a real browser, on a desktop (1366 px) and a phone (390 px):
every page fits its screen, the event page tells each attempt's story, bulk replay asks
with the count first, paging reaches older events, and the playground draws `/pay`'s
button and keeps the chat across a reload. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest

from hub.events import Event
from hub.services import hub_of
from integrations.samples import stripe_event, telegram_message
from tests.browser.conftest import WIDTHS, save_screenshot
from tests.conftest import ADMIN_TOKEN, post

KINDS = list(WIDTHS)
LONG_TYPE = "customer.subscription.trial_will_end"  # no handler: shown as unhandled


def seeded(make_app: Any, *, events: int = 55) -> tuple[Any, str]:
    """An app with a day's traffic: many events, a long unhandled type, one that failed
    twice (its worker gave up) before a replay fixed it; returns it and that event's id."""
    app = make_app()
    hub = hub_of(app)
    client = app.test_client()
    for n in range(events):
        post(client, stripe_event(hub.settings, "invoice.paid", event_id=f"evt_seed{n:03d}"))
    post(client, stripe_event(hub.settings, LONG_TYPE))
    post(client, telegram_message(hub.settings, "/help"))
    # A failure as the worker records it: claimed, failed, claimed again, dead.
    failing = hub.store.record(stripe_event_model(hub, "evt_declined")).event
    first = hub.store.claim(failing.id, lease_seconds=30)
    hub.store.fail(first, "RuntimeError: card declined by the bank", retry_at=hub.store.clock())
    second = hub.store.claim(failing.id, lease_seconds=30)
    hub.store.fail(second, "RuntimeError: card declined again", retry_at=None)
    return app, failing.id


def stripe_event_model(hub: Any, provider_id: str) -> Event:
    payload = {"id": provider_id, "type": "invoice.payment_failed", "data": {"object": {}}}
    return Event(source="stripe", type="invoice.payment_failed", provider_id=provider_id, payload=payload)


def log_in(page: Any, base: str) -> None:
    page.goto(base + "/admin/login")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Events", exact=True).wait_for()


def assert_fits(page: Any, what: str) -> None:
    """Nothing on the page is wider than the window, and the header holds on one band."""
    widths = page.evaluate(
        "() => ({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
        " view: window.innerWidth, header: document.querySelector('header.top').scrollWidth})"
    )
    assert widths["doc"] <= widths["view"], f"{what}: the page is {widths['doc']} px wide at {widths['view']}"
    assert widths["body"] <= widths["view"] and widths["header"] <= widths["view"], f"{what}: {widths}"
    logout = page.locator("header .logout button")
    if logout.count():
        box = logout.bounding_box()
        line = page.evaluate("() => parseFloat(getComputedStyle(document.body).lineHeight)")
        assert box["height"] < 1.6 * line, f"{what}: 'Log out' wraps ({box['height']} px high)"
        assert box["x"] + box["width"] <= widths["view"], f"{what}: 'Log out' is off screen"


@pytest.mark.browser
@pytest.mark.parametrize("kind", KINDS)
def test_every_page_fits_the_screen(make_app, serve, sized, kind):
    app, declined = seeded(make_app)
    base = serve(app)
    page = sized(kind)

    page.goto(base + "/admin")
    page.get_by_label("Admin token").wait_for()
    assert_fits(page, "login")
    save_screenshot(page, f"console-{kind}-login")

    log_in(page, base)
    assert_fits(page, "/admin")
    assert page.locator("#events tr").count() == 50
    assert page.locator("#count").inner_text() == "Newest 50 of 58 events."
    assert page.locator("#events .badge-unhandled").count() == 1, "an event no handler took"
    assert page.locator("#events").get_by_text(LONG_TYPE).count() == 1, "long types whole"
    clipped = page.evaluate(
        "() => [...document.querySelectorAll('svg.chart text')].filter(t => {"
        " const box = t.getBBox(), view = t.ownerSVGElement.viewBox.baseVal;"
        " return box.x < view.x - 0.5 || box.x + box.width > view.x + view.width + 0.5; })"
        ".map(t => t.textContent)"
    )
    assert clipped == [], f"chart labels cut at the chart's edge: {clipped}"
    assert "57 (1 failing)" in page.locator("svg.chart").first.inner_html()
    save_screenshot(page, f"console-{kind}-dashboard")

    page.locator("#older").click()
    page.locator("#count").wait_for()
    assert page.locator("#count").inner_text() == "Older 8 of 58 events."
    assert page.locator("#events tr").count() == 8
    assert_fits(page, "/admin, older")

    page.goto(base + f"/admin/events/{declined}")
    page.locator("#timeline").wait_for()
    assert_fits(page, "event page")
    save_screenshot(page, f"console-{kind}-event")

    page.goto(base + "/admin/outbox")
    page.get_by_role("heading", name="Outbox").wait_for()
    assert_fits(page, "/admin/outbox")
    save_screenshot(page, f"console-{kind}-outbox")

    page.goto(base + "/admin/playground")
    chat = page.locator('.chat[data-channel="telegram"]')
    chat.get_by_role("textbox").fill("/pay 5")
    chat.get_by_role("button", name="Send").click()
    chat.get_by_role("link", name="Pay with Stripe").wait_for()
    assert_fits(page, "playground")
    save_screenshot(page, f"console-{kind}-playground")

    page.goto(base + "/admin/events/evt_missing")
    page.get_by_role("heading", name="404 · Not Found").wait_for()
    assert_fits(page, "404 page")
    save_screenshot(page, f"console-{kind}-404")


@pytest.mark.browser
@pytest.mark.parametrize("kind", KINDS)
def test_the_event_page_tells_each_attempt_and_its_headers(make_app, serve, sized, kind):
    app, declined = seeded(make_app, events=1)
    base = serve(app)
    page = sized(kind)
    log_in(page, base)
    page.goto(base + f"/admin/events/{declined}")
    attempts = page.locator("#timeline .attempt")
    assert attempts.count() == 2
    assert "card declined again" in attempts.nth(0).inner_text(), "newest attempt first"
    assert "card declined by the bank" in attempts.nth(1).inner_text()

    page.get_by_role("button", name="Replay").click()  # dry-run: no confirmation needed
    page.get_by_text("Replayed: attempt 3").wait_for()
    assert attempts.count() == 3
    assert "done" in attempts.nth(0).inner_text() and "by the bank" in page.locator("#timeline").inner_text()
    time_text = attempts.nth(0).locator("time").inner_text()
    assert "ago" in time_text, f"recent times are relative: {time_text!r}"
    assert attempts.nth(0).locator("time").get_attribute("title").endswith("UTC")
    save_screenshot(page, f"console-{kind}-timeline")

    # A webhook's page lists the headers it came with, the signature masked.
    paid = hub_of(app).store.events(type="invoice.paid")[0].id
    page.goto(base + f"/admin/events/{paid}")
    headers = page.locator("#headers").inner_text()
    assert "Stripe-Signature" in headers and "••••••" in headers and "v1=" not in headers
    assert_fits(page, "event page with headers")


@pytest.mark.browser
def test_bulk_replay_shows_the_count_and_asks_first(make_app, serve, sized):
    app, declined = seeded(make_app, events=3)
    base = serve(app)
    page = sized("desktop")
    log_in(page, base)
    assert page.locator("#bulk-replay").count() == 0, "no bulk replay without a filter"
    page.get_by_label("Status").select_option("dead")
    page.get_by_role("button", name="Filter").click()
    page.locator("#bulk-replay").click()
    assert page.locator("#question").inner_text() == "Replay 1 event matching status dead?"
    save_screenshot(page, "console-desktop-bulk-confirm")
    assert hub_of(app).store.get(declined).attempts == 2, "nothing ran before the confirmation"
    page.get_by_role("button", name="Replay 1").click()
    page.get_by_text("Replayed 1 of 1 matching events.").wait_for()
    assert hub_of(app).store.get(declined).attempts == 3


@pytest.mark.browser
def test_a_live_replay_asks_first(make_app, serve, sized):
    app = make_app({"HUB_DRY_RUN": "0", "HUB_SECRET_KEY": "s" * 32})
    event_id = post(app.test_client(), stripe_event(hub_of(app).settings, LONG_TYPE)).json["event_id"]
    base = serve(app)
    page = sized("phone")
    log_in(page, base)
    page.goto(base + f"/admin/events/{event_id}")
    page.get_by_role("button", name="Replay…").click()
    page.get_by_role("heading", name="Replay this event?").wait_for()
    assert "hub is live" in page.locator("main").inner_text()
    assert_fits(page, "live replay confirmation")
    save_screenshot(page, "console-phone-live-confirm")
    assert hub_of(app).store.get(event_id).attempts == 1
    page.get_by_role("button", name="Replay", exact=True).click()
    page.get_by_text("Replayed: attempt 2").wait_for()


@pytest.mark.browser
@pytest.mark.parametrize("kind", KINDS)
def test_pay_draws_its_button_and_the_chat_survives_a_reload(make_app, serve, sized, kind):
    base = serve(make_app())
    page = sized(kind)
    log_in(page, base)
    page.goto(base + "/admin/playground")
    chat = page.locator('.chat[data-channel="telegram"]')
    for text in ("/help", "/weather Oslo", "/help", "/pay 5"):
        chat.get_by_role("textbox").fill(text)
        chat.get_by_role("button", name="Send").click()
        chat.locator(".meta").nth(page.locator(".chat").first.locator(".bubble.me").count() - 1).wait_for()
    stripe, paypal = chat.locator(".keyboard a.key").all()
    assert stripe.inner_text() == "Pay with Stripe" and "/dry-run/checkout/" in stripe.get_attribute("href")
    assert paypal.inner_text() == "Pay with PayPal" and "/dry-run/paypal/" in paypal.get_attribute("href")
    assert_newest_in_view(chat)
    save_screenshot(page, f"console-{kind}-pay")

    page.reload()
    chat = page.locator('.chat[data-channel="telegram"]')
    sent = [b.inner_text() for b in chat.locator(".bubble.me").all()]
    assert sent == ["/help", "/weather Oslo", "/help", "/pay 5"]
    assert chat.locator(".keyboard a.key").count() == 2, "the buttons are back after the reload"
    assert "Commands" in chat.locator(".bubble.bot").first.inner_text()
    assert_newest_in_view(chat)
    save_screenshot(page, f"console-{kind}-reloaded")


def assert_newest_in_view(chat: Any) -> None:
    gap = chat.locator(".conversation").evaluate("l => l.scrollHeight - l.clientHeight - l.scrollTop")
    assert gap <= 2, f"the chat is scrolled {gap} px above its newest message"
