"""How the dashboard shows a delivery's recipient: a phone number masked, a chat id as is."""

from __future__ import annotations

import re

from hub.webhooks import MASKED

_PHONE = re.compile(r"^\+\d[\d ().-]{5,18}\d$")  # E.164-ish; a bare number is a chat id
SHOWN_DIGITS = 4  # enough to tell recipients apart, too few to message one


def shown_recipient(channel: str, address: str) -> str:
    """"+••••••4567" for a phone number (an SMS recipient, or any address shaped like one):
    the dashboard is no address book. Telegram chat ids name no person outside Telegram."""
    if channel == "sms" or _PHONE.match(address or ""):
        digits = re.sub(r"\D", "", address or "")
        return ("+" if (address or "").startswith("+") else "") + MASKED + digits[-SHOWN_DIGITS:]
    return address
