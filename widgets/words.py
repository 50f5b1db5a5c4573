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


def shown_of_total(shown: int, total: int, more: bool, noun: str = "") -> str:
    """A cut list's count: "8 of 23 accounts", "8 of more than 100 accounts", "3 accounts" when all are shown."""
    if more:
        count = f"{shown:,} of more than {total:,}"
    elif shown < total:
        count = f"{shown:,} of {total:,}"
    else:
        count = f"{total:,}"
    return f"{count} {noun}".rstrip()
