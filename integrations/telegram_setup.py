"""Telegram's setup-webhooks step and doctor probe, named by its declaration.

Telegram keeps one webhook per bot, so a stage's bot is never pointed at another stage's
URL: a bot that already serves another stage stops the whole run (StageMismatchError).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.providers import StageMismatchError, stage_of
from integrations.telegram import set_webhook, webhook_status

if TYPE_CHECKING:
    from hub.services import Hub

UPDATES = ["message", "edited_message", "callback_query", "pre_checkout_query"]


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
