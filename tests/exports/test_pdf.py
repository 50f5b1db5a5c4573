"""The PDF table writer: readable text, page numbers, totals, truncation, speed per row."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from stron_tui.exports.files import ExportCancelled
from stron_tui.exports.pdf import cell_text, write_pdf
from stron_tui.exports.tables import Column

COLUMNS = [Column("Date", 11, "date"), Column("Customer", 14), Column("Amount", 12, "money"),
           Column("Units", 8, "units")]


def test_rows_totals_and_page_numbers_are_in_the_text(tmp_path):
    path = tmp_path / "report.pdf"
    rows = [(date(2024, 1, day % 28 + 1), f"Customer {day}", Decimal("12.50"), Decimal("25.0")) for day in range(150)]
    count = write_pdf(path, COLUMNS, rows, title="Test Report", filter_lines=["Period: January"],
                      totals=[("Total", None, Decimal("1875.00"), Decimal("3750.0"))])
    assert count == 150
    pages = PdfReader(path).pages
    assert len(pages) == 3
    first, last = pages[0].extract_text(), pages[-1].extract_text()
    assert "Test Report" in first and "Period: January" in first and re.search(r"Page 1 of\s*3", first)
    assert "Customer 0" in first and "12.50" in first
    assert re.search(r"Page 3 of\s*3", last) and "Customer 149" in last and "1,875.00" in last and "3,750.0" in last
    assert "Date" in last  # the header repeats on every page


def test_long_text_is_cut_to_its_column_and_non_latin_text_survives(tmp_path):
    path = tmp_path / "narrow.pdf"
    write_pdf(path, [Column("Name", 4), Column("Where", 30)], [("A very long customer name indeed", "Lagos (Ikeja) £5 €")],
              title="Narrow")
    text = PdfReader(path).pages[0].extract_text()
    assert "A very long customer name indeed" not in text and "…" in text
    assert "Lagos (Ikeja) £5 €" in text


def test_empty_report_says_so(tmp_path):
    path = tmp_path / "empty.pdf"
    assert write_pdf(path, COLUMNS, [], title="Nothing") == 0
    assert "No rows match these filters." in PdfReader(path).pages[0].extract_text()


def test_cancel_leaves_no_file(tmp_path):
    path = tmp_path / "cancelled.pdf"

    def cancel(done):
        raise ExportCancelled("Export cancelled.")

    rows = ((date(2024, 1, 1), "x", Decimal(1), Decimal(1)) for _ in range(5000))
    with pytest.raises(ExportCancelled):
        write_pdf(path, COLUMNS, rows, title="Big", progress=cancel)
    assert list(tmp_path.iterdir()) == []


def test_cell_text():
    assert cell_text(Decimal("1234567.50"), "money") == "1,234,567.50"
    assert cell_text(12345, "integer") == "12,345"
    assert cell_text(datetime(2024, 3, 5, 9, 0, 7), "datetime") == "2024-03-05 09:00:07"
    assert cell_text(None) == ""


NAMES = ["Adaeze Ọkọnkwọ", "Łukasz Żółć", "Дмитрий Иванов", "محمد الأمين"]


def test_every_script_in_customer_names_is_in_the_pdf_text(tmp_path):
    path = tmp_path / "names.pdf"
    rows = [(date(2024, 1, 2), name, Decimal("10.00"), Decimal("1.5")) for name in NAMES]
    write_pdf(path, COLUMNS, rows, title="Receipts: Ọkọnkwọ", filter_lines=["Customer: Дмитрий"],
              totals=[("Total", "Всего", Decimal("40.00"), Decimal("6.0"))])
    # Arabic is drawn joined (presentation forms): NFKC gives back the letters as typed.
    text = unicodedata.normalize("NFKC", PdfReader(path).pages[0].extract_text())
    for name in NAMES + ["Receipts: Ọkọnkwọ", "Customer: Дмитрий", "Всего", "40.00"]:
        assert name in text, name
    assert "?" not in text
    # The font travels inside the file: a PC without DejaVu shows the same letters.
    fonts = PdfReader(path).pages[0]["/Resources"]["/Font"]
    assert any("DejaVuSans" in str(font.get_object()["/BaseFont"]) for font in fonts.values())


def test_a_name_cut_to_its_column_keeps_its_letters(tmp_path):
    path = tmp_path / "cut.pdf"
    write_pdf(path, [Column("Name", 5), Column("Rest", 60)], [("Ọkọnkwọ Ọkọnkwọ Ọkọnkwọ Ọkọnkwọ", "x")], title="Cut")
    text = PdfReader(path).pages[0].extract_text()
    assert "Ọkọ" in text and "…" in text and "?" not in text
