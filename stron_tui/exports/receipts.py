"""Receipts as text (40 or 80 columns), PDF, and the terminal's transparent print.

PuTTY, xterm and most terminal emulators pass everything between ESC[5i and
ESC[4i to the printer of the PC they run on, so a cashier at a remote
station prints on their own receipt printer through the SSH session. A
terminal without it paints the receipt over the app instead, and nothing
tells the server which kind it is talking to: so a receipt goes to the
terminal only where the Sales Station Library says the station prints that
way; everywhere else it is saved, and the cashier is told where.

Every text a receipt shows comes from the database (names, reasons, codes);
it is made printable on the way out, so the only escape sequences in a
print stream are our own ESC[5i and ESC[4i.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable

from stron_tui.exports.files import atomic_file, export_path, where_saved
from stron_tui.money import money_text
from stron_tui.domain.receipt import Receipt
from stron_tui.domain.text import printable
from stron_tui.domain.tokens import grouped

PRINT_START = "\x1b[5i"
PRINT_END = "\x1b[4i"


def _money(value: Decimal | None, currency: str) -> str:
    """A receipt's amounts come in their currency's minor unit (services.receipts): shown as they are."""
    return money_text(value, currency)


def _token_lines(token: str, width: int) -> list[str]:
    text = grouped(token)
    groups = text.split(" ")
    if len(text) <= width:
        return [text.center(width)]
    return [" ".join(groups[:3]).center(width), " ".join(groups[3:]).center(width)]


def render_text(receipt: Receipt, width: int | None = None) -> str:
    width = width or receipt.receipt_width
    rule = "-" * width
    lines: list[str] = []

    def pair(label: str, value: object) -> None:
        value = "" if value is None else str(value)
        space = width - len(label) - len(value)
        if space >= 1:
            lines.append(f"{label}{' ' * space}{value}")
        else:
            lines.append(label)
            lines.append(value.rjust(width)[-width:])

    lines.append(receipt.utility_name[:width].center(width))
    lines.append(f"{receipt.station_code} {receipt.station_name}"[:width].center(width))
    if receipt.reprint:
        lines.append("*** REPRINT ***".center(width))
    if receipt.reversed_by:
        lines.append(f"*** REVERSED {receipt.reversed_by} ***".center(width))
    lines.append(receipt.title[:width].center(width))
    lines.append(rule)
    pair("Receipt", receipt.receipt_number)
    pair("Transaction", receipt.transaction_number)
    pair("Date", receipt.local_time)
    pair("Operator", receipt.operator)
    lines.append(rule)
    if receipt.customer_name or receipt.customer_code:
        pair("Customer", receipt.customer_code)
        lines.append(receipt.customer_name[:width])
    if receipt.account_number:
        pair("Account", receipt.account_number)
    pair("Meter", receipt.meter_number)
    if receipt.kind == "vend":
        pair("Tariff", receipt.tariff_name[: max(1, width - 8)])
        lines.append(rule)
        if receipt.paid_currency and receipt.paid_currency != receipt.currency:
            pair("Paid", _money(receipt.paid_amount, receipt.paid_currency))
            pair("Rate", f"1 {receipt.paid_currency} = {receipt.exchange_rate.normalize()} {receipt.currency}")
        pair("Payment", receipt.payment_type)
        pair("Gross", _money(receipt.gross, receipt.currency))
        if receipt.debt_recovered or receipt.debt_after:
            pair("Debt recovered", _money(receipt.debt_recovered, receipt.currency))
            pair("Debt still owed", _money(receipt.debt_after, receipt.currency))
        if receipt.fixed_charge:
            months = receipt.fixed_charge_months
            pair(f"Fixed charge {months} mo", _money(receipt.fixed_charge, receipt.currency))
        if receipt.energy is not None and receipt.energy != receipt.gross:
            pair("Energy", _money(receipt.energy, receipt.currency))
        if len(receipt.blocks) > 1:
            for line in receipt.blocks:
                pair(f" Block {line.position} {line.units} x {line.price_all_in.normalize():f}",
                     _money(line.amount, receipt.currency))
        pair("VAT", _money(receipt.vat, receipt.currency))
        pair("Excise", _money(receipt.excise, receipt.currency))
        pair("Net charge", _money(receipt.net, receipt.currency))
        if len(receipt.blocks) <= 1:
            pair("Price/unit", f"{receipt.price_per_unit.normalize()} {receipt.currency}/{receipt.unit}")
        pair("Units", f"{receipt.units} {receipt.unit}")
        if receipt.free_units:
            pair("Free units", f"{receipt.free_units} {receipt.unit}")
            pair("Subsidy", _money(receipt.subsidy, receipt.currency))
    else:
        if receipt.detail:
            pair("Detail", receipt.detail)
        if receipt.reason:
            pair("Reason", receipt.reason[: max(1, width - 8)])
    lines.append(rule)
    if receipt.key_change_tokens:
        lines.append("KEY CHANGE: enter these first, in order".center(width)[:width])
        for index, token in enumerate(receipt.key_change_tokens, start=1):
            for line_index, line in enumerate(_token_lines(token, width - 4)):
                lines.append(f"{index}.  {line}" if line_index == 0 else f"    {line}")
        lines.append(rule)
    if receipt.free_token:
        lines.append(f"FREE UNITS TOKEN ({receipt.free_units} {receipt.unit}): enter first".center(width)[:width])
        lines.extend(_token_lines(receipt.free_token, width))
        lines.append(rule)
    if receipt.token:
        lines.append("TOKEN".center(width))
        lines.extend(_token_lines(receipt.token, width))
        lines.append(rule)
    lines.append("Keep this receipt.".center(width))
    return "\n".join(printable(line).rstrip() for line in lines) + "\n"


def transparent_print(text: str) -> str:
    """Wrap text so the terminal sends it to the local printer (CRLF line ends for printers).

    Any control character inside `text` would end the print early (ESC[4i) or act on the screen
    instead: only line breaks are kept, the rest become '?'."""
    return PRINT_START + printable(text, keep_newlines=True).replace("\n", "\r\n") + "\x0c" + PRINT_END


@dataclass(frozen=True)
class PrintOutcome:
    sent_to_printer: bool  # handed to the terminal's printer; False: saved as files instead
    paths: tuple[Path, ...]
    message: str


def print_or_save(settings, receipt: Receipt, *, printing: str, terminal: Callable[[str], None] | None,
                  user_id: int | None, remote: bool, decided_by: str = "station") -> PrintOutcome:
    """Send the receipt to the station's printer where the station (or the SSH key the session logged in
    with: `decided_by` "key") prints through its terminal and there is a terminal; otherwise save it (text
    and PDF) and say where. Never says printed when it was not."""
    number = receipt.receipt_number
    if printing == "terminal" and terminal is not None:
        terminal(transparent_print(render_text(receipt)))
        return PrintOutcome(True, (), f"Receipt {number} sent to this terminal's printer. "
                                      "If no paper came out, press S to save it as a file.")
    saved = save_receipt(settings, receipt, user_id)
    paths = tuple(sorted(saved, key=lambda path: path.suffix != ".pdf"))  # the PDF first: the one to print
    if printing == "terminal":
        reason = "This session has no terminal to print on"
    elif decided_by == "key":
        reason = "This terminal's SSH key is set to save receipts"
    else:
        reason = "This station is not set up to print"
    return PrintOutcome(False, paths, f"{reason}; receipt {number} saved as "
                                      f"{where_saved(settings, paths, user_id, remote)}")


def save_receipt(settings, receipt: Receipt, user_id: int | None = None) -> list[Path]:
    """The receipt as 40- and 80-column text and as PDF in the operator's export directory."""
    stem = f"receipt-{receipt.receipt_number}" + ("-reprint" if receipt.reprint else "")
    paths = []
    for width in (40, 80):
        path = export_path(settings, f"{stem}-{width}col", "txt", user_id=user_id)
        with atomic_file(path) as temporary:
            temporary.write_text(render_text(receipt, width), encoding="utf-8")
        paths.append(path)
    pdf = export_path(settings, stem, "pdf", user_id=user_id)
    with atomic_file(pdf) as temporary:
        _write_pdf(temporary, render_text(receipt, 40))
    paths.append(pdf)
    return paths


def _write_pdf(path: Path, text: str) -> None:
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    from stron_tui.exports.pdf import MONO, register_fonts, visual

    register_fonts()  # the customer's name in any script, in a monospaced font so the columns line up
    lines = text.splitlines()
    line_height = 4 * mm
    height = (len(lines) + 4) * line_height
    pdf = canvas.Canvas(str(path), pagesize=(80 * mm, height))
    pdf.setTitle("Receipt")
    pdf.setFont(MONO, 8)
    y = height - 2 * line_height
    for line in lines:
        pdf.drawString(3 * mm, y, visual(line))
        y -= line_height
    pdf.showPage()
    pdf.save()
