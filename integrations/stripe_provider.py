"""Stripe, declared for the provider registry: plain data, code named by string."""

from __future__ import annotations

from hub.providers import Described, DoctorCheck, Header, Provider, Route, Setting, Simulation

STRIPE = Provider(
    name="stripe",
    title="Stripe",
    settings=(
        Setting("STRIPE_API_KEY", secret=True),
        Setting("STRIPE_WEBHOOK_SECRET", secret=True),
        Setting("STRIPE_SUCCESS_URL", shown=False),
    ),
    routes=(
        Route(
            "/webhooks/stripe",
            "stripe",
            verify="integrations.stripe:verify",
            respond="integrations.stripe:respond",
            secret_setting="STRIPE_WEBHOOK_SECRET",
            described=Described(
                "A Stripe event, signed (300 s tolerance, past and future).",
                headers=(Header("Stripe-Signature"),),
                body={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            ),
        ),
    ),
    webhook_setup="integrations.stripe:setup_webhook",
    doctor=DoctorCheck("integrations.stripe:doctor_probe", needs=("STRIPE_API_KEY",)),
    simulation=Simulation("integrations.samples:simulate_stripe"),
)
