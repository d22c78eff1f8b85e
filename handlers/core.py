"""Basic chat commands every channel understands: /start, /help, and answers to the rest."""

from __future__ import annotations

import difflib
import functools

from handlers import router
from hub.context import Context
from hub.events import Event
from hub.router import Command

# Commands SMS help leaves out because they cannot work by SMS: a payment is a Checkout
# button in a Telegram chat, /sms is for administrators' Telegram chats, and carriers (and
# Twilio's opt-out handling) treat START as a keyword, so the greeting is Telegram's.
TELEGRAM_ONLY = frozenset({"start", "pay", "sms"})
# What every SMS help ends with: carriers expect the opt-out keywords to be advertised.
SMS_KEYWORDS_HELP = "STOP - no more texts from us"


def command_name(name: str, channel: str) -> str:
    """How a user types the command on `channel`: /weather on Telegram, WEATHER by SMS."""
    return name.upper() if channel == "sms" else f"/{name}"


def offered_on(command: Command, channel: str) -> bool:
    """Whether `command` works on `channel` (and so is listed and suggested there)."""
    return channel != "sms" or command.name not in TELEGRAM_ONLY


def as_typed(text: str, channel: str) -> str:
    """A command line as a user types it on `channel`: `/unsubscribe calendar` stays on
    Telegram and is `UNSUBSCRIBE calendar` by SMS."""
    head, _, rest = text.strip().lstrip("/").partition(" ")
    return " ".join(part for part in (command_name(head, channel), rest) if part)


def send_verb(channel: str) -> str:
    """How to tell someone to send a command: "Send /help" in a chat, "Text HELP" by SMS."""
    return "Text" if channel == "sms" else "Send"


def usage_on(command: Command, channel: str) -> str:
    """The command's usage ("/weather <city>") as written on `channel` ("WEATHER <city>");
    each alternative of "/unsubscribe | /unsubscribe calendar" is rewritten."""

    def one(usage: str) -> str:
        head, _, rest = usage.strip().lstrip("/").partition(" ")
        return " ".join(part for part in (command_name(head or command.name, channel), rest) if part)

    return " | ".join(one(alternative) for alternative in command.usage.split("|"))


def help_text(commands: list[Command], channel: str) -> str:
    shown = [c for c in commands if offered_on(c, channel)]
    lines = [f"{usage_on(c, channel)} - {c.help}" if c.help else usage_on(c, channel) for c in shown]
    if channel == "sms":
        lines.append(SMS_KEYWORDS_HELP)
    return "Commands:\n" + "\n".join(lines)


@router.command("start", help="say hello")
def start(event: Event, ctx: Context) -> None:
    name = _first_name(event)
    greeting = f"Hi {name}!" if name else "Hi!"
    help_ = command_name("help", _channel(event))
    ctx.reply(f"{greeting} I am hub's bot. Send {help_} to see what I can do.")


@router.command("help", help="list the commands")
def help_(event: Event, ctx: Context) -> None:
    # The router that dispatched this event, so commands registered anywhere are listed.
    ctx.reply(_help_text(tuple(ctx.router.commands), _channel(event)))


@functools.lru_cache(maxsize=32)
def _help_text(commands: tuple[Command, ...], channel: str) -> str:
    """`help_text`, kept: the same few command sets and channels ask for it every time."""
    return help_text(list(commands), channel)


@router.text_fallback
def unknown(event: Event, ctx: Context) -> None:
    """Plain text, or a command nobody registered: say what would work."""
    channel = _channel(event)
    help_ = command_name("help", channel)
    parsed = event.message.command if event.message else None
    verb = send_verb(channel)
    if parsed is None:
        ctx.reply(f"Sorry, I did not understand that. {verb} {help_} to see the commands.")
        return
    known = [c.name for c in ctx.router.commands if offered_on(c, channel)]
    close = difflib.get_close_matches(parsed[0], known, n=1, cutoff=0.75)
    said = command_name(parsed[0], channel)
    if close:
        guess = command_name(close[0], channel)
        ctx.reply(f"I don't know {said}. Did you mean {guess}? Send {help_} for all.")
    elif channel == "sms":  # any first word looks like a command by SMS: do not echo it back
        ctx.reply(f"Sorry, I did not understand that. {verb} {help_} to see the commands.")
    else:
        ctx.reply(f"I don't know {said}. Send {help_} to see the commands.")


def _channel(event: Event) -> str:
    return event.message.channel if event.message else event.source


def _first_name(event: Event) -> str:
    if event.source != "telegram":
        return ""
    sender = (event.payload.get("message") or {}).get("from") or {}
    name = sender.get("first_name")
    return name.strip()[:64] if isinstance(name, str) else ""
