"""CSV exports for integrations: ISO times, plain numbers, formulas neutralised."""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from decimal import Decimal

from stron_tui.exports.tables import Column, write_csv


def test_csv_holds_iso_times_numbers_and_neutralised_formulas(tmp_path):
    path = tmp_path / "sales.csv"
    columns = [Column("Time", kind="datetime"), Column("Gross", kind="money"), Column("Customer")]
    rows = [(datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc), Decimal("12.50"), "=HYPERLINK(1)"),
            (datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc), Decimal("-3.00"), "-minus")]
    assert write_csv(path, columns, rows) == 2
    with path.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [
            ["Time", "Gross", "Customer"],
            ["2026-11-24T09:30:00+00:00", "12.50", "'=HYPERLINK(1)"],
            ["2026-11-24T10:00:00+00:00", "-3.00", "'-minus"],
        ]
