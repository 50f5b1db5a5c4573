"""How a token is written for people: 20 digits in groups of four."""

from __future__ import annotations

from tokencore import format_token


def grouped(token: str) -> str:
    """'12345678901234567890' -> '1234 5678 9012 3456 7890', as the receipt, the screens, the messages and
    the API show it. Anything that is not a 20-digit token (an empty one, a legacy text) is shown unchanged."""
    digits = (token or "").replace(" ", "")
    if len(digits) == 20 and digits.isascii() and digits.isdigit():
        return format_token(digits)
    return token or ""
