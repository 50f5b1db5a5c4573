"""Printable report tables as PDF: title, filters, page numbers, totals.

Drawn straight on a reportlab canvas: a platypus LongTable measures and
splits every row and is several times slower (3.6 s for 10,000 rows), which
matters at 100,000 rows. Each page's cells go into one text block as raw
text operators ("Tm ... Tj"), with widths from the font's own metrics table
in a cache, because reportlab's per-call drawString and stringWidth cost
tens of microseconds each and a big report has two million cells.
"Page N of M" uses a form XObject filled in once the page count is known.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from stron_tui.exports.files import atomic_file
from stron_tui.exports.tables import PROGRESS_EVERY, Column

FONT = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
MONO = "DejaVuSansMono"
FONT_DIR = Path(__file__).parent / "fonts"
FONT_SIZE = 6.5
ROW_HEIGHT = 9.0
MARGIN = 28.0
PADDING = 2.0
NUMERIC_KINDS = {"money", "units", "integer"}


def register_fonts() -> None:
    """Embed DejaVu (shipped in fonts/ with its licence): the standard PDF fonts only know Latin-1, and
    customers are named in every script (Ọkọnkwọ, Дмитрий, محمد)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    registered = set(pdfmetrics.getRegisteredFontNames())
    for name in (FONT, BOLD, MONO):
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / f"{name}.ttf")))


_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


@lru_cache(maxsize=16384)
def visual(text: str) -> str:
    """Text in the order a PDF draws it: Arabic letters joined (their presentation forms) and right-to-left
    runs laid out right to left. PDF text has no shaping or direction of its own; left as typed, محمد
    would print as isolated letters backwards. Latin and Cyrillic pass unchanged."""
    if not _RIGHT_TO_LEFT.search(text):
        return text
    import arabic_reshaper
    from bidi import get_display

    return get_display(arabic_reshaper.reshape(text))


def cell_text(value: Any, kind: str = "text") -> str:
    """How a report cell reads on screen and on paper (money keeps its currency's places)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, int):
        return f"{value:,}" if kind in NUMERIC_KINDS else str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if kind == "datetime" else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _Metrics:
    """Text width from an embedded TrueType font's own width table, cached per text."""

    def __init__(self, font_name: str, size: float):
        from reportlab.pdfbase.pdfmetrics import getFont

        face = getFont(font_name).face
        self.scale = size / 1000.0
        self.widths = face.charWidths  # code point -> thousandths of an em
        self.fallback = face.defaultWidth * self.scale
        self.width = lru_cache(maxsize=65536)(self._width)

    def _width(self, text: str) -> float:
        widths, scale, fallback = self.widths, self.scale, self.fallback
        return sum(widths[code] * scale if code in widths else fallback for code in map(ord, text))

    def fit(self, text: str, room: float) -> str:
        if self.width(text) <= room:
            return text
        while text and self.width(text + "…") > room:
            text = text[:-1]
        return text + "…"


_PLAIN = frozenset(chr(code) for code in range(32, 127)) - {"(", ")", "\\"}


class _Shower:
    """Text-showing operators for an embedded font.

    reportlab embeds a TrueType font as 256-glyph subsets; printable ASCII always sits at its own code in
    subset 0, so plain text is one literal. Other text is split by subset, each part shown with its
    subset selected, and subset 0 selected again after.
    """

    def __init__(self, canvas, font_name: str, size: float):
        from reportlab.pdfbase.pdfmetrics import getFont

        self.font = getFont(font_name)
        self.doc = canvas._doc
        self.size = size
        self.base = f"{self.font.getSubsetInternalName(0, self.doc)} {size} Tf"
        self.show = lru_cache(maxsize=65536)(self._show)

    def select(self) -> str:
        return self.base

    def _show(self, text: str) -> str:
        if _PLAIN.issuperset(text):
            return f"({text}) Tj"
        parts = []
        for subset, encoded in self.font.splitString(visual(text), self.doc):
            escaped = "".join("\\" + format(byte, "03o") if byte > 126 or byte < 32 or byte in (40, 41, 92)
                              else chr(byte) for byte in encoded)
            parts.append(f"{self.font.getSubsetInternalName(subset, self.doc)} {self.size} Tf ({escaped}) Tj")
        return " ".join(parts) + " " + self.base


def write_pdf(
    path: Path,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    title: str,
    filter_lines: Sequence[str] = (),
    totals: Sequence[Sequence[Any]] = (),
    footer_note: str = "",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write rows as a landscape A4 table; returns the row count.

    `totals` rows are printed bold after the data. `progress(done)` is called
    every few thousand rows and may raise ExportCancelled (no file is left).
    """
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen.canvas import Canvas

    page_width, page_height = landscape(A4)
    usable = page_width - 2 * MARGIN
    weight = sum(max(column.width, 4) for column in columns) or 1
    widths = [usable * max(column.width, 4) / weight for column in columns]
    lefts = [MARGIN + sum(widths[:index]) for index in range(len(columns))]
    rooms = [width - 2 * PADDING for width in widths]
    numeric = [column.kind in NUMERIC_KINDS for column in columns]
    kinds = [column.kind for column in columns]
    register_fonts()
    metrics = {FONT: _Metrics(FONT, FONT_SIZE), BOLD: _Metrics(BOLD, FONT_SIZE)}
    # ASCII85 around compressed streams only makes the file 25 % bigger, and reportlab's
    # pure-Python encoder (no C accelerator installed) costs seconds at 100,000 rows.
    saved_a85, rl_config.useA85 = rl_config.useA85, 0
    try:
        return _write(path, columns, rows, title, filter_lines, totals, footer_note, progress, Canvas, page_width,
                      page_height, widths, lefts, rooms, numeric, kinds, metrics)
    finally:
        rl_config.useA85 = saved_a85


def _write(path, columns, rows, title, filter_lines, totals, footer_note, progress, Canvas, page_width, page_height,
           widths, lefts, rooms, numeric, kinds, metrics) -> int:
    count = 0
    with atomic_file(path) as temporary:
        canvas = Canvas(str(temporary), pagesize=(page_width, page_height), pageCompression=1)
        canvas.setTitle(title)
        showers = {name: _Shower(canvas, name, FONT_SIZE) for name in (FONT, BOLD)}
        state = {"page": 0, "y": 0.0, "font": FONT, "ops": None}

        def begin_text(font: str) -> None:
            end_text()
            state["ops"] = [f"BT {showers[font].select()}"]
            state["font"] = font

        def end_text() -> None:
            if state["ops"] is not None:
                state["ops"].append("ET")
                canvas.addLiteral("\n".join(state["ops"]))
                state["ops"] = None

        left_ops = [f"1 0 0 1 {left + PADDING:.2f} " for left in lefts]
        right_edges = [left + width - PADDING for left, width in zip(lefts, widths)]

        def draw_row(row: Sequence[Any], y: float) -> None:
            measure = metrics[state["font"]]
            fit, width, show = measure.fit, measure.width, showers[state["font"]].show
            ops = state["ops"]
            y_op = f"{y:.2f} Tm "
            for index, value in enumerate(row):
                if numeric[index]:
                    text = cell_text(value, kinds[index])
                    if text:
                        text = fit(text, rooms[index])
                        ops.append(f"1 0 0 1 {right_edges[index] - width(text):.2f} {y_op}{show(text)}")
                else:
                    text = value if isinstance(value, str) else cell_text(value, kinds[index])
                    if text:
                        ops.append(f"{left_ops[index]}{y_op}{show(fit(text, rooms[index]))}")

        def new_page(font: str) -> None:
            end_text()
            if state["page"]:
                canvas.showPage()
            state["page"] += 1
            y = page_height - MARGIN
            if state["page"] == 1:
                canvas.setFont(BOLD, 12)
                canvas.drawString(MARGIN, y - 10, visual(title))
                y -= 18
                canvas.setFont(FONT, 8)
                for line in filter_lines:
                    canvas.drawString(MARGIN, y - 8, visual(line))
                    y -= 10
                y -= 4
            canvas.setFont(FONT, 7)
            canvas.drawString(MARGIN, MARGIN - 14, visual(footer_note or title))
            canvas.drawRightString(page_width - MARGIN - 12, MARGIN - 14, f"Page {state['page']} of ")
            canvas.doForm("page_count")
            y -= ROW_HEIGHT
            canvas.line(MARGIN, y - 2.5, page_width - MARGIN, y - 2.5)
            begin_text(BOLD)
            draw_row([column.title for column in columns], y)
            begin_text(font)
            state["y"] = y - ROW_HEIGHT - 1

        def emit(row: Sequence[Any]) -> None:
            if state["y"] < MARGIN:
                new_page(state["font"])
            draw_row(row, state["y"])
            state["y"] -= ROW_HEIGHT

        new_page(FONT)
        for row in rows:
            emit(row)
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
        if totals:
            if state["y"] < MARGIN + ROW_HEIGHT * len(totals):
                new_page(FONT)
            end_text()
            canvas.line(MARGIN, state["y"] + ROW_HEIGHT - 2.5, page_width - MARGIN, state["y"] + ROW_HEIGHT - 2.5)
            begin_text(BOLD)
            for row in totals:
                emit(row)
        end_text()
        if count == 0 and not totals:
            canvas.setFont(FONT, 8)
            canvas.drawString(MARGIN, state["y"], "No rows match these filters.")
        canvas.beginForm("page_count")
        canvas.setFont(FONT, 7)
        canvas.drawString(page_width - MARGIN - 12, MARGIN - 14, str(state["page"]))
        canvas.endForm()
        canvas.save()
    if progress is not None:
        progress(count)
    return count
