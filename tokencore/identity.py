"""Meter identity: the DRN printed on a meter and the 18-digit meter PAN.

A DRN is 11 or 13 digits ending in a Luhn check digit.  The PAN is
``IIN + DRN + Luhn digit`` with IIN ``600727`` for 11-digit DRNs and ``0000``
for 13-digit DRNs, so every PAN is 18 digits.
"""

from __future__ import annotations

from .errors import InvalidMeterNumber

IIN_11 = "600727"
IIN_13 = "0000"

# Doubling a digit and adding the digits of the result, as a character map.
_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_check_digit(payload: str) -> str:
    """The Luhn check digit for a string of digits (the digit to append)."""
    if not payload.isdigit() or not payload.isascii():
        raise InvalidMeterNumber(f"Meter number {payload!r} must contain only digits.")
    rev = payload[::-1]
    # The rightmost payload digit is doubled once the check digit is appended.
    total = sum(rev[0::2].translate(_DOUBLED).encode()) + sum(rev[1::2].encode()) - 48 * len(rev)
    return str(-total % 10)


def _clean(number: str) -> str:
    if not isinstance(number, str):
        number = str(number)
    return number.replace(" ", "").replace("-", "").strip()


def drn_check_digit(partial: str) -> str:
    """The check digit of a DRN given its first 10 or 12 digits."""
    digits = _clean(partial)
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidMeterNumber(f"Meter number {partial!r} must contain only digits.")
    if len(digits) not in (10, 12):
        raise InvalidMeterNumber(
            f"A meter number without its check digit has 10 or 12 digits, not {len(digits)}."
        )
    return luhn_check_digit(digits)


def validate_drn(drn: str) -> str:
    """Return the DRN's 11 or 13 digits, or raise InvalidMeterNumber."""
    digits = _clean(drn)
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidMeterNumber(f"Meter number {drn!r} must contain only digits.")
    if len(digits) not in (11, 13):
        raise InvalidMeterNumber(
            f"Meter number {digits} must have 11 or 13 digits, not {len(digits)}."
        )
    expected = luhn_check_digit(digits[:-1])
    if digits[-1] != expected:
        raise InvalidMeterNumber(
            f"Meter number {digits} has a wrong check digit: expected {expected}."
        )
    return digits


def pan_for_drn(drn: str) -> str:
    """The 18-digit meter PAN of a DRN."""
    digits = validate_drn(drn)
    body = (IIN_11 if len(digits) == 11 else IIN_13) + digits
    return body + luhn_check_digit(body)


def validate_pan(pan: str) -> str:
    """Return the 18-digit PAN, or raise InvalidMeterNumber."""
    digits = _clean(pan)
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidMeterNumber(f"Meter PAN {pan!r} must contain only digits.")
    if len(digits) != 18:
        raise InvalidMeterNumber(f"Meter PAN {digits} must have 18 digits, not {len(digits)}.")
    expected = luhn_check_digit(digits[:-1])
    if digits[-1] != expected:
        raise InvalidMeterNumber(
            f"Meter PAN {digits} has a wrong check digit: expected {expected}."
        )
    if digits.startswith(IIN_11):
        validate_drn(digits[6:17])
    elif digits.startswith(IIN_13):
        validate_drn(digits[4:17])
    else:
        raise InvalidMeterNumber(
            f"Meter PAN {digits} must start with {IIN_11} (11-digit meter number) "
            f"or {IIN_13} (13-digit meter number)."
        )
    return digits


def drn_for_pan(pan: str) -> str:
    """The DRN inside an 18-digit meter PAN."""
    digits = validate_pan(pan)
    return digits[6:17] if digits.startswith(IIN_11) else digits[4:17]


def meter_pan(pan_or_drn: str) -> str:
    """Accept an 18-digit PAN or an 11/13-digit DRN and return the PAN."""
    digits = _clean(pan_or_drn)
    if len(digits) == 18:
        return validate_pan(digits)
    return pan_for_drn(digits)
