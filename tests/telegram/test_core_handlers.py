"""/start, /help and the answers to everything else, on Telegram and by SMS."""

from __future__ import annotations

import pytest

from handlers import core
from hub.router import Router
from hub.services import hub_of
from integrations.samples import telegram_message, twilio_sms
from tests.conftest import post


def router_with_weather() -> Router:
    """The core handlers plus a command another module would add."""
    router = Router()
    router.add_command("start", core.start, help="say hello")
    router.add_command("help", core.help_, help="list the commands")
    router.add_command("weather", lambda event, ctx: None, help="current weather", usage="/weather <city>")
    router.set_text_fallback(core.unknown)
    return router


@pytest.fixture
def chat(make_app):
    app = make_app(router=router_with_weather())
    client, settings = app.test_client(), hub_of(app).settings

    def telegram(text: str) -> str:
        return post(client, telegram_message(settings, text)).json["text"]

    def sms(text: str) -> str:
        return post(client, twilio_sms(settings, "http://localhost", text)).get_data(as_text=True)

    return telegram, sms


def test_start_greets_by_first_name(chat):
    telegram, _ = chat
    assert telegram("/start") == "Hi Sam! I am hub's bot. Send /help to see what I can do."


def test_help_lists_every_registered_command_with_its_usage(chat):
    telegram, _ = chat
    assert telegram("/help") == (
        "Commands:\n/help - list the commands\n/start - say hello\n/weather <city> - current weather"
    )
    assert telegram("/help@hub_test_bot") == telegram("/help")  # as sent in groups


def test_help_by_sms_uses_sms_names(chat):
    _, sms = chat
    answer = sms("help")
    assert "HELP - list the commands" in answer
    assert "WEATHER &lt;city&gt; - current weather" in answer  # TwiML escapes the brackets
    assert "/" not in answer.split("Commands:")[1].split("</Message>")[0]
    assert "START" not in answer  # a carrier keyword by SMS


def test_unknown_command_names_itself_and_help(chat):
    telegram, _ = chat
    assert telegram("/foo") == "I don't know /foo. Send /help to see the commands."


def test_a_near_miss_gets_a_suggestion(chat):
    telegram, sms = chat
    assert telegram("/wether Oslo") == "I don't know /wether. Did you mean /weather? Send /help for all."
    assert "Did you mean WEATHER? Send HELP for all." in sms("WAETHER Oslo")


def test_plain_text_points_to_help(chat):
    telegram, sms = chat
    assert telegram("hello there") == "Sorry, I did not understand that. Send /help to see the commands."
    assert "Sorry, I did not understand that. Text HELP to see the commands." in sms("hello there")
    assert "Text HELP" in sms("12 34")


def test_the_default_router_answers_help_with_its_own_commands(client, hub):
    text = post(client, telegram_message(hub.settings, "/help")).json["text"]
    for command in hub.router.commands:
        assert core.usage_on(command, "telegram") in text
