"""ScreenDiff: a station's screen ends up exactly as the app drew it, from fewer bytes."""

from __future__ import annotations

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st

from stron_tui.ssh.screen_diff import ScreenDiff

WIDTH, HEIGHT = 20, 6


def screen_after(*chunks: bytes, size=(WIDTH, HEIGHT)) -> pyte.Screen:
    screen = pyte.Screen(*size)
    stream = pyte.ByteStream(screen)
    for chunk in chunks:
        stream.feed(chunk)
    return screen


def looks(screen: pyte.Screen) -> tuple:
    """Every cell's character and attributes, and the cursor."""
    cells = tuple(
        tuple((cell.data, cell.fg, cell.bg, cell.bold, cell.italics, cell.underscore, cell.strikethrough,
               cell.reverse, cell.blink) for cell in (screen.buffer[y][x] for x in range(screen.columns)))
        for y in range(screen.lines))
    return cells, (screen.cursor.x, screen.cursor.y)


def frame(lines: list[str], style: str = "\x1b[0m\x1b[39;49m") -> bytes:
    """A whole-screen paint the way Textual writes one: each line addressed, coloured to the edge, reset."""
    return "\n".join(f"\x1b[{row + 1};1H{style}{line:<{WIDTH}}\x1b[0m" for row, line in enumerate(lines)).encode()


_SGR = ["0", "1", "2", "3", "4", "7", "9", "22", "23", "24", "27", "29", "31", "34", "39", "42", "47", "49",
        "90", "103", "38;5;208", "48;5;17", "38;2;10;20;30", "48;2;200;100;0", ""]
_TOKENS = st.one_of(
    st.builds(lambda row, column: f"\x1b[{row};{column}H", st.integers(1, HEIGHT), st.integers(1, WIDTH)),
    st.builds(lambda codes: f"\x1b[{';'.join(codes)}m", st.lists(st.sampled_from(_SGR), min_size=1, max_size=3)),
    st.text(alphabet="ab Z•▏ë中", min_size=1, max_size=WIDTH + 4),
    st.sampled_from(["\n", "\r", "\x1b[?25l", "\x1b[?25h", "\x1b]22;default\x07", "\x1b[K", "\x1b[2J",
                     "\x1b[3C", "\x1b[2A", "\x1b[5G", "\x1b[4d", "\x1b[B", "\x1b[?7l", "\x1b[?7h", "\x1b[m"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_TOKENS, max_size=25), min_size=1, max_size=4), st.data())
def test_the_station_sees_exactly_what_the_app_drew_however_the_output_is_cut(writes, data):
    diff = ScreenDiff(WIDTH, HEIGHT)
    direct, through_diff = [], []
    for write in writes:
        output = "".join(write).encode()
        cut = data.draw(st.integers(0, len(output)))  # a pty read may end anywhere, even inside a character
        direct.append(output)
        through_diff += [diff.feed(output[:cut]), diff.feed(output[cut:])]
        assert looks(screen_after(*direct)) == looks(screen_after(*through_diff))


def test_painting_the_same_screen_again_sends_nothing_and_a_change_sends_little():
    diff = ScreenDiff(WIDTH, HEIGHT)
    menu = frame(["Main menu", " F2  Top-up", " F3  Base data", "", "", "Operator: Admin"])
    first = diff.feed(menu)
    assert diff.feed(menu) == b""
    changed = diff.feed(frame(["Main menu", " F2  Top-up", " F3  Base data", "", "", "Operator: Cashier"]))
    assert b"Cashier" in changed and b"Main menu" not in changed and len(changed) < len(first) / 5
    assert looks(screen_after(first, changed)) == looks(screen_after(
        frame(["Main menu", " F2  Top-up", " F3  Base data", "", "", "Operator: Cashier"])))


def test_colours_change_only_where_they_differ():
    diff = ScreenDiff(WIDTH, HEIGHT)
    output = diff.feed(b"\x1b[1;1H\x1b[0m\x1b[39;49mTotal\x1b[0m\x1b[39;49m \x1b[0m\x1b[1;39;49m10.00\x1b[0m")
    assert output == b"\x1b[H\x1b[mTotal \x1b[1m10.00"


def test_transparent_printing_passes_through_untouched_even_when_cut():
    diff = ScreenDiff(WIDTH, HEIGHT)
    diff.feed(frame(["Receipt", "", "", "", "", ""]))
    printout = b"\x1b[5iRECEIPT R000123\r\n\x1b[1mTOKEN\x1b[0m 1234 5678\r\n\x1b[4i"
    output = b"".join(diff.feed(printout[start:start + 5]) for start in range(0, len(printout), 5))
    assert printout in output


def test_after_an_erase_it_does_not_know_the_screen_and_paints_it_whole():
    diff = ScreenDiff(WIDTH, HEIGHT)
    menu = frame(["Main menu", "", "", "", "", ""])
    diff.feed(menu)
    assert diff.feed(b"\x1b[2J") == b"\x1b[2J"
    assert b"Main menu" in diff.feed(menu)


def test_a_resized_terminal_gets_the_next_paint_whole():
    diff = ScreenDiff(WIDTH, HEIGHT)
    menu = frame(["Main menu", "", "", "", "", ""])
    diff.feed(menu)
    diff.resize(WIDTH, HEIGHT)
    assert b"Main menu" in diff.feed(menu)


def test_the_same_pointer_shape_is_not_sent_twice():
    diff = ScreenDiff(WIDTH, HEIGHT)
    assert diff.feed(b"\x1b]22;default\x07") == b"\x1b]22;default\x07"
    assert diff.feed(b"\x1b]22;default\x07") == b""
    assert diff.feed(b"\x1b]22;text\x07") == b"\x1b]22;text\x07"
