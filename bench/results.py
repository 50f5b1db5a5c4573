"""What every benchmark shares: a percentile and the results table ending in `targets met: K/N`."""

from __future__ import annotations

from typing import Sequence


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def print_results(rows: Sequence[tuple[str, str, str, str, bool | None]]) -> None:
    """Rows of (operation, size, figure, target, met); met None is a figure without a target."""
    widths = [max(len(str(row[index])) for row in rows) for index in range(4)]
    header = ("operation", "size", "figure", "target")
    widths = [max(width, len(title)) for width, title in zip(widths, header)]
    print(f"{header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]:>{widths[2]}}  {header[3]:>{widths[3]}}  met")
    for name, size, figure, target, met in rows:
        shown = "-" if met is None else "yes" if met else "NO"
        print(f"{name:<{widths[0]}}  {size:<{widths[1]}}  {figure:>{widths[2]}}  {target:>{widths[3]}}  {shown}")
    judged = [row for row in rows if row[4] is not None]
    print(f"targets met: {sum(1 for row in judged if row[4])}/{len(judged)}")
