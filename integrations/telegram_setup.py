"""The bot's webhook registration: read it, point it at hub, remove it.

Used by `hub setup-webhooks` and `hub doctor` (read, set) and by `hub poll` (polling and a
webhook exclude each other). Control calls, not handler side effects: not outbox calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.config import Settings
    from integrations.telegram_bot import Bot


def webhook_status(settings: Settings) -> dict[str, Any]:
    """The bot's name and current webhook (`getMe`, `getWebhookInfo`); url "" when none."""
    from integrations import telegram_bot

    async def call(bot: Bot) -> dict[str, Any]:
        info = await bot.get_webhook_info()
        return {
            "username": bot.username,
            "url": info.url or "",
            "allowed_updates": list(info.allowed_updates or ()),
            "last_error": info.last_error_message or "",
        }

    return telegram_bot.call(settings.telegram_bot_token, settings.telegram_api_url, "getWebhookInfo", call)


def set_webhook(settings: Settings, url: str, allowed_updates: list[str]) -> None:
    """Point the bot at `url`, with the secret token Telegram will send back in each update."""
    from integrations import telegram_bot

    async def call(bot: Bot) -> bool:
        return await bot.set_webhook(
            url, secret_token=settings.telegram_webhook_secret, allowed_updates=allowed_updates
        )

    telegram_bot.call(settings.telegram_bot_token, settings.telegram_api_url, "setWebhook", call)


def delete_webhook(settings: Settings) -> None:
    """Stop webhook delivery (updates then wait for getUpdates; none are dropped)."""
    from integrations import telegram_bot

    async def call(bot: Bot) -> bool:
        return await bot.delete_webhook(drop_pending_updates=False)

    telegram_bot.call(settings.telegram_bot_token, settings.telegram_api_url, "deleteWebhook", call)
