"""4. Transaction Number Report: the sale or management token behind each transaction number typed (a
reversed sale with its reversal's number)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Sequence

from sqlalchemy import func, select

from stron_tui.db.models import (
    Account,
    Customer,
    District,
    ManagementToken,
    ReceiptPrint,
    Reversal,
    SalesStation,
    User,
    Vend,
)
from stron_tui.db.queries import chunked
from stron_tui.errors import ValidationError
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.domain.operators import operator_label
from stron_tui.domain.tokens import grouped
from stron_tui.services.reports.common import ReportRequest, open_request
from stron_tui.services.reports.spec import Loaded, Option, Report
from stron_tui.services.reports.tables import Column, ReportTable
from stron_tui.domain.text import clean

MAX_TRANSACTION_NUMBERS = 500

@dataclass(frozen=True)
class TransactionDetail:
    transaction_number: str
    receipt_number: str
    created_at: datetime
    business_date: date
    customer_code: str
    customer: str
    customer_phone: str
    customer_address: str
    meter_number: str
    account_number: str
    district: str
    station: str
    operator: str
    source: str
    tariff_name: str
    utility: str
    unit: str
    mode: str
    payment_type: str
    paid_currency: str
    paid_amount: Decimal
    exchange_rate: Decimal
    currency: str
    gross_amount: Decimal
    vat_amount: Decimal
    excise_amount: Decimal
    net_amount: Decimal
    units: Decimal
    token: str
    key_change_tokens: str
    reprints: int
    reversal_number: str = ""  # the sale's reversal, if a supervisor reversed it


@dataclass(frozen=True)
class TransactionLookup:
    found: list[TransactionDetail]
    missing: list[str]


def split_numbers(text: str) -> list[str]:
    """Transaction numbers typed separated by spaces, commas or semicolons; duplicates dropped."""
    seen: dict[str, None] = {}
    for part in text.replace(",", " ").replace(";", " ").split():
        seen.setdefault(clean(part), None)
    return [number for number in seen if number]


def wanted_numbers(numbers: Sequence[str]) -> list[str]:
    """The numbers to look up, cleaned, each once; a clear message when there are none or too many."""
    wanted = list(dict.fromkeys(clean(n) for n in numbers if clean(n)))
    if not wanted:
        raise ValidationError("Type one or more transaction numbers.", field="numbers")
    if len(wanted) > MAX_TRANSACTION_NUMBERS:
        raise ValidationError(f"Look up at most {MAX_TRANSACTION_NUMBERS} transaction numbers at a time.",
                              field="numbers")
    return wanted


def transactions(ctx: AppContext, actor: Actor, numbers: Sequence[str]) -> TransactionLookup:
    """Look up transaction numbers with the customer, meter and purchase behind each."""
    actor.require("reports.view")
    wanted_numbers(numbers)
    with open_request(ctx, actor, numbers=numbers) as request:
        return look_up(request)


def look_up(request: ReportRequest) -> TransactionLookup:
    """The sales and management tokens behind `request.options['numbers']` that the actor may see."""
    wanted = wanted_numbers(request.options["numbers"])
    zone, session = request.zone, request.session
    reprints = (
        select(func.count(ReceiptPrint.id)).where(ReceiptPrint.receipt_number == Vend.receipt_number)
        .scalar_subquery()
    )
    found: dict[str, TransactionDetail] = {}
    for chunk in chunked(wanted):
        query = (
            select(Vend, Customer.code, Customer.name, Customer.phone, Customer.address, Account.account_number,
                   District.name, SalesStation.name, User.user_code, reprints.label("reprints"),
                   Reversal.reversal_number)
            .join(Customer, Customer.id == Vend.customer_id)
            .join(Account, Account.id == Vend.account_id)
            .join(District, District.id == Vend.district_id)
            .join(SalesStation, SalesStation.id == Vend.station_id)
            .outerjoin(User, User.id == Vend.operator_id)
            .outerjoin(Reversal, Reversal.vend_id == Vend.id)
            .where(Vend.transaction_number.in_(chunk), request.visible(Vend))
        )
        for (vend, c_code, c_name, c_phone, c_address, account_number, district, station, operator, count,
             reversal_number) in session.execute(query):
            found[vend.transaction_number] = TransactionDetail(
                vend.transaction_number, vend.receipt_number, vend.created_at.astimezone(zone),
                vend.business_date, c_code, c_name, c_phone, c_address, vend.meter_number, account_number,
                district, station, operator_label(operator), vend.source, vend.tariff_name, vend.utility, vend.unit,
                vend.mode, vend.payment_type, vend.paid_currency, vend.paid_amount, vend.exchange_rate,
                vend.currency, vend.gross_amount, vend.vat_amount, vend.excise_amount, vend.net_amount,
                vend.units, grouped(vend.token), vend.key_change_tokens, int(count or 0), reversal_number or "",
            )
    missing = [n for n in wanted if n not in found]
    if missing:
        found.update(_management_transactions(request, missing))
    return TransactionLookup([found[n] for n in wanted if n in found], [n for n in wanted if n not in found])


def _management_transactions(request: ReportRequest, numbers: Sequence[str]) -> dict:
    """Management tokens (M... numbers) in the same shape; they carry no money, tariff or units."""
    session, zone = request.session, request.zone
    by_upper = {n.upper(): n for n in numbers}
    reprints = (
        select(func.count(ReceiptPrint.id)).where(ReceiptPrint.receipt_number == ManagementToken.receipt_number)
        .scalar_subquery()
    )
    found = {}
    for chunk in chunked(list(by_upper)):
        query = (
            select(ManagementToken, Customer.code, Customer.name, Customer.phone, Customer.address,
                   Account.account_number, District.name, SalesStation.name, User.user_code,
                   reprints.label("reprints"))
            .outerjoin(Customer, Customer.id == ManagementToken.customer_id)
            .outerjoin(Account, Account.id == ManagementToken.account_id)
            .outerjoin(District, District.id == ManagementToken.district_id)
            .outerjoin(SalesStation, SalesStation.id == ManagementToken.station_id)
            .outerjoin(User, User.id == ManagementToken.operator_id)
            .where(ManagementToken.transaction_number.in_(chunk), request.visible(ManagementToken))
        )
        for row, c_code, c_name, c_phone, c_address, account_number, district, station, operator, count in (
            session.execute(query)
        ):
            kind = row.kind.replace("_", " ").capitalize()
            found[by_upper[row.transaction_number]] = TransactionDetail(
                row.transaction_number, row.receipt_number, row.created_at.astimezone(zone), row.business_date,
                c_code or "", c_name or "", c_phone or "", c_address or "", row.meter_number, account_number or "",
                district or "", station or "", operator_label(operator), row.source, "", "", "", row.kind, kind, "",
                None, None, "", None, None, None, None, None, grouped(row.token), row.key_change_tokens,
                int(count or 0),
            )
    return found


TRANSACTION_COLUMNS = [
    Column("Transaction", 12), Column("Receipt", 12), Column("Time", 17, "datetime"), Column("Customer", 16),
    Column("Meter", 12), Column("Account", 11), Column("Station", 11), Column("Operator", 9),
    Column("Payment", 8), Column("Paid", 10, "money"), Column("Cur", 5), Column("Gross", 10, "money"),
    Column("VAT", 9, "money"), Column("Excise", 8, "money"), Column("Units", 8, "units"), Column("Token", 23),
    Column("Reprints", 6, "integer"), Column("Reversed", 12),
]


def transactions_table(lookup: TransactionLookup) -> ReportTable:
    rows = [(t.transaction_number, t.receipt_number, t.created_at, f"{t.customer_code} {t.customer}",
             t.meter_number, t.account_number, t.station, t.operator, t.payment_type, t.paid_amount,
             t.paid_currency, t.gross_amount, t.vat_amount, t.excise_amount, t.units, t.token, t.reprints,
             t.reversal_number)
            for t in lookup.found]
    notes = (f"Not found: {', '.join(lookup.missing)}",) if lookup.missing else ()
    return ReportTable("Transaction Number Report", TRANSACTION_COLUMNS, rows, [], notes)


def _load(request: ReportRequest) -> Loaded:
    lookup = look_up(request)
    return Loaded(lookup.found, None, (), result=lookup, extra={"missing": lookup.missing})


def _summary(loaded: Loaded) -> str:
    lookup = loaded.result
    return f"{len(lookup.found)} found" + (f"; not found: {', '.join(lookup.missing)}" if lookup.missing else "")


def _api_item(row: TransactionDetail, values: dict) -> dict:
    return values | {"token_grouped": row.token, "token": row.token.replace(" ", ""),
                     "key_change_tokens": row.key_change_tokens.split()}


REPORT = Report(
    key="transactions", api_name="transaction_report",
    title="Transaction Number Report", slug="transactions", stem="transaction-numbers",
    description="Look up transaction numbers",
    api_summary="Transaction Number Report: the sales behind transaction numbers",
    options=(Option("numbers", str, (), "transaction numbers separated by commas, semicolons or spaces",
                    required=True, min_length=1, max_length=20_000, parse=split_numbers),),
    paging="none", check=lambda ctx, filters, options: wanted_numbers(options["numbers"]),
    load=_load, table=lambda loaded: transactions_table(loaded.result), summary=_summary, api_item=_api_item,
)
