"""Send a station only the screen cells that changed: the app's output, minus what the terminal already shows.

Textual repaints whole screens (a screen switch, a footer refreshed twice in a
row) and writes a colour reset and a full colour after every run of text. Over
a weak link each of those bytes counts, even compressed. ScreenDiff keeps a
model of the station's screen (character and colours of every cell, where the
cursor is, the current colours) and rewrites the app's output into the shortest
output that leaves the station's screen exactly as the app drew it:

- a cell that already shows the same character in the same colours is skipped;
- colours change only when the next character written needs other ones, and
  then by the shortest SGR sequence (attribute by attribute, or reset and set);
- the cursor moves only before a character that must be written, and to where
  the app left it at the end of each piece of output.

Only what the model fully understands is rewritten: cursor addressing, SGR,
text, LF and CR. Anything else passes through unchanged, with the colours and
cursor brought up to date first; sequences that may change cells (erase,
scroll, the alternate screen, charsets, a full reset, ...) make the model
forget the screen so the next paint is sent whole. Transparent printing
(ESC[5i ... ESC[4i) passes through untouched.
"""

from __future__ import annotations

import codecs
import re

from rich.cells import get_character_cell_size

# One pen = the SGR state that decides how a cell looks.
_FLAG_ON = {1: 1, 2: 2, 3: 4, 4: 8, 5: 16, 7: 32, 8: 64, 9: 128}
_FLAG_OFF = {22: 1 | 2, 23: 4, 24: 8, 25: 16, 27: 32, 28: 64, 29: 128}
_OFF_CODE = {1: "22", 2: "22", 4: "23", 8: "24", 16: "25", 32: "27", 64: "28", 128: "29"}
_DEFAULT_PEN = (0, "", "")  # flags, foreground, background ("" = the terminal's default)
_WIDE_TAIL = ("", None)  # the right half of a double-width character

_TOKEN = re.compile(
    r"\x1b\[(?P<csi>[0-?]*[ -/]*[@-~])"
    r"|\x1b\](?P<osc>[^\x07\x1b]*(?:\x07|\x1b\\))"
    r"|\x1b(?P<string>[P_^X][^\x1b]*\x1b\\)"
    r"|\x1b(?P<esc>[ -/]*[0-OQ-WYZ\\`-~])"  # not the openers of CSI, OSC and strings
    r"|(?P<control>[\x00-\x1a\x1c-\x1f\x7f])"
    r"|(?P<text>[^\x00-\x1f\x7f]+)"
)
_INCOMPLETE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[P_^X][^\x1b]*\x1b?|[ -/]*)?\Z")
_CSI = re.compile(r"(?P<private>[<=>?]?)(?P<params>[0-9;:]*)(?P<intermediate>[ -/]*)(?P<final>[@-~])\Z")
# Modes that change what the screen shows or how text lands on it.
_SCREEN_MODES = {"3", "5", "6", "47", "69", "1047", "1048", "1049"}
_PRINT_END = "\x1b[4i"
# Operating system commands that set something the station cannot change by itself (the mouse pointer's
# shape), so sending the same one again changes nothing. Not titles (0, 1 and 2 overlap), not the
# clipboard (52: the station's user may have copied something else meanwhile).
_REPEATABLE_OSC = {"22"}
_HELD_BACK_LIMIT = 4096  # an unfinished escape sequence longer than this is not one: pass it on


class ScreenDiff:
    """Rewrites a terminal output stream (bytes in, bytes out) for a station whose screen is modelled here."""

    def __init__(self, width: int, height: int):
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._held_back = ""
        self._printing = False
        self._settings: dict[str, str] = {}  # the last pointer shape sent (by OSC number)
        self.resize(width, height)

    def resize(self, width: int, height: int) -> None:
        """The station's terminal changed size: it may have redrawn anything, forget it all."""
        self.width, self.height = max(width, 1), max(height, 1)
        self._cells: list[list[tuple | None]] = [[None] * self.width for _ in range(self.height)]
        self._cursor: tuple[int, int] | None = None  # where the station's cursor is
        self._pen: tuple | None = None  # the station's current colours
        self._want_cursor: tuple[int, int] | None = None  # where the app's output has put it
        self._want_pen: tuple | None = _DEFAULT_PEN
        self._edge_line_feed: int | None = None  # the row of a line feed made just past the edge, not sent yet

    def forget(self) -> None:
        self._cells = [[None] * self.width for _ in range(self.height)]

    def _blank(self) -> None:
        self._cells = [[(" ", _DEFAULT_PEN)] * self.width for _ in range(self.height)]

    # Input --------------------------------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """The station's share of `data`; the cursor is left where the app put it."""
        text = self._held_back + self._decoder.decode(data)
        self._held_back = ""
        out: list[str] = []
        position = 0
        while position < len(text):
            if self._printing:
                end = text.find(_PRINT_END, position)
                if end < 0:
                    keep = _partial_suffix(text, _PRINT_END, position)
                    out.append(text[position:len(text) - keep])
                    self._held_back = text[len(text) - keep:]
                    break
                out.append(text[position:end + len(_PRINT_END)])
                position = end + len(_PRINT_END)
                self._printing = False
                continue
            match = _TOKEN.match(text, position)
            if match is None:
                incomplete = _INCOMPLETE.match(text, position)
                if incomplete and len(text) - position < _HELD_BACK_LIMIT:
                    self._held_back = text[position:]
                    break
                self._pass(out, text[position], cursor_known=False)  # a lone ESC: not ours to understand
                self.forget()
                position += 1
                continue
            position = match.end()
            kind = match.lastgroup
            if kind == "text":
                self._text(out, match.group("text"))
            elif kind == "csi":
                self._csi(out, match.group(0), match.group("csi"))
            elif kind == "control":
                self._control(out, match.group("control"))
            elif kind == "osc":
                self._osc(out, match.group(0), match.group("osc"))
            elif kind == "esc":
                self._escape(out, match.group(0), match.group("esc"))
            else:  # DCS, APC, PM, SOS: may draw (sixel); sent as they are
                self._pass(out, match.group(0), cursor_known=False)
                self.forget()
        self._send_edge_line_feed(out)
        self._to_right_edge(out)
        self._move_cursor(out)
        return "".join(out).encode("utf-8", "surrogateescape")

    # Text ---------------------------------------------------------------------------------------------

    def _text(self, out: list[str], text: str) -> None:
        self._send_edge_line_feed(out)
        pen = self._want_pen
        for character in text:
            size = get_character_cell_size(character)
            cursor = self._want_cursor
            if pen is None or cursor is None or size not in (1, 2) or cursor[1] + size > self.width:
                # Not modelled (colours or position unknown, zero width, past the edge): send as it is.
                self._to_right_edge(out)
                self._pass(out, character, cursor_known=False)
                self.forget()  # with autowrap on, a character past the edge lands on the next line
                continue
            row, column = cursor
            line = self._cells[row]
            cell = (character, pen)
            if line[column] == cell and (size == 1 or line[column + 1] == _WIDE_TAIL):
                self._want_cursor = (row, column + size)
                continue
            self._move_cursor(out, gap_fill=True)
            self._set_pen(out)
            out.append(character)
            # Writing over half of a double-width character blanks its other half on the station.
            if line[column] == _WIDE_TAIL and column > 0:
                line[column - 1] = None
            if column + size < self.width and line[column + size] == _WIDE_TAIL:
                line[column + size] = None
            line[column] = cell
            if size == 2:
                line[column + 1] = _WIDE_TAIL
            self._want_cursor = self._cursor = (row, column + size)  # (row, width): just past the right edge

    # Escape sequences ---------------------------------------------------------------------------------

    def _csi(self, out: list[str], sequence: str, body: str) -> None:
        parsed = _CSI.match(body)
        if parsed is None:
            self._pass(out, sequence, cursor_known=False)
            self.forget()
            return
        private, intermediate, final = parsed["private"], parsed["intermediate"], parsed["final"]
        params = parsed["params"]
        plain = not private and not intermediate
        if plain and final in "Hf" and ":" not in params:
            self._edge_line_feed = None  # where it would have left the cursor no longer matters
            numbers = _numbers(params, 2)
            self._want_cursor = (min(numbers[0], self.height) - 1, min(numbers[1], self.width) - 1)
        elif plain and final == "m":
            self._sgr(out, sequence, params)
        elif plain and final in "ABCDGd" and self._edge_line_feed is not None:
            self._pass(out, sequence, cursor_known=False)
        elif plain and final in "ABCDGd" and self._want_cursor is not None and self._want_cursor[1] >= self.width:
            self._to_right_edge(out)  # moves from just past the edge differ between terminals: let it decide
            self._pass(out, sequence, cursor_known=False)
        elif plain and final in "ABCDGd" and self._want_cursor is not None and ":" not in params:
            row, column = self._want_cursor
            count = _numbers(params, 1)[0]
            if final == "A":
                row = max(row - count, 0)
            elif final == "B":
                row = min(row + count, self.height - 1)
            elif final == "C":
                column = min(column + count, self.width - 1)
            elif final == "D":
                column = max(column - count, 0)
            elif final == "G":
                column = min(count, self.width) - 1
            else:
                row = min(count, self.height) - 1
            self._want_cursor = (row, column)
        elif plain and final == "i" and params == "5":
            self._pass(out, sequence)
            self._printing = True
        elif final in "hl" and private == "?":
            modes = params.split(";")
            if _SCREEN_MODES.intersection(modes):
                self._pass(out, sequence, cursor_known=False)
                self.forget()
                if final == "h" and modes == ["1049"] and self._pen == _DEFAULT_PEN:
                    self._blank()  # the alternate screen starts cleared in the current (default) colours
            else:
                out.append(sequence)  # cursor visibility, mouse, paste, focus reports, ...: no cells change
        elif final == "n":
            self._pass(out, sequence)  # a status report may give the cursor position: put it right first
        elif (final in "ct" or (final == "i" and plain) or (final == "q" and intermediate == " ")
              or (final == "p" and intermediate == "$") or (final == "u" and private)):
            out.append(sequence)  # queries, cursor style, keyboard protocol, printer: no cells change
        else:  # erase, scroll, insert/delete, margins, ...: sent as they are, the screen forgotten
            self._pass(out, sequence, cursor_known=False)
            self.forget()

    def _sgr(self, out: list[str], sequence: str, params: str) -> None:
        pen = _apply_sgr(self._want_pen, params)
        if pen is None:  # an attribute not modelled here: pass it on; cells written with it are not modelled
            self._pass(out, sequence)
            self._pen = None
        self._want_pen = pen

    def _osc(self, out: list[str], sequence: str, body: str) -> None:
        """Titles, pointer shape, clipboard, ...: no cells change; a repeated pointer shape is left out."""
        number = body.split(";", 1)[0]
        if number in _REPEATABLE_OSC:
            if self._settings.get(number) == body:
                return
            self._settings[number] = body
        out.append(sequence)

    def _control(self, out: list[str], character: str) -> None:
        self._send_edge_line_feed(out)
        cursor = self._want_cursor
        if character == "\n" and cursor is not None and cursor[0] < self.height - 1 and cursor[1] < self.width:
            self._want_cursor = (cursor[0] + 1, cursor[1])  # LF only (the pty does not add CR): down one
        elif character == "\n" and cursor is not None and cursor[0] < self.height - 1:
            # Just past the edge, terminals differ on where a line feed leaves the cursor; it matters only
            # if no cursor address follows (Textual always sends one), so it waits to see.
            self._edge_line_feed = cursor[0]
            self._want_cursor = (cursor[0] + 1, cursor[1])
        elif character == "\r" and cursor is not None:
            self._want_cursor = (cursor[0], 0)
        elif character == "\x07":
            out.append(character)
        else:  # a line feed that scrolls, tab, backspace, charset shift, ...
            self._to_right_edge(out)
            self._pass(out, character, cursor_known=False)
            self.forget()

    def _escape(self, out: list[str], sequence: str, body: str) -> None:
        if body in ("=", ">"):  # keypad modes
            out.append(sequence)
        elif body == "7":
            self._pass(out, sequence)
        else:  # restore cursor, charsets, index, full reset, ...
            self._pass(out, sequence, cursor_known=False)
            self.forget()
            if body == "8":  # the colours saved with the cursor: not known here
                self._pen = self._want_pen = None
            elif body == "c":
                self._pen = self._want_pen = _DEFAULT_PEN
                self._settings.clear()

    # Output -------------------------------------------------------------------------------------------

    def _pass(self, out: list[str], sequence: str, cursor_known: bool = True) -> None:
        """Send `sequence` unchanged, after bringing the station's cursor and colours to where the app had them."""
        self._send_edge_line_feed(out)
        self._move_cursor(out)
        self._set_pen(out)
        out.append(sequence)
        if not cursor_known:
            self._cursor = self._want_cursor = None

    def _send_edge_line_feed(self, out: list[str]) -> None:
        """Send the line feed made just past the edge, from there: the cursor is then the terminal's to place."""
        if self._edge_line_feed is None:
            return
        self._want_cursor = (self._edge_line_feed, self.width)
        self._edge_line_feed = None
        self._to_right_edge(out)
        self._move_cursor(out)
        out.append("\n")
        self._cursor = self._want_cursor = None

    def _to_right_edge(self, out: list[str]) -> None:
        """Put the station's cursor just past the right edge, where the app's last character left it.

        Only writing the last column gets it there (a move cannot); what happens to a character written
        next (wrapped or not) is then up to the terminal, as it would have been without ScreenDiff.
        """
        want = self._want_cursor
        if want is None or want[1] < self.width or self._cursor == want:
            return
        row = want[0]
        last = self._cells[row][self.width - 1]
        if last is None or last == _WIDE_TAIL:
            return  # not known: nothing to write again; the next character lands on the last column
        pen = self._want_pen
        self._want_cursor, self._want_pen = (row, self.width - 1), last[1]
        self._move_cursor(out)
        self._set_pen(out)
        out.append(last[0])
        self._cursor = self._want_cursor = want
        self._want_pen = pen

    def _move_cursor(self, out: list[str], gap_fill: bool = False) -> None:
        want, have = self._want_cursor, self._cursor
        if want is None or want == have:
            return
        row, column = want
        if column >= self.width:  # just past the edge: the nearest a move can get is the last column
            column = self.width - 1
            want = (row, column)
            if want == have:
                return
        if have is not None and have[0] == row and 0 < column - have[1] <= 3 and gap_fill:
            # A short gap of unchanged cells in the current colours is cheaper to write again than to jump.
            gap = self._cells[row][have[1]:column]
            if all(cell is not None and cell != _WIDE_TAIL and cell[1] == self._pen
                   and get_character_cell_size(cell[0]) == 1 for cell in gap):
                out.append("".join(cell[0] for cell in gap))
                self._cursor = want
                return
        if have is not None and have[0] == row and column > have[1]:
            jump = f"\x1b[{column - have[1]}C" if column - have[1] > 1 else "\x1b[C"
        elif have is not None and have[0] == row:
            jump = f"\x1b[{column + 1}G" if column else "\x1b[G"
        else:
            jump = f"\x1b[{row + 1};{column + 1}H" if column else f"\x1b[{row + 1}H" if row else "\x1b[H"
        out.append(jump)
        self._cursor = want

    def _set_pen(self, out: list[str]) -> None:
        want, have = self._want_pen, self._pen
        if want is None or want == have:
            return
        out.append(_pen_change(have, want))
        self._pen = want


def _numbers(params: str, count: int) -> list[int]:
    values = [int(part) if part.isdigit() and int(part) > 0 else 1 for part in params.split(";")[:count]]
    return values + [1] * (count - len(values))


def _apply_sgr(pen: tuple | None, params: str) -> tuple | None:
    """The pen after an SGR sequence; None when it uses something not modelled here."""
    if ":" in params:
        return None
    codes = params.split(";") if params else ["0"]
    if pen is None and codes[0] not in ("", "0"):
        return None
    flags, foreground, background = pen or _DEFAULT_PEN
    index = 0
    while index < len(codes):
        code = int(codes[index]) if codes[index].isdigit() else 0 if codes[index] == "" else -1
        if code == 0:
            flags, foreground, background = _DEFAULT_PEN
        elif code in _FLAG_ON:
            flags |= _FLAG_ON[code]
        elif code in _FLAG_OFF:
            flags &= ~_FLAG_OFF[code]
        elif 30 <= code <= 37 or 90 <= code <= 97:
            foreground = str(code)
        elif 40 <= code <= 47 or 100 <= code <= 107:
            background = str(code)
        elif code in (39, 49):
            foreground, background = ("", background) if code == 39 else (foreground, "")
        elif code in (38, 48):
            kind = codes[index + 1] if index + 1 < len(codes) else ""
            length = 3 if kind == "5" else 5 if kind == "2" else 0
            if not length or index + length > len(codes):
                return None
            colour = ";".join(codes[index:index + length])
            index += length - 1
            if code == 38:
                foreground = colour
            else:
                background = colour
        else:
            return None
        index += 1
    return flags, foreground, background


def _pen_change(have: tuple | None, want: tuple) -> str:
    """The shorter of: reset then set all of `want`; or change only what differs from `have`."""
    flags, foreground, background = want
    full = ["0"] + [str(code) for code, flag in _FLAG_ON.items() if flags & flag]
    full += [part for part in (foreground, background) if part]
    if have is None:
        return f"\x1b[{';'.join(full)}m" if len(full) > 1 else "\x1b[m"
    old_flags, old_foreground, old_background = have
    step: list[str] = []
    turned_off = old_flags & ~flags
    for flag, code in _OFF_CODE.items():
        if turned_off & flag and code not in step:
            step.append(code)
    if "22" in step:  # 22 ends bold and faint together: put back the one that stays
        old_flags &= ~(1 | 2)
    step += [str(code) for code, flag in _FLAG_ON.items() if flags & flag and not old_flags & flag]
    if foreground != old_foreground:
        step.append(foreground or "39")
    if background != old_background:
        step.append(background or "49")
    full_text = ";".join(full[1:]) and "0;" + ";".join(full[1:]) or ""
    return f"\x1b[{min(';'.join(step), full_text, key=len)}m"


def _partial_suffix(text: str, marker: str, start: int) -> int:
    """How many characters at the end of text[start:] could be the start of `marker`."""
    for length in range(min(len(marker) - 1, len(text) - start), 0, -1):
        if marker.startswith(text[len(text) - length:]):
            return length
    return 0
