"""`hub poll`: Telegram long polling, for chatting with the bot locally without a public URL.

Each update goes through the same pipeline as a webhook delivery: `hub.accept` records it
once (deduplicated on the update id, so a re-fetched update runs nothing) and runs its
handler inline; the reply a webhook answer would carry is sent with sendMessage instead.
The Telegram SDK is imported only when the command runs, so `hub --help` stays light.
A tool beside its integration: hub's CLI names this command by string (hub/cli.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from flask.cli import with_appcontext

from hub.context import Context
from hub.services import current_hub
from integrations.telegram_webhook import event_from_update

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.services import Hub
    from integrations.telegram_bot import Bot

ERROR_PAUSE = 5.0  # seconds to wait after a failed getUpdates before asking again


def get_updates(
    settings: Settings, offset: int | None, timeout: int, limit: int = 100
) -> list[dict[str, Any]]:
    """Long-poll for updates after `offset` (which also confirms the earlier ones), as JSON."""
    from integrations import telegram_bot

    async def fetch(bot: Bot) -> tuple[Any, ...]:
        return await bot.get_updates(offset=offset, timeout=timeout, limit=limit)

    updates = telegram_bot.call(
        settings.telegram_bot_token,
        settings.telegram_api_url,
        "getUpdates",
        fetch,
        timeout=telegram_bot.CALL_TIMEOUT + timeout,  # the long poll's own wait comes on top
    )
    return [u.to_dict() for u in updates]


class Poller:
    """Fetches updates with getUpdates and hands each to the hub, one at a time, in order."""

    def __init__(self, hub: Hub, *, timeout: int, echo: Callable[[str], Any] = click.echo) -> None:
        self.hub = hub
        self.timeout = timeout
        self.echo = echo
        self.offset: int | None = None
        self.handled = 0

    def check(self) -> None:
        """Say clearly why polling cannot run, before touching Telegram."""
        settings = self.hub.settings
        if not settings.telegram_bot_token:
            raise click.ClickException("set TELEGRAM_BOT_TOKEN (from @BotFather) to poll Telegram")
        if settings.hub_dry_run:
            raise click.ClickException(
                "HUB_DRY_RUN is on, so no call may leave hub, and polling must call Telegram: "
                "run with HUB_DRY_RUN=0"
            )

    def remove_webhook(self) -> None:
        """Telegram refuses getUpdates while a webhook is set: delete it, and say so."""
        from integrations import telegram_setup

        url = telegram_setup.webhook_status(self.hub.settings)["url"]
        if url:
            telegram_setup.delete_webhook(self.hub.settings)
            self.echo(f"deleted the webhook {url} (polling and webhooks exclude each other);")
            self.echo("  set it again afterwards with: hub setup-webhooks --url <public url>")

    def poll_once(self, limit: int = 100) -> int:
        """One getUpdates round; handles what came and returns how many updates that was."""
        updates = get_updates(self.hub.settings, self.offset, self.timeout, limit)
        for update in updates:
            self.offset = int(update["update_id"]) + 1  # confirms it with the next call
            self.echo(self.handle(update))
            self.handled += 1
        return len(updates)

    def handle(self, update: dict[str, Any]) -> str:
        """Accept one update and send its inline replies; returns the progress line."""
        from integrations.telegram_bot import TelegramAPIError
        from integrations.telegram_send import send_text

        event = event_from_update(update)
        message = event.message
        where = f"update {update['update_id']}" + (f" chat {message.address}" if message else "")
        said = f" {message.text[:40]!r}" if message else f" ({event.type})"
        acceptance = self.hub.accept(event, inline_slots=1)
        if acceptance.duplicate:
            return f"{where}{said}: seen before, skipped"
        final = self.hub.store.get(acceptance.event.id)
        line = f"{where}{said}: {final.status if final else 'unknown'}"
        if final is not None and final.last_error:
            line += f" ({final.last_error})"
        if acceptance.replies and message is not None:
            # A separate idempotency scope: the handler's own sends used the event's.
            ctx = Context(self.hub, acceptance.event, scope=f"{acceptance.event.id}/poll")
            try:
                for reply in acceptance.replies:
                    send_text(ctx, message.address, reply.text, **reply.options)
            except TelegramAPIError as exc:  # the outbox keeps the failed call
                return f"{line}; reply not sent: {exc}"
            line += f", replied {reply.text[:40]!r}"
        return line

    def confirm(self) -> None:
        """Tell Telegram what was handled, so the next start does not fetch it again."""
        if self.offset is not None:
            get_updates(self.hub.settings, self.offset, timeout=0, limit=1)


@click.command("poll")
@click.option(
    "--timeout",
    default=30,
    show_default=True,
    type=click.IntRange(0, 50),
    help="Seconds each getUpdates call waits for news (long polling).",
)
@click.option("--max-updates", type=click.IntRange(1), help="Stop after handling this many updates.")
@click.option("--max-rounds", type=click.IntRange(1), help="Stop after this many getUpdates calls.")
@with_appcontext
def poll(timeout: int, max_updates: int | None, max_rounds: int | None) -> None:
    """Chat with the bot locally: Telegram long polling instead of a webhook (Ctrl-C stops).

    Deletes the bot's webhook first, since Telegram allows only one of the two.
    """
    from integrations.telegram_bot import ConflictError, TelegramAPIError

    poller = Poller(current_hub(), timeout=timeout)
    poller.check()
    try:
        poller.remove_webhook()
    except TelegramAPIError as exc:
        raise click.ClickException(f"cannot start polling: {exc}") from None
    click.echo("polling Telegram for updates (Ctrl-C stops)")
    rounds = 0
    try:
        while (max_updates is None or poller.handled < max_updates) and (
            max_rounds is None or rounds < max_rounds
        ):
            rounds += 1
            try:
                left = 100 if max_updates is None else max_updates - poller.handled
                poller.poll_once(limit=min(100, left))
            except ConflictError as exc:
                raise click.ClickException(f"{exc} (is another `hub poll` running?)") from None
            except TelegramAPIError as exc:
                click.echo(f"getUpdates failed: {exc}; trying again in {ERROR_PAUSE:g} s")
                time.sleep(ERROR_PAUSE)
    except KeyboardInterrupt:
        click.echo("stopping")
    # Unconfirmed updates come again at the next start, where the dedup skips them.
    with contextlib.suppress(TelegramAPIError, KeyboardInterrupt):
        poller.confirm()
    click.echo(f"stopped after {poller.handled} update(s)")
