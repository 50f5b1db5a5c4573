"""Codes as people read them: `clear_credit` -> "Clear credit", `report.export` -> "Report export"."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[_.\-]+")


def code_words(code: str | None) -> str:
    """A stored code (snake_case, dotted or dashed) as words, first letter capital; text passes unchanged."""
    if not code:
        return ""
    words = _SEPARATORS.sub(" ", code).strip()
    return words[:1].upper() + words[1:]
