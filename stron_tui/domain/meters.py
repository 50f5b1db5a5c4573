"""The meter number rule, for every door that takes one (forms, imports, top-up, management tokens, the API)."""

from __future__ import annotations

import tokencore

from stron_tui.errors import ValidationError


def meter_number(text: str, field: str = "meter_number") -> str:
    """The 11 or 13 digits of a meter number (its DRN, check digit verified), or a ValidationError on `field`."""
    try:
        return tokencore.validate_drn(text)
    except tokencore.TokenError as error:
        raise ValidationError(str(error), field=field) from None
