"""PayPal, declared for the provider registry: plain data, code named by string.

PayPal is no chat channel (no senders): it asks (orders, captures, from its handlers)
and tells nothing itself.
"""

from __future__ import annotations

from hub.providers import Described, DoctorCheck, Header, Provider, Route, Setting, Simulation

PAYPAL = Provider(
    name="paypal",
    title="PayPal",
    settings=(
        Setting("PAYPAL_CLIENT_ID", secret=True),
        Setting("PAYPAL_CLIENT_SECRET", secret=True),
        Setting("PAYPAL_WEBHOOK_ID"),
        Setting("PAYPAL_ENVIRONMENT"),
        Setting("PAYPAL_API_URL", shown=False),
        Setting("PAYPAL_CA_BUNDLE", shown=False),
    ),
    routes=(
        Route(
            "/webhooks/paypal",
            "paypal",
            verify="integrations.paypal:verify",
            respond="integrations.paypal:respond",
            secret_setting="PAYPAL_WEBHOOK_ID",
            described=Described(
                "A PayPal event, verified offline: SHA256withRSA over transmission id, time, "
                "webhook id and the body's CRC32, with PayPal's certificate (300 s tolerance).",
                headers=tuple(
                    Header(name)
                    for name in (
                        "PAYPAL-TRANSMISSION-ID",
                        "PAYPAL-TRANSMISSION-TIME",
                        "PAYPAL-TRANSMISSION-SIG",
                        "PAYPAL-CERT-URL",
                        "PAYPAL-AUTH-ALGO",
                    )
                ),
                body={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            ),
        ),
    ),
    webhook_setup="integrations.paypal_api:setup_webhook",
    doctor=DoctorCheck(
        "integrations.paypal_api:doctor_probe", needs=("PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET")
    ),
    simulation=Simulation("integrations.samples:simulate_paypal"),
)
