"""Receipts as text (40 or 80 columns), PDF, and the terminal's transparent print.

PuTTY, xterm and most terminal emulators pass everything between ESC[5i and
ESC[4i to the printer of the PC they run on, so a cashier at a remote
station prints on their own receipt printer through the SSH session.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from stron_tui.exports.files import atomic_file, export_path
from stron_tui.money import money_text
from stron_tui.services.receipts import Receipt

PRINT_START = "\x1b[5i"
PRINT_END = "\x1b[4i"


def _money(value: Decimal | None, currency: str) -> str:
    """A receipt's amounts come in their currency's minor unit (services.receipts): shown as they are."""
    return money_text(value, currency)


def _token_lines(token: str, width: int) -> list[str]:
    groups = [token[i:i + 4] for i in range(0, len(token), 4)]
    text = " ".join(groups)
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
        pair("VAT", _money(receipt.vat, receipt.currency))
        pair("Excise", _money(receipt.excise, receipt.currency))
        pair("Net charge", _money(receipt.net, receipt.currency))
        pair("Price/unit", f"{receipt.price_per_unit.normalize()} {receipt.currency}/{receipt.unit}")
        pair("Units", f"{receipt.units} {receipt.unit}")
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
    if receipt.token:
        lines.append("TOKEN".center(width))
        lines.extend(_token_lines(receipt.token, width))
        lines.append(rule)
    lines.append("Keep this receipt.".center(width))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def transparent_print(text: str) -> str:
    """Wrap text so the terminal sends it to the local printer (CRLF line ends for printers)."""
    return PRINT_START + text.replace("\n", "\r\n") + "\x0c" + PRINT_END


def save_receipt(settings, receipt: Receipt, user_code: str | None = None) -> list[Path]:
    """The receipt as 40- and 80-column text and as PDF in the operator's export directory."""
    stem = f"receipt-{receipt.receipt_number}" + ("-reprint" if receipt.reprint else "")
    paths = []
    for width in (40, 80):
        path = export_path(settings, f"{stem}-{width}col", "txt", user_code)
        with atomic_file(path) as temporary:
            temporary.write_text(render_text(receipt, width), encoding="utf-8")
        paths.append(path)
    pdf = export_path(settings, stem, "pdf", user_code)
    with atomic_file(pdf) as temporary:
        _write_pdf(temporary, render_text(receipt, 40))
    paths.append(pdf)
    return paths


def _write_pdf(path: Path, text: str) -> None:
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    lines = text.splitlines()
    line_height = 4 * mm
    height = (len(lines) + 4) * line_height
    pdf = canvas.Canvas(str(path), pagesize=(80 * mm, height))
    pdf.setTitle("Receipt")
    pdf.setFont("Courier", 8)
    y = height - 2 * line_height
    for line in lines:
        pdf.drawString(3 * mm, y, line)
        y -= line_height
    pdf.showPage()
    pdf.save()
