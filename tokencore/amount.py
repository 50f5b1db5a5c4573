"""Transfer amounts: 16 bits = exponent(2) | mantissa(14), in units of 0.1.

value(tenths) = m * 10**e + sum(2**14 * 10**(n-1) for n in 1..e), so each
exponent starts where the one below it ends.  Encoding picks the smallest
exponent that fits and rounds UP (never short-changes the customer).
Integers and Decimal only: money never goes through float.
"""

from __future__ import annotations

from decimal import Decimal, ROUND_CEILING, ROUND_FLOOR, InvalidOperation

from .errors import AmountOutOfRange

# Offsets in the same integer units as the value: 0, 16384, 180224, 1818624.
_OFFSET = (0, 16384, 180224, 1818624)
_STEP = (1, 10, 100, 1000)
_MANTISSA_MAX = 0x3FFF
MAX_VALUE = _MANTISSA_MAX * 1000 + _OFFSET[3]  # 18201624 tenths
MAX_AMOUNT = Decimal("1820162.4")
_TENTH = Decimal("0.1")


def encode_value(value: int) -> int:
    """Encode a whole number of base units (tenths for credit, W for power), rounding up."""
    if value < 0:
        raise AmountOutOfRange(f"Amount {value} is negative.")
    if value > MAX_VALUE:
        raise AmountOutOfRange(f"Value {value} is above the largest a token can carry, {MAX_VALUE}.")
    for e in range(4):
        m = -((_OFFSET[e] - value) // _STEP[e])  # ceil((value - offset) / step)
        if m < 0:
            m = 0  # in the gap just below this exponent's start: round up to its first value
        if m <= _MANTISSA_MAX:
            return (e << 14) | m
    raise AssertionError("unreachable")


def decode_value(field: int) -> int:
    """The whole number of base units a 16-bit amount field stands for."""
    if not 0 <= field <= 0xFFFF:
        raise AmountOutOfRange(f"Amount field {field} is not a 16-bit value.")
    e = field >> 14
    return (field & _MANTISSA_MAX) * _STEP[e] + _OFFSET[e]


def _as_decimal(units) -> Decimal:
    if isinstance(units, float):
        raise TypeError("Amounts must be Decimal, int or str, never float.")
    try:
        d = units if isinstance(units, Decimal) else Decimal(str(units).strip())
    except InvalidOperation:
        raise AmountOutOfRange(f"Amount {units!r} is not a number.") from None
    if not d.is_finite():
        raise AmountOutOfRange(f"Amount {units!r} is not a number.")
    return d


def amount_to_tenths(units, rounding=ROUND_CEILING) -> int:
    d = _as_decimal(units)
    if d < 0:
        raise AmountOutOfRange(f"Amount {d} is negative.")
    if d > MAX_AMOUNT:
        raise AmountOutOfRange(
            f"Amount {d} is above the largest a token can carry, {MAX_AMOUNT}."
        )
    return int((d * 10).to_integral_value(rounding=rounding))


def encode_amount(units) -> int:
    """The 16-bit field for an amount in units (kWh, m3, ...), rounded up to a representable value."""
    return encode_value(amount_to_tenths(units))


def decode_amount(field: int) -> Decimal:
    """The amount in units a 16-bit field stands for, e.g. 0x8000 -> Decimal('18022.4')."""
    return Decimal(decode_value(field)) * _TENTH


def representable_amount(units) -> Decimal:
    """What the meter will actually be credited for ``units`` (rounded up)."""
    return decode_amount(encode_amount(units))


def representable_amount_down(units) -> Decimal:
    """The largest representable amount not above ``units`` (for callers that must not overpay)."""
    tenths = amount_to_tenths(units, ROUND_FLOOR)
    field = encode_value(tenths)
    if decode_value(field) > tenths:
        # Rounded up past units: step one mantissa down (or to the top of the exponent below).
        field -= 1
    return decode_amount(field)


def encode_power(watts: int) -> int:
    """Power limits (W) use the amount layout with 1 W as the unit, rounded up."""
    if isinstance(watts, float):
        raise TypeError("Power limits must be whole watts, never float.")
    w = _as_decimal(watts)
    if w != w.to_integral_value():
        w = w.to_integral_value(rounding=ROUND_CEILING)
    return encode_value(int(w))


def decode_power(field: int) -> int:
    return decode_value(field)
