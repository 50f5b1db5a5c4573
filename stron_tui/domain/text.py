"""Text normalisation shared by every door and every output.

At the door (forms, Excel imports, the API) text loses its control
characters: C0 and C1 controls (ESC, CSI, OSC, BEL ... would drive the
terminal or the receipt printer of whoever reads the text later) and the
Unicode bidirectional overrides (which make a screen or a receipt show text
in another order than it is stored). On output, text that may predate this
rule (or come from a place we did not write) is made printable once more, and
Rich markup is escaped where a widget would interpret it.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional embeddings, overrides and isolates, plus the line/paragraph separators.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f" + _BIDI + "\u2028\u2029]")
_UNSAFE_KEEP_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f" + _BIDI + "\u2028\u2029]")


def unsafe_characters(text: str) -> list[str]:
    """The control and direction-override characters in `text`, in order (empty when it is safe)."""
    return _UNSAFE.findall(text)


def describe_unsafe(text: str) -> str:
    """Names the first unsafe character, for a message: 'U+001B (ESC)'."""
    found = unsafe_characters(text)
    if not found:
        return ""
    char = found[0]
    name = {"\x1b": "ESC", "\x00": "NUL", "\x07": "BEL", "\t": "tab", "\n": "line break",
            "\r": "carriage return", "\x9b": "CSI", "\x9d": "OSC"}.get(char) or unicodedata.name(char, "control")
    return f"U+{ord(char):04X} ({name})"


def fold(text: str) -> str:
    """The form used for case-insensitive uniqueness and prefix search.

    Control characters are dropped: they can't be typed meaningfully, and
    PostgreSQL refuses a NUL in any text value.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _UNSAFE.sub("", folded).strip()


def plain(text: str) -> str:
    """Folded and without accents: "Ọkọnkwọ" and "okonkwo" compare equal."""
    decomposed = unicodedata.normalize("NFKD", fold(text))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def clean(text: str | None) -> str:
    """The one cleaner for single-line text from outside: control characters and direction overrides
    removed, inner whitespace collapsed to single spaces, trimmed."""
    if text is None:
        return ""
    text = str(text)
    # Whitespace controls (tab, line breaks) separate words; every other control simply goes.
    text = re.sub("[\t\n\r\x0b\x0c\x1c-\x1f\x85\u2028\u2029]", " ", text)
    return " ".join(_UNSAFE.sub("", text).split())


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """Output escaping for terminals and printers: every control character (and direction override)
    still in `text` becomes '?', so stored text can never start an escape sequence."""
    pattern = _UNSAFE_KEEP_NEWLINE if keep_newlines else _UNSAFE
    return pattern.sub("?", "" if text is None else str(text))


def for_markup(text: object) -> str:
    """Stored text to place inside Rich/Textual markup: printable, with markup brackets escaped."""
    from rich.markup import escape

    return escape(printable(text))


def escape_for_json(document: str) -> str:
    """A JSON text with its remaining control and direction-override characters written as \\uXXXX escapes:
    the same JSON value, but nothing in it acts on a terminal that shows the raw text."""
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", document)
