"""Google (Calendar push, Sheets), declared for the provider registry: plain data, code
named by string."""

from __future__ import annotations

from hub.providers import Described, DoctorCheck, Header, Provider, Route, Setting, Simulation

GOOGLE = Provider(
    name="google",
    title="Google",
    settings=(
        Setting("GOOGLE_SERVICE_ACCOUNT_JSON", secret=True),
        Setting("GOOGLE_CHANNEL_TOKEN", secret=True),
        Setting("GOOGLE_CALENDAR_ID", optional=True),
        Setting("GOOGLE_SHEET_ID", optional=True),
    ),
    routes=(
        Route(
            "/webhooks/google/calendar",
            "google_calendar",
            verify="integrations.google_webhook:verify_calendar",
            respond="integrations.google_webhook:respond",
            secret_setting="GOOGLE_CHANNEL_TOKEN",
            described=Described(
                "A Calendar push notification (headers only).",
                headers=(
                    Header("X-Goog-Channel-Token"),
                    Header("X-Goog-Channel-ID", pattern=r"\S"),
                    Header("X-Goog-Message-Number", pattern="^[0-9]{1,20}$"),
                    Header("X-Goog-Resource-State", required=False),
                    Header("X-Goog-Resource-ID", required=False),
                ),
                rejects=("403",),
            ),
        ),
    ),
    webhook_setup="integrations.google_setup:setup_webhook",
    doctor=DoctorCheck("integrations.google_setup:doctor_probe", needs=("GOOGLE_SERVICE_ACCOUNT_JSON",)),
    # A push carries no body, only its resource state: `hub simulate google <state>`.
    simulation=Simulation(
        "integrations.samples:simulate_google", types=("exists", "not_exists", "sync"), failable=False
    ),
)
