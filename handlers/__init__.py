"""Business reactions: plain functions registered on `router`."""

from hub.router import Router

router = Router()

from handlers import core  # noqa: E402,F401  - registers on import
from handlers import payments, sms, subscriptions  # noqa: E402,F401
