"""Receipts: print only where the station prints, otherwise save and say where; PDFs carry every name."""

from __future__ import annotations

import unicodedata

from pypdf import PdfReader

from stron_tui.exports.receipts import PRINT_END, PRINT_START, print_or_save, save_receipt
from tests.exports.receipt_samples import sample_receipt

NAMES = ["Adaeze Ọkọnkwọ", "Дмитрий Иванов", "محمد الأمين"]


def test_receipt_pdf_shows_customer_names_in_every_script(test_settings):
    for name in NAMES:
        paths = save_receipt(test_settings, sample_receipt(customer_name=name), 7)
        pdf = next(path for path in paths if path.suffix == ".pdf")
        text = unicodedata.normalize("NFKC", PdfReader(pdf).pages[0].extract_text())
        assert name in text and "S1-0000042" in text and "1234 5678 9012 3456 7890" in text
        assert "?" not in text


def test_saved_receipt_files_are_named_by_receipt_and_time(test_settings):
    paths = save_receipt(test_settings, sample_receipt(), 7)
    assert sorted(path.suffix for path in paths) == [".pdf", ".txt", ".txt"]
    for path in paths:
        assert path.name.startswith("receipt-S1-0000042-")
        assert path.parent == test_settings.export_dir / "u7"
    stamps = {path.stem.split("-")[-2] + path.stem.split("-")[-1] for path in paths}
    assert len(stamps) == 1 and all(len(stamp) == 14 and stamp.isdigit() for stamp in stamps)


def test_a_station_that_prints_through_its_terminal_gets_the_receipt_there_and_no_file(test_settings):
    sent = []
    outcome = print_or_save(test_settings, sample_receipt(), printing="terminal", terminal=sent.append,
                            user_id=7, remote=True)
    assert outcome.sent_to_printer and outcome.paths == ()
    assert len(sent) == 1 and sent[0].startswith(PRINT_START) and sent[0].endswith(PRINT_END)
    assert "S1-0000042" in sent[0] and "sent to this terminal's printer" in outcome.message
    assert not (test_settings.export_dir / "u7").exists() or not any(
        (test_settings.export_dir / "u7").iterdir())


def test_a_station_without_printing_saves_and_says_where_to_fetch_it(test_settings):
    sent = []
    outcome = print_or_save(test_settings, sample_receipt(), printing="none", terminal=sent.append,
                            user_id=7, remote=True)
    assert sent == [] and not outcome.sent_to_printer  # never claimed as printed
    assert len(outcome.paths) == 3 and all(path.exists() for path in outcome.paths)
    assert "not set up to print" in outcome.message and "printer" not in outcome.message.split(";")[1]
    pdf = next(path for path in outcome.paths if path.suffix == ".pdf")
    assert outcome.message.endswith(f"fetch over SFTP (same user and server as this session): get /{pdf.name}")
    local = print_or_save(test_settings, sample_receipt(), printing="terminal", terminal=None,
                          user_id=7, remote=False)
    assert not local.sent_to_printer and str(local.paths[0].parent) in local.message
    assert "no terminal to print on" in local.message


def test_a_key_set_to_save_says_so_and_prints_nothing(test_settings):
    sent = []
    outcome = print_or_save(test_settings, sample_receipt(), printing="none", decided_by="key",
                            terminal=sent.append, user_id=7, remote=True)
    assert sent == [] and not outcome.sent_to_printer and len(outcome.paths) == 3
    assert outcome.message.startswith("This terminal's SSH key is set to save receipts; receipt S1-0000042 saved")
