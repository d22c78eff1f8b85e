"""Business reactions: plain functions registered on `router`."""

from hub.router import Router

router = Router()

from handlers import (  # noqa: E402,F401  - each module registers on import
    billing,
    calendar,
    core,
    payments,
    paypal,
    sms,
    subscriptions,
    weather,
)
