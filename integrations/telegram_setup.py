"""The bot's webhook registration (read it, point it at hub, remove it), and Telegram's
setup-webhooks step and doctor probe, named by its declaration.

Used by `hub setup-webhooks` and `hub doctor` (read, set) and by `hub poll` (polling and a
webhook exclude each other). Control calls, not handler side effects: not outbox calls.
Telegram keeps one webhook per bot, so a stage's bot is never pointed at another stage's
URL: a bot that already serves another stage stops the whole run (StageMismatchError).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.providers import StageMismatchError, stage_of

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.services import Hub
    from integrations.telegram_bot import Bot

UPDATES = ["message", "edited_message", "callback_query", "pre_checkout_query"]


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


def setup_webhook(
    hub: Hub, base: str, *, stage: str, stages: tuple[str, ...], dry_run: bool
) -> tuple[str, str]:
    settings = hub.settings
    if not settings.telegram_bot_token:
        return "skipped", "TELEGRAM_BOT_TOKEN is not set"
    if "telegram_webhook_secret" in settings.dev_secrets:
        return "refused", "TELEGRAM_WEBHOOK_SECRET is a generated development value; set the stage's real one"
    target = f"{base}/webhooks/telegram"
    current = webhook_status(settings)
    current_stage = stage_of(current["url"], stages)
    if current["url"] and current_stage and current_stage != stage:
        raise StageMismatchError(
            f"bot @{current['username']} is the webhook of stage {current_stage!r} ({current['url']}); "
            f"each stage needs its own bot: set this stage's TELEGRAM_BOT_TOKEN"
        )
    same = current["url"] == target and sorted(current["allowed_updates"]) == sorted(UPDATES)
    action = "unchanged" if same else ("update" if current["url"] else "create")
    if not dry_run:
        # Always (re)applied: Telegram never shows the secret token, so it cannot be compared.
        set_webhook(settings, target, UPDATES)
    detail = f"@{current['username']} -> {target} (secret token, updates: {', '.join(UPDATES)})"
    if current["url"] and current["url"] != target:
        detail += f"; was {current['url']}"
    return action, detail


def doctor_probe(hub: Hub) -> str:
    status = webhook_status(hub.settings)
    where = status["url"] or "no webhook (run hub setup-webhooks)"
    error = f"; last delivery error: {status['last_error']}" if status["last_error"] else ""
    return f"@{status['username']} -> {where}{error}"
