"""Telegram, declared for the provider registry: plain data, code named by string."""

from __future__ import annotations

from hub.providers import Described, DoctorCheck, Header, Provider, Route, Sender, Setting, Simulation

TELEGRAM = Provider(
    name="telegram",
    title="Telegram",
    settings=(
        Setting("TELEGRAM_BOT_TOKEN", secret=True),
        Setting("TELEGRAM_WEBHOOK_SECRET", secret=True),
        Setting("TELEGRAM_API_URL", shown=False),
        Setting("HUB_TELEGRAM_PER_SECOND", shown=False),
        Setting("HUB_TELEGRAM_CHAT_PER_SECOND", shown=False),
        Setting("HUB_TELEGRAM_GROUP_PER_MINUTE", shown=False),
    ),
    routes=(
        Route(
            "/webhooks/telegram",
            "telegram",
            verify="integrations.telegram_webhook:verify",
            respond="integrations.telegram_webhook:respond",
            secret_setting="TELEGRAM_WEBHOOK_SECRET",
            inline_slots=1,  # /help answers in the webhook response itself
            described=Described(
                "A Telegram update; the reply may ride in the response.",
                headers=(Header("X-Telegram-Bot-Api-Secret-Token"),),
                body={
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/TelegramUpdate"}}
                    },
                },
                answers={
                    "200": {
                        "description": "Accepted.",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/TelegramReply"}}
                        },
                    }
                },
                rejects=("401", "403"),
            ),
        ),
    ),
    senders=(
        Sender(
            "telegram",
            send="integrations.telegram_send:send_text",
            refusal="integrations.telegram_bot:RecipientUnavailableError",  # chat gone, bot blocked
            option_checks={"reply_markup": "integrations.telegram_bot:reply_markup"},
        ),
    ),
    webhook_setup="integrations.telegram_setup:setup_webhook",
    doctor=DoctorCheck("integrations.telegram_setup:doctor_probe", needs=("TELEGRAM_BOT_TOKEN",)),
    simulation=Simulation("integrations.samples:simulate_telegram"),
)
