"""How the dashboard shows phone numbers: masked but for their last digits (a chat id as is).

The log scrubber (`hub.logs`) replaces a phone number by "[phone]"; an operator on the
dashboard needs to tell recipients apart, so the last digits stay.
"""

from __future__ import annotations

import re

from hub.logs import SENSITIVE_PATTERNS
from hub.webhooks import MASKED

_PHONE = re.compile(r"^\+\d[\d ().-]{5,18}\d$")  # E.164-ish; a bare number is a chat id
# The scrubber's own shape for a phone number in running text (form-encoded "+" too).
_PHONE_IN_TEXT = next(p for p, shown in SENSITIVE_PATTERNS if shown == "[phone]")
SHOWN_DIGITS = 4  # enough to tell recipients apart, too few to message one


def _masked(number: str) -> str:
    digits = re.sub(r"\D", "", number.removeprefix("%2B"))
    return "+" + MASKED + digits[-SHOWN_DIGITS:]


def shown_recipient(channel: str, address: str) -> str:
    """ "+••••••4567" for a phone number (an SMS recipient, or any address shaped like one):
    the dashboard is no address book. Telegram chat ids name no person outside Telegram."""
    if channel == "sms" or _PHONE.match(address or ""):
        return _masked(address or "")
    return address


def without_phones(text: str) -> str:
    """Stored text (a payload, a provider's error) with every phone number in it masked."""
    if "+" not in text and "%2B" not in text:
        return text
    return _PHONE_IN_TEXT.sub(lambda found: _masked(found.group(0)), text)
