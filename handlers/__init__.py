"""Business reactions: plain functions registered on `router`."""

from hub.router import Router

router = Router()

from handlers import calendar, core, subscriptions, weather  # noqa: E402,F401  - registers on import
