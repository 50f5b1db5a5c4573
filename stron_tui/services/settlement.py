"""Partner settlement: per API account and business day, every sale and reversal, totals and a checksum.

The file lists the day's sales of the account (by business date) and the
day's reversals of the account's sales, each with the partner's own
reference (the request id it sent), so both sides reconcile line by line.
Reversal lines carry negative amounts. Totals per currency:
    net = sum(sales) - sum(reversals)
The checksum is SHA-256 over the file's data lines (header, rows, totals) as
written in the CSV, joined with newlines: a partner recomputes it to prove the
file is complete and unchanged. The same lines go to the Excel file.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from stron_tui.db.models import ApiAccount, Currency, Reversal, Vend
from stron_tui.errors import NotFound, ValidationError
from stron_tui.exports.files import atomic_file, export_path
from stron_tui.exports.tables import Column, csv_cell, write_xlsx
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.scope import parse_date
from stron_tui.domain.text import clean, fold
from stron_tui.services.vendor_floats import in_minor_unit

COLUMNS = (
    Column("Kind", 9), Column("Partner reference", 34), Column("Transaction", 14), Column("Receipt", 18),
    Column("Reversal", 13), Column("Time (UTC)", 20), Column("Meter", 14), Column("Paid", 12, "money"),
    Column("Paid currency", 8), Column("Gross", 12, "money"), Column("Currency", 8), Column("Units", 10, "units"),
)


@dataclass(frozen=True)
class SettlementLine:
    kind: str  # sale | reversal
    reference: str
    transaction_number: str
    receipt_number: str
    reversal_number: str
    when: str
    meter_number: str
    paid_amount: Decimal
    paid_currency: str
    gross_amount: Decimal
    currency: str
    units: Decimal

    def cells(self) -> list:
        return [self.kind, self.reference, self.transaction_number, self.receipt_number, self.reversal_number,
                self.when, self.meter_number, self.paid_amount, self.paid_currency, self.gross_amount, self.currency,
                self.units]


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    sales: int
    sales_amount: Decimal
    reversals: int
    reversals_amount: Decimal  # negative
    net: Decimal


@dataclass(frozen=True)
class Settlement:
    account: str
    day: date
    lines: tuple[SettlementLine, ...]
    totals: tuple[CurrencyTotal, ...]
    checksum: str


def _account(session, actor: Actor, name: str) -> tuple[int, str]:
    """The API account named; a partner may settle only itself, an operator needs statement rights."""
    key = fold(clean(name).strip())
    if not key:
        raise ValidationError("Name the API account.", field="account")
    found = session.execute(select(ApiAccount.id, ApiAccount.name).where(ApiAccount.name_key == key)).first()
    if actor.api_account_id is not None:
        if found is None or found.id != actor.api_account_id:
            raise NotFound(f"There is no API account {clean(name).strip()}.")
    else:
        actor.require("reports.vendor_statements")
        if found is None:
            raise NotFound(f"There is no API account {clean(name).strip()}.")
    return found.id, found.name


def _day(text) -> date:
    day = text if isinstance(text, date) else parse_date(str(text), "date")
    if day is None:
        raise ValidationError("Give the business day as YYYY-MM-DD.", field="date")
    return day


def _when(instant) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def settlement(ctx: AppContext, actor: Actor, account: str, day) -> Settlement:
    """The day's settlement of one API account (sales by id, then reversals by id)."""
    wanted = _day(day)
    with ctx.db.read_session() as session:
        account_id, name = _account(session, actor, account)
        places = dict(session.execute(select(Currency.code, Currency.minor_unit)).all())

        def money(amount: Decimal, currency: str) -> Decimal:
            return in_minor_unit(amount, places.get(currency, 2))

        lines = [SettlementLine("sale", v.request_id, v.transaction_number, v.receipt_number, "", _when(v.created_at),
                                v.meter_number, money(v.paid_amount, v.paid_currency), v.paid_currency,
                                money(v.gross_amount, v.currency), v.currency, v.units)
                 for v in session.scalars(select(Vend).where(Vend.api_account_id == account_id,
                                                             Vend.business_date == wanted).order_by(Vend.id))]
        lines += [SettlementLine("reversal", v.request_id, v.transaction_number, v.receipt_number,
                                 r.reversal_number, _when(r.created_at), v.meter_number,
                                 -money(r.paid_amount, r.paid_currency), r.paid_currency,
                                 -money(r.gross_amount, r.currency), r.currency, -r.units)
                  for r, v in session.execute(select(Reversal, Vend).join(Vend, Vend.id == Reversal.vend_id)
                                              .where(Vend.api_account_id == account_id,
                                                     Reversal.business_date == wanted).order_by(Reversal.id))]
    totals: dict[str, list] = {}
    for line in lines:
        total = totals.setdefault(line.paid_currency, [0, Decimal(0), 0, Decimal(0)])
        if line.kind == "sale":
            total[0] += 1
            total[1] += line.paid_amount
        else:
            total[2] += 1
            total[3] += line.paid_amount
    summary = tuple(CurrencyTotal(code, t[0], t[1], t[2], t[3], t[1] + t[3]) for code, t in sorted(totals.items()))
    return Settlement(name, wanted, tuple(lines), summary, _checksum(lines, summary))


def _total_rows(totals) -> list[list]:
    return [["total", f"{t.currency}: {t.sales} sales, {t.reversals} reversals", "", "", "", "", "",
             t.net, t.currency, "", "", ""] for t in totals]


def _data_csv(lines, totals) -> str:
    """The file's data as CSV (header, rows, totals): what the checksum covers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.title for column in COLUMNS])
    for row in [line.cells() for line in lines] + _total_rows(totals):
        writer.writerow(["" if value is None else csv_cell(value) for value in row])
    return buffer.getvalue()


def _checksum(lines, totals) -> str:
    return hashlib.sha256(_data_csv(lines, totals).encode()).hexdigest()


def csv_text(result: Settlement) -> str:
    """The settlement CSV: the data, then a last line `checksum,sha256:<hex of the data above>`."""
    return _data_csv(result.lines, result.totals) + ",".join(
        ["checksum", f"sha256:{result.checksum}"] + [""] * (len(COLUMNS) - 2)) + "\r\n"


@dataclass(frozen=True)
class SettlementFiles:
    settlement: Settlement
    csv_path: Path
    xlsx_path: Path


def write_settlement(ctx: AppContext, actor: Actor, account: str, day) -> SettlementFiles:
    """The day's settlement as CSV and Excel files in the caller's export folder."""
    result = settlement(ctx, actor, account, day)
    stem = f"settlement-{result.account}-{result.day.isoformat()}"
    owner = actor.user_id if actor.user_id is not None else None
    csv_path = export_path(ctx.settings, stem, "csv", user_id=owner)
    with atomic_file(csv_path) as temporary:
        temporary.write_text(csv_text(result), encoding="utf-8", newline="")
    rows = [line.cells() for line in result.lines] + _total_rows(result.totals)
    xlsx_path = export_path(ctx.settings, stem, "xlsx", user_id=owner)
    write_xlsx(xlsx_path, COLUMNS, rows, sheet="Settlement",
               title_lines=[f"Settlement of {result.account} for {result.day.isoformat()}",
                            f"Checksum sha256:{result.checksum}"])
    return SettlementFiles(result, csv_path, xlsx_path)


def transactions_by_reference(ctx: AppContext, actor: Actor, day, reference: str = "") -> list[SettlementLine]:
    """A partner's own day, by its own references (one reference: that sale and its reversal if any)."""
    if actor.api_account_id is None:
        raise ValidationError("Only an API account lists its own transactions by reference.", field="account")
    with ctx.db.read_session() as session:
        name = session.scalar(select(ApiAccount.name).where(ApiAccount.id == actor.api_account_id))
    lines = settlement(ctx, actor, name or "", day).lines
    wanted = clean(reference).strip()
    return [line for line in lines if not wanted or line.reference == wanted]
