"""The seven reports, each one or two SQL aggregations (never a Python loop over sales).

Summaries read `vend_daily_totals` (see aggregates.py) unless a meter or
customer filter asks for single sales, in which case they group the vends
through the meter/customer indexes. Every function checks `reports.view`
first and applies the scope rule of scope.py: an operator without
`reports.all_stations` sees their station, an API account its own sales.

Money: `gross` is what the customer paid in the tariff currency; it splits as
gross = net + excise + VAT (stron_tui/services/pricing.py). `paid` is the
sum handed over, in the paid currency.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Sequence

from sqlalchemy import (
    Select,
    and_,
    case,
    exists,
    extract,
    func,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from stron_tui.db.models import (
    Account,
    Currency,
    Customer,
    District,
    ManagementToken,
    Meter,
    MeterVendActivity,
    PaymentType,
    ReceiptPrint,
    SalesStation,
    User,
    Vend,
    VendDailyTotal,
)
from stron_tui.db.queries import Page, chunked, keyset_page
from stron_tui.errors import ValidationError
from stron_tui.money import DEFAULT_MINOR_UNIT, in_minor_unit
from stron_tui.services.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.scope import ReportFilters, Scope, resolve, utc_bounds, visible_to
from stron_tui.services.text import clean

PAGE_SIZE = 50
MAX_TRANSACTION_NUMBERS = 500
# District Report columns named by the brief; every other payment type goes to "other".
DISTRICT_REPORT_TYPES = ("cash", "cheque", "e-card")


# ---------------------------------------------------------------------------
# Shared pieces


@dataclass(frozen=True)
class _Source:
    """Where sums come from: the daily totals, or the vends themselves."""

    business_date: Any
    station_id: Any
    district_id: Any
    operator: Any
    utility: Any
    payment_type: Any
    paid_currency: Any
    currency: Any
    count: Any
    paid: Any
    gross: Any
    vat: Any
    excise: Any
    net: Any
    units: Any
    from_vends: bool


def _source(scope: Scope) -> _Source:
    if scope.needs_vend_rows:
        table = Vend
        operator = Vend.operator_id
        count = func.count(Vend.id)
    else:
        table = VendDailyTotal
        operator = VendDailyTotal.operator_key
        count = func.sum(VendDailyTotal.vend_count)
    return _Source(
        business_date=table.business_date, station_id=table.station_id, district_id=table.district_id,
        operator=operator, utility=table.utility, payment_type=table.payment_type,
        paid_currency=table.paid_currency, currency=table.currency, count=count,
        paid=func.sum(table.paid_amount), gross=func.sum(table.gross_amount), vat=func.sum(table.vat_amount),
        excise=func.sum(table.excise_amount), net=func.sum(table.net_amount), units=func.sum(table.units),
        from_vends=scope.needs_vend_rows,
    )


def _conditions(source: _Source, scope: Scope) -> list:
    where = []
    if scope.date_from is not None:
        where.append(source.business_date >= scope.date_from)
    if scope.date_to is not None:
        where.append(source.business_date <= scope.date_to)
    if scope.station_id is not None:
        where.append(source.station_id == scope.station_id)
    if scope.district_id is not None:
        where.append(source.district_id == scope.district_id)
    if scope.operator_id is not None:
        where.append(source.operator == scope.operator_id)
    if scope.payment_type is not None:
        where.append(source.payment_type == scope.payment_type)
    if scope.utility is not None:
        where.append(source.utility == scope.utility)
    if source.from_vends:
        if scope.meter_id is not None:
            where.append(Vend.meter_id == scope.meter_id)
        if scope.customer_id is not None:
            where.append(Vend.customer_id == scope.customer_id)
        if scope.api_account_id is not None:
            where.append(Vend.api_account_id == scope.api_account_id)
    return where


def _vend_conditions(scope: Scope, zone) -> list:
    """Conditions on single vends, with a created_at range the time index can use."""
    where = []
    start, end = utc_bounds(scope.date_from, scope.date_to, zone)
    if start is not None:
        where += [Vend.created_at >= start, Vend.business_date >= scope.date_from]
    if end is not None:
        where += [Vend.created_at < end, Vend.business_date <= scope.date_to]
    for column, value in ((Vend.station_id, scope.station_id), (Vend.district_id, scope.district_id),
                          (Vend.operator_id, scope.operator_id), (Vend.payment_type, scope.payment_type),
                          (Vend.utility, scope.utility), (Vend.meter_id, scope.meter_id),
                          (Vend.customer_id, scope.customer_id), (Vend.api_account_id, scope.api_account_id)):
        if value is not None:
            where.append(column == value)
    return where


class _Money:
    """Rounds sums to each currency's minor unit (sums come back with four places)."""

    def __init__(self, session: Session):
        self.minor = dict(session.execute(select(Currency.code, Currency.minor_unit)).all())

    def __call__(self, value, currency: str) -> Decimal:
        return in_minor_unit(value or 0, self.minor.get(currency, DEFAULT_MINOR_UNIT))


def _units(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.1"))


def _names(session: Session, model, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """id -> (code, name) for a few stations or districts."""
    found: dict[int, tuple[str, str]] = {}
    for chunk in chunked(sorted({i for i in ids if i is not None})):
        for row in session.execute(select(model.id, model.code, model.name).where(model.id.in_(chunk))):
            found[row.id] = (row.code, row.name)
    return found


def _user_codes(session: Session, ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {0: "(API)"}
    for chunk in chunked(sorted({i for i in ids if i})):
        found.update(session.execute(select(User.id, User.user_code).where(User.id.in_(chunk))).all())
    return found


def payment_type_order(session: Session, seen: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(code, name) of the payment types, configured order first, then any others that occur."""
    configured = session.execute(
        select(PaymentType.code, PaymentType.name).order_by(PaymentType.sort_order, PaymentType.code)
    ).all()
    codes = {code for code, _ in configured}
    return list(configured) + [(code, code) for code in sorted(set(seen) - codes)]


def _start(ctx: AppContext, actor: Actor):
    actor.require("reports.view")
    return ctx.db.read_session()


# ---------------------------------------------------------------------------
# 1. Receipt Report


@dataclass(frozen=True)
class ReceiptRow:
    vend_id: int
    created_at: datetime  # local time at the installation's zone
    business_date: date
    receipt_number: str
    transaction_number: str
    district: str
    customer_code: str
    customer: str
    meter_number: str
    account_number: str
    utility: str
    payment_type: str
    paid_currency: str
    paid_amount: Decimal
    currency: str
    gross_amount: Decimal
    vat_amount: Decimal
    excise_amount: Decimal
    net_amount: Decimal
    units: Decimal
    unit: str
    token: str
    operator: str
    station: str


@dataclass(frozen=True)
class SaleTotals:
    """Sums for one pair of currencies (paid in `paid_currency`, priced in `currency`)."""

    paid_currency: str
    currency: str
    vend_count: int
    paid_amount: Decimal
    gross_amount: Decimal
    vat_amount: Decimal
    excise_amount: Decimal
    net_amount: Decimal
    units: Decimal | None  # None when the sales are of different units: kWh and m3 are never added
    units_by_utility: tuple[tuple[str, str, Decimal], ...] = ()  # (utility, unit, units) for each utility sold


UTILITY_UNITS = {"electricity": "kWh", "water": "m3", "gas": "m3"}  # the unit a utility's tariffs sell


@dataclass(frozen=True)
class ReceiptPage:
    rows: list[ReceiptRow]
    next_key: tuple | None
    filters: tuple[str, ...]

    @property
    def has_more(self) -> bool:
        return self.next_key is not None


def receipt_query(scope: Scope, zone) -> Select:
    """Single sales, newest first, with the names a receipt line shows."""
    return (
        select(
            Vend.id, Vend.created_at, Vend.business_date, Vend.receipt_number, Vend.transaction_number,
            District.name.label("district"), Customer.code.label("customer_code"),
            Customer.name.label("customer"), Vend.meter_number, Account.account_number, Vend.utility,
            Vend.payment_type, Vend.paid_currency, Vend.paid_amount, Vend.currency, Vend.gross_amount,
            Vend.vat_amount, Vend.excise_amount, Vend.net_amount, Vend.units, Vend.unit, Vend.token,
            User.user_code.label("operator"), SalesStation.name.label("station"),
        )
        .join(District, District.id == Vend.district_id)
        .join(Customer, Customer.id == Vend.customer_id)
        .join(Account, Account.id == Vend.account_id)
        .join(SalesStation, SalesStation.id == Vend.station_id)
        .outerjoin(User, User.id == Vend.operator_id)
        .where(*_vend_conditions(scope, zone))
    )


def token_text(token: str) -> str:
    """A 20-digit token in groups of four, as printed on the receipt."""
    if len(token) == 20 and token.isdigit():
        return f"{token[:4]} {token[4:8]} {token[8:12]} {token[12:16]} {token[16:]}"
    return token


def receipt_row(row, zone) -> ReceiptRow:
    return ReceiptRow(
        vend_id=row.id, created_at=row.created_at.astimezone(zone), business_date=row.business_date,
        receipt_number=row.receipt_number, transaction_number=row.transaction_number, district=row.district,
        customer_code=row.customer_code, customer=row.customer, meter_number=row.meter_number,
        account_number=row.account_number, utility=row.utility, payment_type=row.payment_type,
        paid_currency=row.paid_currency, paid_amount=row.paid_amount, currency=row.currency,
        gross_amount=row.gross_amount, vat_amount=row.vat_amount, excise_amount=row.excise_amount,
        net_amount=row.net_amount, units=row.units, unit=row.unit, token=token_text(row.token),
        operator=row.operator or "(API)", station=row.station,
    )


def receipts(ctx: AppContext, actor: Actor, filters: ReportFilters, *, after: Sequence | None = None,
             limit: int = PAGE_SIZE) -> ReceiptPage:
    """One page of sales, newest first; pass `next_key` back as `after` for the next page."""
    with _start(ctx, actor) as session:
        scope = resolve(session, actor, filters)
        zone = ctx.settings.zone
        query, to_page = keyset_page(
            receipt_query(scope, zone), [Vend.created_at, Vend.id], after=after, limit=limit, descending=True,
            key_of=lambda row: (row.created_at, row.id),
        )
        page: Page = to_page(session.execute(query).all())
        return ReceiptPage([receipt_row(row, zone) for row in page.rows], page.next_key, scope.descriptions)


def sale_totals(session: Session, scope: Scope, zone) -> list[SaleTotals]:
    source = _source(scope)
    where = _vend_conditions(scope, zone) if source.from_vends else _conditions(source, scope)
    query = (
        select(source.paid_currency, source.currency, source.count, source.paid, source.gross, source.vat,
               source.excise, source.net, source.units, source.utility)
        .where(*where)
        .group_by(source.paid_currency, source.currency, source.utility)
        .order_by(source.currency, source.paid_currency, source.utility)
    )
    # Money adds up per currency pair; units only per utility (a kWh and a m3 are not the same thing).
    pairs: dict[tuple[str, str], list] = {}
    for row in session.execute(query):
        if not row[2]:
            continue
        sums = pairs.setdefault((row[0], row[1]), [0, Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0), []])
        sums[0] += int(row[2])
        for index in range(1, 6):
            sums[index] += Decimal(row[index + 2] or 0)
        sums[6].append((row[9], UTILITY_UNITS.get(row[9], ""), _units(row[8])))
    money = _Money(session)
    totals = []
    for (paid_currency, currency), (count, paid, gross, vat, excise, net, by_utility) in pairs.items():
        one_unit = len({unit for _utility, unit, _units_sold in by_utility}) == 1
        units = sum((units_sold for _utility, _unit, units_sold in by_utility), Decimal("0.0")) if one_unit else None
        totals.append(SaleTotals(paid_currency, currency, count, money(paid, paid_currency), money(gross, currency),
                                 money(vat, currency), money(excise, currency), money(net, currency), units,
                                 tuple(by_utility)))
    return totals


def receipt_totals(ctx: AppContext, actor: Actor, filters: ReportFilters) -> list[SaleTotals]:
    """Count and sums of every sale the filters select (all pages), per currency pair."""
    with _start(ctx, actor) as session:
        return sale_totals(session, resolve(session, actor, filters), ctx.settings.zone)


# ---------------------------------------------------------------------------
# 2. Monthly Summary Report


@dataclass(frozen=True)
class MonthRow:
    year: int
    month: int
    utility: str
    currency: str
    vend_count: int
    gross_amount: Decimal  # total paid, tariff currency
    vat_amount: Decimal
    excise_amount: Decimal
    net_amount: Decimal  # charge value
    units: Decimal

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class MonthlySummary:
    rows: list[MonthRow]
    totals: list[MonthRow]  # per utility and currency, year = month = 0
    filters: tuple[str, ...]


def monthly_query(scope: Scope) -> Select:
    source = _source(scope)
    year = extract("year", source.business_date)
    month = extract("month", source.business_date)
    return (
        select(year.label("year"), month.label("month"), source.utility, source.currency, source.count,
               source.gross, source.vat, source.excise, source.net, source.units)
        .where(*_conditions(source, scope))
        .group_by(year, month, source.utility, source.currency)
        .order_by(year, month, source.utility, source.currency)
    )


def monthly_summary(ctx: AppContext, actor: Actor, filters: ReportFilters) -> MonthlySummary:
    with _start(ctx, actor) as session:
        scope = resolve(session, actor, filters)
        money = _Money(session)
        rows = [
            MonthRow(int(r[0]), int(r[1]), r[2], r[3], int(r[4]), money(r[5], r[3]), money(r[6], r[3]),
                     money(r[7], r[3]), money(r[8], r[3]), _units(r[9]))
            for r in session.execute(monthly_query(scope))
        ]
    totals: dict[tuple[str, str], MonthRow] = {}
    for row in rows:  # a few dozen month rows, already summed in SQL
        key = (row.utility, row.currency)
        before = totals.get(key)
        totals[key] = row if before is None else MonthRow(
            0, 0, row.utility, row.currency, before.vend_count + row.vend_count,
            before.gross_amount + row.gross_amount, before.vat_amount + row.vat_amount,
            before.excise_amount + row.excise_amount, before.net_amount + row.net_amount,
            before.units + row.units)
    total_rows = [MonthRow(0, 0, *[getattr(t, f) for f in ("utility", "currency", "vend_count", "gross_amount",
                                                           "vat_amount", "excise_amount", "net_amount", "units")])
                  for t in totals.values()]
    return MonthlySummary(rows, sorted(total_rows, key=lambda t: (t.utility, t.currency)), scope.descriptions)


# ---------------------------------------------------------------------------
# 3. Customer Payment Report (per station, drill down to customers)


@dataclass(frozen=True)
class PaymentSplitRow:
    """One station (or one customer at a station) in one currency, split by payment type."""

    key_id: int
    code: str
    name: str
    currency: str
    vend_count: int
    gross_amount: Decimal
    by_type: tuple[tuple[str, int, Decimal], ...]  # (payment type, sales, amount) in payment_types order

    def amount_for(self, payment_type: str) -> Decimal:
        return next((amount for code, _, amount in self.by_type if code == payment_type), Decimal(0))

    def count_for(self, payment_type: str) -> int:
        return next((count for code, count, _ in self.by_type if code == payment_type), 0)


@dataclass(frozen=True)
class PaymentSplit:
    rows: list[PaymentSplitRow]
    totals: list[PaymentSplitRow]  # per currency, key_id 0
    payment_types: list[tuple[str, str]]
    filters: tuple[str, ...]
    station: tuple[int, str, str] | None = None  # set on a drill-down


def _split(rows: list[tuple], payment_types: list[tuple[str, str]], names: dict, money: _Money,
           key_name: str) -> tuple[list[PaymentSplitRow], list[PaymentSplitRow]]:
    """Pivot (key, currency, payment type, count, amount) groups into one row per key and currency."""
    grouped: dict[tuple[int, str], dict[str, tuple[int, Decimal]]] = {}
    totals: dict[str, dict[str, tuple[int, Decimal]]] = {}
    for key_id, currency, payment_type, count, amount in rows:
        amount = money(amount, currency)
        grouped.setdefault((key_id, currency), {})[payment_type] = (int(count), amount)
        before = totals.setdefault(currency, {}).get(payment_type, (0, Decimal(0)))
        totals[currency][payment_type] = (before[0] + int(count), before[1] + amount)

    def build(key_id, code, name, currency, split):
        by_type = tuple((code_, *split.get(code_, (0, Decimal(0)))) for code_, _ in payment_types)
        return PaymentSplitRow(key_id, code, name, currency, sum(c for c, _ in split.values()),
                               sum((a for _, a in split.values()), Decimal(0)), by_type)

    result = [build(key_id, *names.get(key_id, ("?", "?")), currency, split)
              for (key_id, currency), split in grouped.items()]
    result.sort(key=lambda r: (r.code, r.currency) if key_name == "station" else (r.name, r.code, r.currency))
    total_rows = [build(0, "Total", currency, currency, split) for currency, split in sorted(totals.items())]
    return result, total_rows


def station_payments(ctx: AppContext, actor: Actor, filters: ReportFilters) -> PaymentSplit:
    """Per sales station: total charges, number of sales and the split by payment type."""
    with _start(ctx, actor) as session:
        scope = resolve(session, actor, filters)
        source = _source(scope)
        query = (
            select(source.station_id, source.currency, source.payment_type, source.count, source.gross)
            .where(*_conditions(source, scope))
            .group_by(source.station_id, source.currency, source.payment_type)
        )
        grouped = session.execute(query).all()
        payment_types = payment_type_order(session, (row[2] for row in grouped))
        names = _names(session, SalesStation, (row[0] for row in grouped))
        rows, totals = _split(grouped, payment_types, names, _Money(session), "station")
        return PaymentSplit(rows, totals, payment_types, scope.descriptions)


def customer_payments(ctx: AppContext, actor: Actor, filters: ReportFilters, station_id: int) -> PaymentSplit:
    """Drill-down: each customer's payments at one station, split by payment type."""
    with _start(ctx, actor) as session:
        scope = resolve(session, actor, filters)
        if scope.station_limited and station_id != scope.station_id:
            station_id = scope.station_id  # the station limit wins over any drill-down
        station = session.execute(
            select(SalesStation.id, SalesStation.code, SalesStation.name).where(SalesStation.id == station_id)
        ).first()
        if station is None:
            raise ValidationError("That sales station no longer exists.", field="station")
        scope = replace(scope, station_id=station_id)
        query = (
            select(Vend.customer_id, Vend.currency, Vend.payment_type, func.count(Vend.id), func.sum(Vend.gross_amount))
            .where(*_vend_conditions(scope, ctx.settings.zone))
            .group_by(Vend.customer_id, Vend.currency, Vend.payment_type)
        )
        grouped = session.execute(query).all()
        payment_types = payment_type_order(session, (row[2] for row in grouped))
        names = _names(session, Customer, (row[0] for row in grouped))
        rows, totals = _split(grouped, payment_types, names, _Money(session), "customer")
        return PaymentSplit(rows, totals, payment_types, scope.descriptions + (f"Station: {station.code} {station.name}",),
                            station=(station.id, station.code, station.name))


# ---------------------------------------------------------------------------
# 4. Transaction Number Report


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


def transactions(ctx: AppContext, actor: Actor, numbers: Sequence[str]) -> TransactionLookup:
    """Look up transaction numbers with the customer, meter and purchase behind each."""
    actor.require("reports.view")
    wanted = list(dict.fromkeys(clean(n) for n in numbers if clean(n)))
    if not wanted:
        raise ValidationError("Type one or more transaction numbers.", field="numbers")
    if len(wanted) > MAX_TRANSACTION_NUMBERS:
        raise ValidationError(f"Look up at most {MAX_TRANSACTION_NUMBERS} transaction numbers at a time.",
                              field="numbers")
    zone = ctx.settings.zone
    with ctx.db.read_session() as session:
        reprints = (
            select(func.count(ReceiptPrint.id)).where(ReceiptPrint.receipt_number == Vend.receipt_number)
            .scalar_subquery()
        )
        found: dict[str, TransactionDetail] = {}
        for chunk in chunked(wanted):
            query = (
                select(Vend, Customer.code, Customer.name, Customer.phone, Customer.address, Account.account_number,
                       District.name, SalesStation.name, User.user_code, reprints.label("reprints"))
                .join(Customer, Customer.id == Vend.customer_id)
                .join(Account, Account.id == Vend.account_id)
                .join(District, District.id == Vend.district_id)
                .join(SalesStation, SalesStation.id == Vend.station_id)
                .outerjoin(User, User.id == Vend.operator_id)
                .where(Vend.transaction_number.in_(chunk), visible_to(actor, Vend))
            )
            for vend, c_code, c_name, c_phone, c_address, account_number, district, station, operator, count in (
                session.execute(query)
            ):
                found[vend.transaction_number] = TransactionDetail(
                    vend.transaction_number, vend.receipt_number, vend.created_at.astimezone(zone),
                    vend.business_date, c_code, c_name, c_phone, c_address, vend.meter_number, account_number,
                    district, station, operator or "(API)", vend.source, vend.tariff_name, vend.utility, vend.unit,
                    vend.mode, vend.payment_type, vend.paid_currency, vend.paid_amount, vend.exchange_rate,
                    vend.currency, vend.gross_amount, vend.vat_amount, vend.excise_amount, vend.net_amount,
                    vend.units, token_text(vend.token), vend.key_change_tokens, int(count or 0),
                )
        missing = [n for n in wanted if n not in found]
        if missing:
            found.update(_management_transactions(session, actor, missing, zone))
    return TransactionLookup([found[n] for n in wanted if n in found], [n for n in wanted if n not in found])


def _management_transactions(session: Session, actor: Actor, numbers: Sequence[str], zone) -> dict:
    """Management tokens (M... numbers) in the same shape; they carry no money, tariff or units."""
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
            .where(ManagementToken.transaction_number.in_(chunk), visible_to(actor, ManagementToken))
        )
        for row, c_code, c_name, c_phone, c_address, account_number, district, station, operator, count in (
            session.execute(query)
        ):
            kind = row.kind.replace("_", " ").capitalize()
            found[by_upper[row.transaction_number]] = TransactionDetail(
                row.transaction_number, row.receipt_number, row.created_at.astimezone(zone), row.business_date,
                c_code or "", c_name or "", c_phone or "", c_address or "", row.meter_number, account_number or "",
                district or "", station or "", operator or "(API)", row.source, "", "", "", row.kind, kind, "",
                None, None, "", None, None, None, None, None, token_text(row.token), row.key_change_tokens,
                int(count or 0),
            )
    return found


# ---------------------------------------------------------------------------
# 5. District Report


@dataclass(frozen=True)
class DistrictRow:
    district_id: int
    district_code: str
    district: str
    station_id: int
    station_code: str
    station: str
    currency: str
    vend_count: int
    cash: Decimal
    cheque: Decimal
    e_card: Decimal
    other: Decimal
    total: Decimal


@dataclass(frozen=True)
class DistrictReport:
    rows: list[DistrictRow]
    totals: list[DistrictRow]  # per currency
    filters: tuple[str, ...]


def district_query(scope: Scope) -> Select:
    source = _source(scope)
    table = Vend if source.from_vends else VendDailyTotal
    amount = table.gross_amount

    def of_type(*codes, negate=False):
        condition = source.payment_type.in_(codes)
        return func.sum(case((~condition if negate else condition, amount), else_=0))

    return (
        select(source.district_id, source.station_id, source.currency, source.count,
               of_type("cash"), of_type("cheque"), of_type("e-card"),
               of_type(*DISTRICT_REPORT_TYPES, negate=True), source.gross)
        .where(*_conditions(source, scope))
        .group_by(source.district_id, source.station_id, source.currency)
    )


def district_report(ctx: AppContext, actor: Actor, filters: ReportFilters) -> DistrictReport:
    """Per district and sales station: sales, cash, cheque, e-card, other payment types, total revenue."""
    with _start(ctx, actor) as session:
        scope = resolve(session, actor, filters)
        grouped = session.execute(district_query(scope)).all()
        districts = _names(session, District, (r[0] for r in grouped))
        stations = _names(session, SalesStation, (r[1] for r in grouped))
        money = _Money(session)
        rows = []
        for district_id, station_id, currency, count, cash, cheque, e_card, other, total in grouped:
            d_code, d_name = districts.get(district_id, ("?", "?"))
            s_code, s_name = stations.get(station_id, ("?", "?"))
            rows.append(DistrictRow(district_id, d_code, d_name, station_id, s_code, s_name, currency, int(count),
                                    money(cash, currency), money(cheque, currency), money(e_card, currency),
                                    money(other, currency), money(total, currency)))
    rows.sort(key=lambda r: (r.district_code, r.station_code, r.currency))
    totals: dict[str, list] = {}
    for row in rows:
        t = totals.setdefault(row.currency, [0, Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0)])
        for index, value in enumerate((row.vend_count, row.cash, row.cheque, row.e_card, row.other, row.total)):
            t[index] += value
    total_rows = [DistrictRow(0, "Total", "", 0, "", "", currency, *values)
                  for currency, values in sorted(totals.items())]
    return DistrictReport(rows, total_rows, scope.descriptions)


# ---------------------------------------------------------------------------
# 6. Non-Vending Meter Report


@dataclass(frozen=True)
class SilentMeterRow:
    meter_id: int
    meter_number: str
    utility: str
    status: str
    customer_code: str
    customer: str
    account_number: str
    district: str
    station: str
    last_vend_date: date | None  # the last sale ever, None when never sold to


@dataclass(frozen=True)
class SilentMeterPage:
    rows: list[SilentMeterRow]
    next_key: tuple | None
    filters: tuple[str, ...]

    @property
    def has_more(self) -> bool:
        return self.next_key is not None


def _silent_period(ctx: AppContext, filters: ReportFilters) -> tuple[date, date, date]:
    if filters.date_from is None:
        raise ValidationError("Choose the start of the period with no sales, e.g. 90 days ago.", field="date_from")
    today = utcnow().astimezone(ctx.settings.zone).date()
    return filters.date_from, filters.date_to or today, today


def _silent_activity(day_from: date, day_to: date, today: date | None, *, materialized: bool = True):
    """Last-sale rows (meter_id, last_business_date) of the meters with no sale from day_from to day_to.

    Three disjoint index ranges over ix_meter_vend_activity_last_sale (every
    meter has its row): never sold (NULL), last sale before the period, and,
    only for a period that ends before today, last sale after it with no sale
    inside it (each such meter looks at its sales through ix_vends_meter_created:
    cheap for a recent period, slow for one long ago). A UNION ALL of ranges, not an OR, so each part is an index-only
    scan. For a page it is materialized (PostgreSQL, SQLite 3.35+), so the
    planner never trades it for a walk through all meters by number, whose
    cost depends on where in the number order the silent meters happen to be.
    """
    activity = MeterVendActivity
    parts = [select(activity.meter_id, activity.last_business_date).where(condition)
             for condition in _silent_ranges(day_from, day_to, today)]
    if not materialized:
        return union_all(*parts).subquery("silent")
    silent = union_all(*parts).cte("silent").prefix_with("MATERIALIZED", dialect="postgresql")
    if sqlite3.sqlite_version_info >= (3, 35):
        silent = silent.prefix_with("MATERIALIZED", dialect="sqlite")
    return silent


def silent_meter_query(scope: Scope, day_from: date, day_to: date, *, today: date | None = None) -> Select:
    """The silent meters (not retired) in the scope: id, meter number, last sale day; order and page it by number.

    Joins only what a filter needs; silent_meter_details adds the names for the rows kept.
    """
    silent = _silent_activity(day_from, day_to, today)
    query = (select(Meter.id, Meter.meter_number, silent.c.last_business_date)
             .select_from(silent).join(Meter, Meter.id == silent.c.meter_id)
             .where(Meter.status != "retired"))
    return _silent_scope(query, scope)


def silent_meter_count_query(scope: Scope, day_from: date, day_to: date, *, today: date | None = None) -> Select:
    """How many meters silent_meter_query finds, as one value.

    Without a filter on the meter or its account, the count needs no meter
    rows at all: the silent last-sale rows (an index-only count) less the
    silent retired meters (few, found by ix_meters_retired). With a filter the
    silent rows are joined to their meters and filtered.
    """
    silent = _silent_activity(day_from, day_to, today, materialized=False)
    if all(value is None for value in (scope.station_id, scope.customer_id, scope.district_id, scope.utility,
                                       scope.meter_id, scope.api_account_id)):
        retired_silent = (select(func.count()).select_from(Meter)  # from ix_meters_retired
                          .join(MeterVendActivity, MeterVendActivity.meter_id == Meter.id)
                          .where(Meter.status == "retired", or_(*_silent_ranges(day_from, day_to, today))))
        return select(select(func.count()).select_from(silent).scalar_subquery() - retired_silent.scalar_subquery())
    query = (select(func.count()).select_from(silent).join(Meter, Meter.id == silent.c.meter_id)
             .where(Meter.status != "retired"))
    return _silent_scope(query, scope)


def _silent_scope(query: Select, scope: Scope) -> Select:
    if scope.station_id is not None or scope.customer_id is not None or scope.district_id is not None:
        query = query.join(Account, and_(Account.meter_id == Meter.id, Account.status == "open"))
    if scope.district_id is not None:
        query = (query.join(Customer, Customer.id == Account.customer_id)
                 .join(SalesStation, SalesStation.id == Account.station_id)
                 .where(func.coalesce(Customer.district_id, SalesStation.district_id) == scope.district_id))
    if scope.station_id is not None:
        query = query.where(Account.station_id == scope.station_id)
    if scope.customer_id is not None:
        query = query.where(Account.customer_id == scope.customer_id)
    if scope.utility is not None:
        query = query.where(Meter.utility == scope.utility)
    if scope.meter_id is not None:
        query = query.where(Meter.id == scope.meter_id)
    if scope.api_account_id is not None:  # an API account's silent meters: those it has sold to before
        query = query.where(exists().where(Vend.meter_id == Meter.id, Vend.api_account_id == scope.api_account_id))
    return query


def silent_meter_details(keys: Select) -> Select:
    """The report's columns for the meters `keys` (a silent_meter_query, paged or not), by meter number.

    The open account, customer, station and district are looked up for these
    meters only, so a first page joins fifty rows, not every silent meter.
    """
    page = keys.subquery("page")
    district_id = func.coalesce(Customer.district_id, SalesStation.district_id)
    return (
        select(Meter.id, Meter.meter_number, Meter.utility, Meter.status, Customer.code.label("customer_code"),
               Customer.name.label("customer"), Account.account_number, District.name.label("district"),
               SalesStation.name.label("station"), page.c.last_business_date)
        .select_from(page)
        .join(Meter, Meter.id == page.c.id)
        .outerjoin(Account, and_(Account.meter_id == Meter.id, Account.status == "open"))
        .outerjoin(Customer, Customer.id == Account.customer_id)
        .outerjoin(SalesStation, SalesStation.id == Account.station_id)
        .outerjoin(District, District.id == district_id)
        .order_by(page.c.meter_number)
    )


def _silent_ranges(day_from: date, day_to: date, today: date | None) -> list:
    """The disjoint conditions on a last-sale row that make its meter silent from day_from to day_to."""
    activity = MeterVendActivity
    ranges = [activity.last_business_date.is_(None), activity.last_business_date < day_from]
    if today is None or day_to < today:
        sold_in_period = exists().where(
            Vend.meter_id == activity.meter_id, Vend.business_date >= day_from, Vend.business_date <= day_to
        )
        ranges.append(and_(activity.last_business_date > day_to, ~sold_in_period))
    return ranges


def silent_meter_window_query(scope: Scope, day_from: date, day_to: date, *, today: date | None,
                              after: Sequence | None, window: int) -> Select:
    """silent_meter_query limited to the next `window` meters by number after `after`.

    When silent meters are common this finds a page after a few hundred
    meters, where the range over all silent rows would sort them all.
    """
    following = select(Meter.id)
    if after is not None:
        following = following.where(Meter.meter_number > after[0])
    following = following.order_by(Meter.meter_number).limit(window).subquery("following")
    activity = MeterVendActivity
    query = (select(Meter.id, Meter.meter_number, activity.last_business_date)
             .select_from(following).join(Meter, Meter.id == following.c.id)
             .join(activity, activity.meter_id == Meter.id)
             .where(Meter.status != "retired", or_(*_silent_ranges(day_from, day_to, today))))
    return _silent_scope(query, scope)


SILENT_WINDOW = 2000  # meters looked at by number before the page falls back to the silent range


def silent_meters(ctx: AppContext, actor: Actor, filters: ReportFilters, *, after: Sequence | None = None,
                  limit: int = PAGE_SIZE) -> SilentMeterPage:
    """A page of meters with no sale in the period, by meter number.

    First the next SILENT_WINDOW meters by number are checked one by one (cheap,
    and enough whenever silent meters are not rare); if they hold less than a
    page and more meters follow, the page comes from the range over all silent
    rows (cheap when silent meters are rare). Either way the page is exact.
    """
    day_from, day_to, today = _silent_period(ctx, filters)
    with _start(ctx, actor) as session:
        _plain_plan(session)
        scope = resolve(session, actor, filters)
        key_of = lambda row: (row.meter_number,)  # noqa: E731
        window = silent_meter_window_query(scope, day_from, day_to, today=today, after=after,
                                           window=SILENT_WINDOW)
        keys, to_page = keyset_page(window, [Meter.meter_number], after=None, limit=limit, key_of=key_of)
        rows = session.execute(silent_meter_details(keys)).all()
        if len(rows) <= limit and _more_meters_after_window(session, after):
            keys, to_page = keyset_page(silent_meter_query(scope, day_from, day_to, today=today),
                                        [Meter.meter_number], after=after, limit=limit, key_of=key_of)
            rows = session.execute(silent_meter_details(keys)).all()
        page = to_page(rows)
        return SilentMeterPage([silent_meter_row(row) for row in page.rows], page.next_key,
                               scope.descriptions)


def _more_meters_after_window(session: Session, after: Sequence | None) -> bool:
    """Whether meters follow the SILENT_WINDOW checked (then the window may not hold the whole page)."""
    query = select(Meter.id)
    if after is not None:
        query = query.where(Meter.meter_number > after[0])
    query = query.order_by(Meter.meter_number).offset(SILENT_WINDOW).limit(1)
    return session.scalar(query) is not None


def _plain_plan(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Joining a hundred thousand silent rows costs enough to trigger JIT compilation,
        # which gains nothing on a query that runs once.
        session.execute(text("SET LOCAL jit = off"))


def silent_meter_row(row) -> SilentMeterRow:
    return SilentMeterRow(row.id, row.meter_number, row.utility, row.status, row.customer_code or "",
                          row.customer or "", row.account_number or "", row.district or "", row.station or "",
                          row.last_business_date)


def silent_meter_count(ctx: AppContext, actor: Actor, filters: ReportFilters) -> int:
    day_from, day_to, today = _silent_period(ctx, filters)
    with _start(ctx, actor) as session:
        _plain_plan(session)
        scope = resolve(session, actor, filters)
        return int(session.scalar(silent_meter_count_query(scope, day_from, day_to, today=today)) or 0)


# ---------------------------------------------------------------------------
# 7. Cash-up (shift) Report


@dataclass(frozen=True)
class CashupLine:
    operator: str
    business_date: date | None  # None when summed over the whole period
    item: str  # "Sales: Cash", "Reprints", "Token: clear_tamper", ...
    currency: str
    count: int
    amount: Decimal | None  # money handed over, in `currency`; None for reprints and tokens
    station: str = ""  # the station the sales are booked to (an operator without one books to the account's)


@dataclass(frozen=True)
class Cashup:
    lines: list[CashupLine]
    totals: list[CashupLine]  # per item and currency over all operators and days
    filters: tuple[str, ...]


def cashup(ctx: AppContext, actor: Actor, filters: ReportFilters, *, by_day: bool = True) -> Cashup:
    """Per operator, station (and day): sales and money by payment type and currency, reprints, tokens."""
    with _start(ctx, actor) as session:
        scope = resolve(session, actor, filters)
        if scope.meter_id is not None or scope.customer_id is not None:
            raise ValidationError("The cash-up report is per operator; clear the meter and customer filters.",
                                  field="meter_number" if scope.meter_id else "customer")
        source = _source(scope)
        day = [source.business_date] if by_day else []
        sales = session.execute(
            select(source.operator, source.station_id, *day, source.payment_type, source.paid_currency,
                   source.count, source.paid)
            .where(*_conditions(source, scope))
            .group_by(source.operator, source.station_id, *day, source.payment_type, source.paid_currency)
        ).all()

        def events(model, *extra):
            day_column = [model.business_date] if by_day else []
            where = []
            if scope.date_from is not None:
                where.append(model.business_date >= scope.date_from)
            if scope.date_to is not None:
                where.append(model.business_date <= scope.date_to)
            if scope.station_id is not None:
                where.append(model.station_id == scope.station_id)
            if scope.operator_id is not None:
                where.append(model.operator_id == scope.operator_id)
            if scope.api_account_id is not None:
                where.append(model.api_account_id == scope.api_account_id)
            if scope.district_id is not None and model is ManagementToken:
                where.append(model.district_id == scope.district_id)
            operator = func.coalesce(model.operator_id, 0)
            return session.execute(
                select(operator, model.station_id, *day_column, *extra, func.count(model.id)).where(*where)
                .group_by(operator, model.station_id, *day_column, *extra)
            ).all()

        # Reprints and tokens carry no payment type or utility: they are left out under such a filter.
        by_payment = scope.payment_type is not None or scope.utility is not None
        reprints = [] if by_payment else events(ReceiptPrint)
        tokens = [] if by_payment else events(ManagementToken, ManagementToken.kind)
        operators = _user_codes(session, [r[0] for r in sales] + [r[0] for r in reprints] + [r[0] for r in tokens])
        stations = _names(session, SalesStation, [r[1] for r in sales] + [r[1] for r in reprints]
                          + [r[1] for r in tokens])
        type_names = dict(payment_type_order(session, (r[-4] for r in sales)))
        money = _Money(session)
        from stron_tui.services.shifts import cashup_lines  # reversals and shifts (cash control)

        cash_control = cashup_lines(ctx, session, scope, by_day=by_day)

    def station_code(station_id) -> str:
        return stations.get(station_id, ("", ""))[0]

    lines: list[tuple] = []
    for row in sales:
        operator, station_id, rest = row[0], row[1], row[2:]
        day_value, (payment_type, currency, count, paid) = (rest[0], rest[1:]) if by_day else (None, rest)
        lines.append((operators.get(operator or 0, "?"), day_value, station_code(station_id), 0,
                      f"Sales: {type_names.get(payment_type, payment_type)}", currency, int(count),
                      money(paid, currency)))
    for row in reprints:
        operator, station_id, rest = row[0], row[1], row[2:]
        day_value, count = (rest[0], rest[1]) if by_day else (None, rest[0])
        lines.append((operators.get(operator or 0, "?"), day_value, station_code(station_id), 1, "Reprints", "",
                      int(count), None))
    for row in tokens:
        operator, station_id, rest = row[0], row[1], row[2:]
        day_value, kind, count = (rest[0], rest[1], rest[2]) if by_day else (None, rest[0], rest[1])
        lines.append((operators.get(operator or 0, "?"), day_value, station_code(station_id), 2, f"Token: {kind}",
                      "", int(count), None))
    lines += cash_control
    lines.sort(key=lambda l: (l[0], l[1] or date.min, l[2], l[3], l[4], l[5]))
    result = [CashupLine(op, day_value, item, currency, count, amount, station)
              for op, day_value, station, _, item, currency, count, amount in lines]

    totals: dict[tuple[int, str, str], list] = {}
    for op, day_value, station, order, item, currency, count, amount in lines:
        t = totals.setdefault((order, item, currency), [0, None if amount is None else Decimal(0)])
        t[0] += count
        if amount is not None:
            t[1] += amount
    total_lines = [CashupLine("Total", None, item, currency, count, amount)
                   for (order, item, currency), (count, amount) in sorted(totals.items())]
    return Cashup(result, total_lines, scope.descriptions)
