"""The chat playground: messages take the real webhook path and the replies come back."""

from __future__ import annotations

import pytest

from hub.router import Router
from hub.services import hub_of
from tests.operator.admin_session import BROWSER, log_in


@pytest.fixture
def router():
    router = Router()

    @router.command("help")
    def help_(event, ctx):
        ctx.reply(f"Commands for {event.message.channel}")

    @router.command("twice")
    def twice(event, ctx):
        ctx.reply("first")
        ctx.reply("second")

    @router.command("boom")
    def boom(event, ctx):
        raise RuntimeError("the handler broke")

    return router


@pytest.fixture
def app(make_app, router):
    return make_app(router=router)


def say(client, csrf, channel, text):
    return client.post(
        "/admin/playground/send", json={"channel": channel, "text": text}, headers={"X-CSRF-Token": csrf}
    )


def test_a_telegram_message_goes_through_the_webhook_and_is_answered(app, client):
    csrf = log_in(client)
    result = say(client, csrf, "telegram", "/help").json
    assert result["webhook_status"] == 200
    assert result["replies"] == ["Commands for telegram"]
    event = hub_of(app).store.get(result["event"]["id"])
    assert (event.source, event.type, event.status, event.attempts) == ("telegram", "message", "done", 1)
    assert event.message.text == "/help"
    assert result["event"]["url"] == f"/admin/events/{event.id}"


def test_an_sms_is_answered_in_twiml(app, client):
    csrf = log_in(client)
    result = say(client, csrf, "sms", "HELP").json
    assert result["replies"] == ["Commands for sms"]
    event = hub_of(app).store.get(result["event"]["id"])
    assert (event.source, event.type) == ("twilio", "sms.received")


def test_replies_beyond_the_webhook_response_come_from_the_outbox(client):
    csrf = log_in(client)
    result = say(client, csrf, "telegram", "/twice").json
    assert result["replies"] == ["first"]
    assert [(o["integration"], o["status"], o["text"]) for o in result["outbox"]] == [
        ("telegram", "recorded", "second")
    ]


def test_a_failing_handler_shows_the_failed_event(client):
    csrf = log_in(client)
    result = say(client, csrf, "telegram", "/boom").json
    assert result["replies"] == []
    assert result["event"]["status"] == "failed"
    assert "the handler broke" in result["event"]["last_error"]


def test_bad_input_is_a_clear_400(client):
    csrf = log_in(client)
    assert say(client, csrf, "fax", "/help").json["error"] == "bad_channel"
    assert say(client, csrf, "telegram", "   ").json["error"] == "bad_text"
    assert say(client, csrf, "telegram", "x" * 1001).status_code == 400
    response = client.post(
        "/admin/playground/send", data="[1]", content_type="application/json", headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 400


def test_the_playground_needs_a_login_and_the_csrf_token(client):
    assert client.get("/admin/playground", headers=BROWSER).status_code == 401
    assert client.post("/admin/playground/send", json={"channel": "sms", "text": "HELP"}).status_code == 401
    log_in(client)
    refused = client.post("/admin/playground/send", json={"channel": "sms", "text": "HELP"})
    assert refused.status_code == 403


def test_the_page_works_without_javascript(client):
    csrf = log_in(client)
    html = client.get("/admin/playground", headers=BROWSER).get_data(as_text=True)
    assert 'data-channel="telegram"' in html and 'data-channel="sms"' in html
    response = client.post(
        "/admin/playground/send",
        headers=BROWSER,
        data={"channel": "telegram", "text": "/help", "csrf_token": csrf},
    )
    assert response.status_code == 200
    assert "Commands for telegram" in response.get_data(as_text=True)


def test_the_playground_refuses_to_run_outside_dry_run(make_app, router):
    app = make_app({"HUB_DRY_RUN": "0", "HUB_SECRET_KEY": "s" * 32}, router=router)
    client = app.test_client()
    csrf = log_in(client)
    response = say(client, csrf, "telegram", "/help")
    assert response.status_code == 409 and response.json["error"] == "playground_live"


def test_pay_answers_with_its_checkout_link_as_a_button(make_app):
    client = make_app().test_client()  # the real handlers: /pay makes a dry-run Checkout session
    csrf = log_in(client)
    result = say(client, csrf, "telegram", "/pay 5").json
    first = result["messages"][0]
    assert "Tap a button" in first["text"]
    [[button], [paypal]] = first["buttons"]
    assert button["text"] == "Pay with Stripe" and "/dry-run/checkout/" in button["url"]
    assert paypal["text"] == "Pay with PayPal" and "/dry-run/paypal/" in paypal["url"]
    assert result["replies"] == [first["text"]], "the plain replies stay as they were"
    page = client.get("/admin/playground", headers=BROWSER).get_data(as_text=True)
    assert f'<a class="key" href="{button["url"]}"' in page, "drawn as a link button after a reload"


def test_the_conversation_is_rebuilt_from_the_event_log(app, client):
    csrf = log_in(client)
    say(client, csrf, "telegram", "/help")
    say(client, csrf, "telegram", "/twice")
    say(client, csrf, "sms", "HELP")
    page = client.get("/admin/playground", headers=BROWSER).get_data(as_text=True)
    telegram, sms = page.split('data-channel="sms"')
    order = [telegram.index(text) for text in ("/help", "Commands for telegram", "/twice", "first", "second")]
    assert order == sorted(order), "oldest first, each answer under its message"
    assert "via outbox: telegram sendMessage (recorded)" in telegram
    assert "Commands for sms" in sms and "Commands for sms" not in telegram
    assert telegram.count('class="meta"><a href="/admin/events/evt_') == 2


def test_only_web_links_become_link_buttons():
    from hub.playground import buttons

    markup = {
        "inline_keyboard": [
            [
                {"text": "Pay", "url": "https://checkout.stripe.com/c/1"},
                {"text": "Evil", "url": "javascript:alert(1)"},
            ],
            "not a row",
        ]
    }
    assert buttons(markup) == [
        [{"text": "Pay", "url": "https://checkout.stripe.com/c/1"}, {"text": "Evil", "callback": ""}]
    ]
    assert buttons({"keyboard": [["Yes", {"text": "No"}]]}) == [
        [{"text": "Yes", "send": "Yes"}, {"text": "No", "send": "No"}]
    ]
    assert buttons(None) == [] and buttons({"remove_keyboard": True}) == []
