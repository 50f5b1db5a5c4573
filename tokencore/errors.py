"""Errors raised by tokencore.

Every message is one plain sentence a cashier can read: it names the bad
value and says what would be right, and never contains key material.
"""


class TokenError(ValueError):
    """Base class of every error tokencore raises on bad input or state."""


class InvalidMeterNumber(TokenError):
    """A DRN or PAN has the wrong length, non-digits or a wrong check digit."""


class InvalidKeyData(TokenError):
    """Meter key data (SGC, TI, KRN, KT, KEN, EA, DKGA, base date) or a key is invalid."""


class AmountOutOfRange(TokenError):
    """An amount or field value does not fit in a token."""


class KeyExpired(TokenError):
    """The TID lies beyond the key's expiry number (KEN): a key change is needed."""


class BaseDateExhausted(TokenError):
    """The key's base date can no longer express the time in a 24-bit TID."""


class TimeBeforeBaseDate(TokenError):
    """The time lies before the key's base date, so it has no TID."""


class TokenCRCError(TokenError):
    """A token's CRC does not match: wrong key or a mistyped digit."""


class MalformedToken(TokenError):
    """A token is not 20 digits, or not a token this system can read."""
