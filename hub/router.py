"""The router: which plain function handles an event.

Dispatch rules, in order:
0. A chat message whose whole text is a keyword registered for its channel (SMS
   `STOP`, `START`: Twilio's opt-out words, matched like Twilio does, case-insensitive,
   surrounding spaces ignored) goes to the keyword's handler, before any command.
1. A chat message (an event carrying a `ChatMessage`) whose text is a command
   (`/weather London` on Telegram, `WEATHER London` by SMS) goes to the command's
   handler, whatever channel it came on.
2. Otherwise the handler registered for (source, type) runs; failing that, the one for
   (source, "*").
3. A chat message nothing else took goes to the text fallback, if one is registered.
An event no rule matches is recorded and acknowledged: not an error. A handler's
exception propagates to the task runner, which retries the event.
Registering the same key twice raises at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hub.records import frozen_record

if TYPE_CHECKING:
    from hub.context import Context
    from hub.events import Event

Handler = Callable[["Event", "Context"], object]
WILDCARD = "*"


class DuplicateHandlerError(ValueError):
    """The same source/type or command was registered twice."""


@frozen_record
class Command:
    """A registered chat command. Compared and hashed by identity (a frozen record): /help's
    text is kept per set of commands, and hashing them by value was a call per command."""

    name: str
    handler: Handler
    help: str = ""
    usage: str = ""


class Router:
    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._commands: dict[str, Command] = {}
        self._text_fallback: Handler | None = None
        self._keywords: dict[tuple[str, str], Handler] = {}
        self._by_name: tuple[Command, ...] | None = None  # `commands`, sorted once per change

    # -- registration: plain methods, with decorator twins ---------------------------------

    def add_handler(self, source: str, type: str, handler: Handler) -> None:
        key = (source, type)
        if key in self._handlers:
            raise DuplicateHandlerError(
                f"a handler for {source}/{type} is already registered: {self._handlers[key]!r}"
            )
        self._handlers[key] = handler

    def on(self, source: str, type: str = WILDCARD) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add_handler(source, type, handler)
            return handler

        return register

    def add_command(self, name: str, handler: Handler, *, help: str = "", usage: str = "") -> None:
        name = name.lower().lstrip("/")
        if name in self._commands:
            raise DuplicateHandlerError(f"the command /{name} is already registered")
        self._commands[name] = Command(name, handler, help, usage or f"/{name}")
        self._by_name = None

    def command(self, name: str, *, help: str = "", usage: str = "") -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add_command(name, handler, help=help, usage=usage)
            return handler

        return register

    def set_text_fallback(self, handler: Handler) -> None:
        if self._text_fallback is not None:
            raise DuplicateHandlerError("a text fallback is already registered")
        self._text_fallback = handler

    def text_fallback(self, handler: Handler) -> Handler:
        self.set_text_fallback(handler)
        return handler

    def add_keyword(self, channel: str, word: str, handler: Handler) -> None:
        key = (channel, word.strip().upper())
        if key in self._keywords:
            raise DuplicateHandlerError(f"the keyword {key[1]} on {channel} is already registered")
        self._keywords[key] = handler

    def keyword(self, channel: str, *words: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for word in words:
                self.add_keyword(channel, word, handler)
            return handler

        return register

    # -- lookup --------------------------------------------------------------------------------

    @property
    def commands(self) -> list[Command]:
        if self._by_name is None:  # /help asks on every call
            self._by_name = tuple(sorted(self._commands.values(), key=lambda c: c.name))
        return list(self._by_name)

    def registrations(self) -> dict[tuple[str, str], Handler]:
        """The wiring as plain data, for tests and the dashboard."""
        return dict(self._handlers)

    def resolve(self, event: Event) -> Handler | None:
        message = event.message
        if message is not None:
            keyword = self._keywords.get((message.channel, message.text.strip().upper()))
            if keyword is not None:
                return keyword
        parsed = message.command if message else None
        if parsed and parsed[0] in self._commands:
            return self._commands[parsed[0]].handler
        handler = self._handlers.get((event.source, event.type)) or self._handlers.get(
            (event.source, WILDCARD)
        )
        if handler is None and message is not None:
            return self._text_fallback
        return handler

    def dispatch(self, event: Event, ctx: Context) -> bool:
        """Run the handler for `event`; False when none matched (recorded, not an error)."""
        handler = self.resolve(event)
        if handler is None:
            return False
        handler(event, ctx)
        return True
