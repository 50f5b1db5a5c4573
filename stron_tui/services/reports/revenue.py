"""Revenue reports: the month's fixed charges, debt recovered and free units; the debt report; units per block.

Each is one SQL aggregation under the reports' scope rule (scope.resolve:
an operator without reports.all_stations sees their station, an API account
its own sales). Money in the tariff currency, rounded to its minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, extract, func, literal_column, select, union_all

from stron_tui.db.models import Account, DebtEntry, District, Reversal, SalesStation, Tariff, Vend, VendBlock
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.common import (
    Money,
    ReportRequest,
    open_request,
    period_conditions,
    round_units,
    sale_conditions,
    vend_conditions,
)
from stron_tui.services.reports.scope import ReportFilters


@dataclass(frozen=True)
class RevenueMonthRow:
    year: int
    month: int
    currency: str
    sales: int
    gross: Decimal
    fixed_charges: Decimal
    debt_recovered: Decimal
    energy: Decimal
    free_units: Decimal
    subsidy: Decimal
    vat: Decimal = Decimal(0)  # on energy and fixed charges
    excise: Decimal = Decimal(0)
    reversals: int = 0  # recorded in the month; every sum above is net of them

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def revenue_by_month(ctx: AppContext, actor: Actor, filters: ReportFilters) -> list[RevenueMonthRow]:
    """The monthly summary's revenue columns: fixed charges, debt recovered, energy, free units and subsidy."""
    with open_request(ctx, actor, filters) as request:
        return revenue_rows(request)


def revenue_rows(request: ReportRequest) -> list[RevenueMonthRow]:
    """Per month and currency, what was paid split into its parts: gross = debt + fixed charges + energy."""
    session, scope = request.session, request.scope
    money = Money(session)
    energy = func.coalesce(Vend.energy_amount, Vend.gross_amount)
    split = [Vend.gross_amount, Vend.fixed_charge, Vend.debt_recovered, energy, Vend.free_units,
             Vend.subsidy_amount, Vend.vat_amount, Vend.excise_amount]
    names = ["gross", "fixed", "debt", "energy", "free", "subsidy", "vat", "excise"]
    # A reversal takes its sale's whole split off the month it was recorded in, and is counted there.
    sold = select(Vend.business_date.label("day"), Vend.currency, literal_column("1").label("sales"),
                  literal_column("0").label("reversals"), *[c.label(n) for c, n in zip(split, names)]
                  ).where(*vend_conditions(scope, request.ctx.settings.zone))
    reversed_ = (select(Reversal.business_date.label("day"), Vend.currency, literal_column("0").label("sales"),
                        literal_column("1").label("reversals"), *[(-c).label(n) for c, n in zip(split, names)])
                 .join(Vend, Vend.id == Reversal.vend_id)
                 .where(*sale_conditions(scope), *period_conditions(scope, Reversal.business_date)))
    ledger = union_all(sold, reversed_).subquery()
    year, month = extract("year", ledger.c.day), extract("month", ledger.c.day)
    rows = session.execute(
        select(year, month, ledger.c.currency, func.sum(ledger.c.sales), func.sum(ledger.c.reversals),
               *[func.sum(ledger.c[n]) for n in names])
        .group_by(year, month, ledger.c.currency).order_by(year, month, ledger.c.currency))
    return [RevenueMonthRow(int(r[0]), int(r[1]), r[2], int(r[3]), money(r[5], r[2]), money(r[6], r[2]),
                            money(r[7], r[2]), money(r[8], r[2]), round_units(r[9]), money(r[10], r[2]),
                            money(r[11], r[2]), money(r[12], r[2]), int(r[4] or 0))
            for r in rows]



@dataclass(frozen=True)
class BlockRow:
    tariff: str
    block: int
    price_all_in: Decimal
    units: Decimal
    amount: Decimal
    currency: str = ""
    sales: int = 0


def units_per_block(ctx: AppContext, actor: Actor, filters: ReportFilters) -> list[BlockRow]:
    """Units sold and money taken per tariff block and price."""
    with open_request(ctx, actor, filters) as request:
        return block_rows(request)


def block_rows(request: ReportRequest) -> list[BlockRow]:
    session, scope = request.session, request.scope
    money = Money(session)
    rows = session.execute(
        select(Tariff.name, VendBlock.position, VendBlock.price_all_in, func.sum(VendBlock.units),
               func.sum(VendBlock.amount), Tariff.currency_code, func.count(VendBlock.vend_id))
        .join(Vend, Vend.id == VendBlock.vend_id).join(Tariff, Tariff.id == VendBlock.tariff_id)
        .where(*vend_conditions(scope, request.ctx.settings.zone))
        .group_by(Tariff.name, VendBlock.position, VendBlock.price_all_in, Tariff.currency_code)
        .order_by(Tariff.name, VendBlock.position, VendBlock.price_all_in))
    return [BlockRow(r[0], int(r[1]), r[2].normalize(), round_units(r[3]), money(r[4], r[5]), r[5], int(r[6]))
            for r in rows]


@dataclass(frozen=True)
class DebtRow:
    account_number: str
    station_code: str
    district_name: str
    currency: str
    opening: Decimal
    added: Decimal  # added, adjusted up, imported
    recovered: Decimal  # by sales
    paid: Decimal  # debt-only payments
    written_off: Decimal  # written off, adjusted down
    closing: Decimal


def debt_report(ctx: AppContext, actor: Actor, filters: ReportFilters) -> list[DebtRow]:
    """Per account (with its station and district): opening, added, recovered, paid, written off, closing.

    Opening is the sum of every movement before the period; closing adds the period's movements.
    """
    with open_request(ctx, actor, filters) as request:
        return debt_rows(request)


def debt_rows(request: ReportRequest) -> list[DebtRow]:
    """The debt report's rows. An imported balance counts as added or written off by its sign; an API
    account sees the movements it made itself (its sales' recoveries and its debt payments)."""
    session, scope = request.session, request.scope
    entry = DebtEntry
    before = entry.business_date < scope.date_from if scope.date_from is not None else None
    in_period = [] if scope.date_from is None else [entry.business_date >= scope.date_from]
    if scope.date_to is not None:
        in_period.append(entry.business_date <= scope.date_to)
    zero = Decimal(0)

    def period_sum(condition):
        from sqlalchemy import and_

        return func.sum(case((and_(condition, *in_period), entry.amount), else_=zero))

    opening = func.sum(case((before, entry.amount), else_=zero)) if before is not None else func.sum(
        case((entry.id < 0, entry.amount), else_=zero))
    grown = (entry.kind == "added") | (entry.kind.in_(("adjusted", "imported")) & (entry.amount > 0))
    shrunk = (entry.kind == "written_off") | (entry.kind.in_(("adjusted", "imported")) & (entry.amount < 0))
    query = (
        select(Account.account_number, SalesStation.code, District.name, Tariff.currency_code, opening,
               period_sum(grown), period_sum(entry.kind == "recovered"), period_sum(entry.kind == "paid"),
               period_sum(shrunk))
        .join(Account, Account.id == entry.account_id)
        .join(Tariff, Tariff.id == Account.tariff_id)
        .join(SalesStation, SalesStation.id == Account.station_id)
        .join(District, District.id == SalesStation.district_id)
        .group_by(Account.account_number, SalesStation.code, District.name, Tariff.currency_code)
        .order_by(District.name, SalesStation.code, Account.account_number)
    )
    if scope.api_account_id is not None:
        query = query.where(entry.api_account_id == scope.api_account_id)
    if scope.date_to is not None:
        query = query.where(entry.business_date <= scope.date_to)
    if scope.station_id is not None:
        query = query.where(Account.station_id == scope.station_id)
    if scope.district_id is not None:
        query = query.where(SalesStation.district_id == scope.district_id)
    money = Money(session)
    out = []
    for number, station, district, currency, *sums in session.execute(query):
        first, added, recovered, paid, written = (money(value, currency) for value in sums)
        out.append(DebtRow(number, station, district, currency, first, added, -recovered, -paid, -written,
                           first + added + recovered + paid + written))
    return out
