import pytest

from hub.events import ChatMessage, Event
from hub.router import DuplicateHandlerError, Router


def chat(text: str, channel: str = "telegram") -> Event:
    return Event(
        "telegram" if channel == "telegram" else "twilio",
        "message",
        "1",
        {},
        message=ChatMessage(channel, "42", text),
    )


def test_one_command_handler_serves_telegram_and_sms():
    router = Router()

    @router.command("weather")
    def weather(event, ctx):
        return None

    assert router.resolve(chat("/weather London")) is weather
    assert router.resolve(chat("/weather@hub_bot London")) is weather
    assert router.resolve(chat("WEATHER London", channel="sms")) is weather
    assert router.resolve(chat("weather london", channel="sms")) is weather


def test_source_type_beats_wildcard_and_unknown_types_resolve_to_nothing():
    router = Router()
    router.add_handler("stripe", "invoice.paid", paid := (lambda e, c: None))
    router.add_handler("stripe", "*", anything := (lambda e, c: None))
    assert router.resolve(Event("stripe", "invoice.paid", "1", {})) is paid
    assert router.resolve(Event("stripe", "charge.refunded", "2", {})) is anything
    assert router.resolve(Event("google", "calendar.push", "3", {})) is None


def test_plain_text_and_unknown_commands_reach_the_text_fallback():
    router = Router()
    router.set_text_fallback(fallback := (lambda e, c: None))
    assert router.resolve(chat("hello there")) is fallback
    assert router.resolve(chat("/nosuchcommand")) is fallback


@pytest.mark.parametrize(
    "register",
    [
        lambda r: r.add_handler("stripe", "invoice.paid", lambda e, c: None),
        lambda r: r.add_command("HELP", lambda e, c: None),
        lambda r: r.set_text_fallback(lambda e, c: None),
    ],
)
def test_registering_twice_raises_at_once(register):
    router = Router()
    register(router)
    with pytest.raises(DuplicateHandlerError):
        register(router)
