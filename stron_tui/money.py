"""Money as people read it: in the currency's own minor unit (XOF 0 places, USD 2, KWD 3), thousands
grouped, the code after the amount. The one way screens, receipts, messages and exports write money.

Amounts are stored with four places; rounding to the minor unit is half up, as the pricing rules say.
Nothing here knows the database: callers pass the minor unit they read with the currency.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DEFAULT_MINOR_UNIT = 2  # a currency the settings do not list


def quantum(minor_unit: int) -> Decimal:
    """The smallest step of a currency: 1, 0.01 or 0.001."""
    return Decimal(1).scaleb(-minor_unit)


def in_minor_unit(amount, minor_unit: int) -> Decimal:
    """An amount rounded (half up) to the currency's minor unit: 500.0000 USD -> 500.00, XOF -> 500."""
    return Decimal(amount).quantize(quantum(minor_unit), rounding=ROUND_HALF_UP)


def money_text(amount, currency: str = "", minor_unit: int | None = None, *, grouped: bool = True) -> str:
    """`1,234.50 USD`. Without a minor unit the amount keeps the places it has (the service rounded it)."""
    if amount is None:
        return ""
    value = Decimal(amount)
    if minor_unit is not None:
        value = in_minor_unit(value, minor_unit)
    text = format(value, ",f" if grouped else "f")
    return f"{text} {currency}".strip()
