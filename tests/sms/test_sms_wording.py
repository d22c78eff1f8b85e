"""By SMS, help offers only what works by SMS, and no answer speaks Telegram's `/command`."""

from __future__ import annotations

import html
import re

import pytest

from hub.services import hub_of
from integrations.samples import telegram_message, twilio_sms
from tests.conftest import post

# A `/word` that is not part of a URL or a unit such as m/s.
TELEGRAM_SYNTAX = re.compile(r"(?<![\w/:.])/[a-z]+")
# Arguments that make each command do its real work (a city, dry-run sample weather).
EXAMPLE_ARGS = {"weather": "Oslo", "forecast": "Oslo", "subscribe": "Oslo"}


@pytest.fixture
def sms(app):
    client, settings = app.test_client(), hub_of(app).settings

    def send(text: str) -> str:
        body = post(client, twilio_sms(settings, "http://localhost", text)).get_data(as_text=True)
        return html.unescape("\n".join(re.findall(r"<Message>(.*?)</Message>", body, re.S)))

    return send


def sms_help_commands(help_text: str) -> list[str]:
    """The command words SMS help offers (`WEATHER <city> - ...` -> WEATHER)."""
    lines = help_text.split("Commands:\n", 1)[1].splitlines()
    return [line.split()[0] for line in lines]


def test_sms_help_leaves_out_what_works_only_on_telegram(sms):
    offered = sms_help_commands(sms("HELP"))

    assert "PAY" not in offered and "SMS" not in offered and "START" not in offered
    assert {"WEATHER", "FORECAST", "SUBSCRIBE", "UNSUBSCRIBE", "HELP", "STOP"} <= set(offered)


def test_everything_sms_help_offers_works_by_sms_and_answers_in_sms_words(sms):
    for word in sms_help_commands(sms("HELP")):
        if word == "STOP":
            continue  # opts the number out: tested in tests/sms/test_optout_and_status.py
        for text in (word, f"{word} {EXAMPLE_ARGS.get(word.lower(), '')}".strip()):
            answer = sms(text)
            assert answer, text
            assert not TELEGRAM_SYNTAX.search(answer), (text, answer)
            assert "Telegram" not in answer and "only the hub's administrators" not in answer, (text, answer)


def test_subscribing_by_sms_says_how_to_stop_by_sms(sms):
    answer = sms("SUBSCRIBE Oslo")
    assert answer.startswith("Subscribed: a daily digest and weather alerts for Oslo.")
    assert answer.endswith("Text UNSUBSCRIBE to stop.")
    assert sms("SUBSCRIBE calendar").endswith("Text UNSUBSCRIBE calendar to stop.")
    assert sms("SUBSCRIBE") == "Which city? For example: SUBSCRIBE London (or SUBSCRIBE calendar)"
    assert sms("WEATHER") == "Which city? For example: WEATHER London"


def test_telegram_keeps_its_own_words_and_every_command(app):
    client, settings = app.test_client(), hub_of(app).settings

    def telegram(text: str) -> str:
        return post(client, telegram_message(settings, text)).json["text"]

    assert "/pay <amount> [what for]" in telegram("/help")
    assert "STOP" not in telegram("/help")
    assert telegram("/subscribe Oslo").endswith("for Oslo. /unsubscribe to stop.")
    assert telegram("/forecast") == "Which city? For example: /forecast London"
