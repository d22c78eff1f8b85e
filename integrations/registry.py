"""Every provider hub knows, in the order the dashboard, doctor and setup-webhooks list
them. Adding a provider: its declaration here, and its integration module (see
docs/ARCHITECTURE.md). Loading this imports the declarations only: no provider module,
no SDK."""

from __future__ import annotations

from integrations.google_provider import GOOGLE
from integrations.paypal_provider import PAYPAL
from integrations.stripe_provider import STRIPE
from integrations.telegram_provider import TELEGRAM
from integrations.twilio_provider import TWILIO
from integrations.weather_provider import WEATHER

PROVIDERS = (TELEGRAM, STRIPE, PAYPAL, TWILIO, WEATHER, GOOGLE)
