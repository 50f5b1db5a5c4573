"""A small horizontal bar chart in text: one line per item, label, bar of blocks, value.

Values are printed beside every bar, so nothing depends on colour (or on
seeing the bar at all); eighth blocks give the bar's end its fine length.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Sequence

from textual.widgets import Static

EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: float, largest: float, width: int) -> str:
    if largest <= 0 or value <= 0:
        return ""
    eighths = round(value / largest * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[rest] if rest else "")


def render_chart(items: Sequence[tuple[str, Decimal | float, str]], width: int = 40, title: str = "") -> str:
    """`items` are (label, value, value as text); returns the chart as lines of text."""
    if not items:
        return f"{title}\n(no data)" if title else "(no data)"
    largest = max(float(value) for _, value, _ in items)
    label_width = max(len(label) for label, _, _ in items)
    text_width = max(len(text) for _, _, text in items)
    lines = [title] if title else []
    for label, value, text in items:
        lines.append(f"{label:<{label_width}} {text:>{text_width}} {bar(float(value), largest, width)}")
    return "\n".join(lines)


class BarChart(Static):
    DEFAULT_CSS = """
    BarChart { height: auto; padding: 0 1; }
    """

    def __init__(self, *, bar_width: int = 40, id: str | None = None):
        super().__init__("", markup=False, id=id)
        self.bar_width = bar_width

    def show(self, items: Sequence[tuple[str, Decimal | float, str]], title: str = "") -> None:
        self.update(render_chart(items, self.bar_width, title))
