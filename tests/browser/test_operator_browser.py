"""A person's path through the operator's view, in a real browser: log in, chat in the
playground, open the event the message made, replay it, watch its attempts grow."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from hub.services import hub_of
from integrations.samples import stripe_event
from tests.auxil.fake_openweather import API_KEY, FakeOpenWeather
from tests.conftest import ADMIN_TOKEN


def log_in(page: Any, base: str, shoot: Any) -> None:
    page.goto(base + "/admin")
    page.get_by_label("Admin token").wait_for()
    shoot("1-login")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Events", exact=True).wait_for()


def chat_and_replay(page: Any, base: str, shoot: Any, text: str, expected: str) -> None:
    page.locator("header nav").get_by_role("link", name="Playground").click()
    chat = page.locator('.chat[data-channel="telegram"]')
    chat.get_by_role("textbox").fill(text)
    chat.get_by_role("button", name="Send").click()
    reply = chat.locator(".bubble.bot").first
    reply.wait_for()
    assert expected in reply.inner_text()
    shoot("2-playground")

    chat.locator(".meta a").first.click()
    page.locator("#attempts").wait_for()
    assert page.locator("#attempts").inner_text() == "1"
    assert "done" in page.locator("#status").inner_text()
    assert text in page.locator("pre.payload").inner_text()
    shoot("3-event")

    page.get_by_role("button", name="Replay").click()
    page.get_by_text("Replayed: attempt 2").wait_for()
    assert page.locator("#attempts").inner_text() == "2"
    shoot("4-replayed")

    page.locator("header nav").get_by_role("link", name="Events").click()
    page.locator("#events tr").first.wait_for()
    assert page.locator("#events").get_by_text("message").count() >= 1
    shoot("5-dashboard")


@pytest.mark.browser
def test_help_in_the_playground_then_replay(make_app, serve, page, shoot):
    base = serve(make_app())
    log_in(page, base, shoot)
    chat_and_replay(page, base, shoot, "/help", "Commands")


@pytest.mark.browser
def test_the_events_table_refreshes_itself(make_app, serve, page, shoot):
    app = make_app()
    base = serve(app)
    log_in(page, base, shoot)
    assert page.locator("#events a").count() == 0
    signed = stripe_event(hub_of(app).settings, "invoice.paid")
    assert requests.post(signed.url(base), data=signed.body, headers=signed.headers, timeout=10).ok
    page.locator("#events").get_by_text("invoice.paid").wait_for()  # no reload: the page polled
    assert page.locator("#count").inner_text() == "Newest 1 of 1 event.", "the count follows the refresh"
    assert "ago" in page.locator("#events time").first.inner_text(), "refreshed rows keep relative times"
    shoot("live")
    page.reload()
    assert page.locator("#count").inner_text() == "Newest 1 of 1 event.", "the same words as the server's"


@pytest.mark.browser
def test_weather_in_the_playground_then_replay(make_app, serve, page, shoot):
    with FakeOpenWeather() as owm:
        base = serve(make_app({"OPENWEATHER_API_KEY": API_KEY, "OPENWEATHER_API_URL": owm.url}))
        log_in(page, base, shoot)
        chat_and_replay(page, base, shoot, "/weather London", "London")
        assert any(path.endswith("/data/2.5/weather") for path, _ in owm.requests)
