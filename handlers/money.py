"""Amounts as people type them ("15", "15.50") and as Stripe counts them (minor units)."""

from __future__ import annotations

import re
from decimal import Decimal

# Currencies Stripe counts in whole units, no cents (https://docs.stripe.com/currencies).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
# Stripe's ceiling for one Checkout amount is 99,999,999 minor units (999,999.99 EUR).
MAX_MINOR_UNITS = 99_999_999
_AMOUNT = re.compile(r"^(\d{1,8})(?:[.,](\d{1,2}))?$")


class AmountError(ValueError):
    """The text is not an amount we can charge; the message says what to write instead."""


def minor_units(currency: str) -> int:
    """How many minor units make one unit of `currency` (100 cents; 1 for JPY)."""
    return 1 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 100


def parse_amount(text: str, currency: str) -> int:
    """ "15", "15.5", "15,50" -> minor units (1550); raises `AmountError` with advice."""
    example = "15" if minor_units(currency) == 1 else "15 or 15.50"
    match = _AMOUNT.match(text.strip())
    if not match or (match.group(2) and minor_units(currency) == 1):
        raise AmountError(f"'{text}' is not an amount. Write it like {example} ({currency.upper()}).")
    whole, fraction = match.group(1), (match.group(2) or "").ljust(2, "0")
    value = int(whole) * minor_units(currency) + (int(fraction) if minor_units(currency) == 100 else 0)
    if value <= 0:
        raise AmountError("The amount must be more than zero.")
    if value > MAX_MINOR_UNITS:
        most = format_amount(MAX_MINOR_UNITS, currency)
        raise AmountError(f"That is more than one payment can be: at most {most}.")
    return value


def format_amount(minor: object, currency: object) -> str:
    """1550, "eur" -> "15.50 EUR"; tolerant of missing values in provider payloads."""
    code = str(currency or "").upper()
    if not isinstance(minor, int) or isinstance(minor, bool):
        return f"an amount in {code}" if code else "your payment"
    if minor_units(code) == 1:
        return f"{minor} {code}".strip()
    return f"{Decimal(minor) / 100:.2f} {code}".strip()


def decimal_text(minor: int, currency: str) -> str:
    """1550, "EUR" -> "15.50"; 1500, "JPY" -> "1500": amounts as PayPal writes them."""
    if minor_units(currency) == 1:
        return str(minor)
    return f"{Decimal(minor) / 100:.2f}"
