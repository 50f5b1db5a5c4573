"""Text normalisation shared by every library: one way to fold and match."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """The form used for case-insensitive uniqueness and prefix search.

    Control characters are dropped: they can't be typed meaningfully, and
    PostgreSQL refuses a NUL in any text value.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cc").strip()


def clean(text: str | None) -> str:
    """Trim and collapse inner whitespace; control characters are removed."""
    if text is None:
        return ""
    kept = "".join(ch for ch in str(text) if unicodedata.category(ch) != "Cc" or ch == " ")
    return " ".join(kept.split())
