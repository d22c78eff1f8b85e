"""Basic chat commands every channel understands."""

from __future__ import annotations

from handlers import router
from hub.context import Context
from hub.events import Event


@router.command("start", help="say hello")
def start(event: Event, ctx: Context) -> None:
    ctx.reply("Hi! I am hub's bot. Send /help to see what I can do.")


@router.command("help", help="list commands")
def help_(event: Event, ctx: Context) -> None:
    lines = [f"{c.usage} - {c.help}" if c.help else c.usage for c in router.commands]
    ctx.reply("Commands:\n" + "\n".join(lines))


@router.text_fallback
def unknown(event: Event, ctx: Context) -> None:
    ctx.reply("Sorry, I did not understand that. Send /help (or HELP by SMS) to see the commands.")
