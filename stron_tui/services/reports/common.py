"""What every report shares: where sums come from, their conditions, money rounding, names, the request.

Summaries read `vend_daily_totals` (see aggregates.py) unless a meter,
customer or API account filter asks for single sales, in which case they group
the sales ledger (sales and reversals as single records) through the
meter/customer/account indexes. Either way a reversal counts: its sale's
amounts come off its business day's sums and `reversals` counts it.

`open_request` is the one door of every report: it checks `reports.view`,
opens the read session and resolves the filters with the scope rule of
scope.py (an operator without `reports.all_stations` sees their station, an
API account its own sales). A report module receives the resolved Scope and
never resolves filters itself; look-ups by number use `request.visible`.

Money: `gross` is what the customer paid in the tariff currency; it splits as
gross = net + excise + VAT (stron_tui/services/pricing.py). `paid` is the
sum handed over, in the paid currency.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from stron_tui.db.models import Currency, PaymentType, User, Vend, VendDailyTotal
from stron_tui.db.queries import chunked
from stron_tui.domain.operators import API_SALE
from stron_tui.money import DEFAULT_MINOR_UNIT, in_minor_unit
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.aggregates import sales_ledger
from stron_tui.services.reports.scope import ReportFilters, Scope, resolve, utc_bounds, visible_to

PAGE_SIZE = 50


@dataclass(frozen=True)
class Source:
    """Where sums come from: the daily totals, or the sales ledger (vends and reversals) filtered already."""

    business_date: Any
    station_id: Any
    district_id: Any
    operator: Any
    utility: Any
    payment_type: Any
    paid_currency: Any
    currency: Any
    count: Any  # sales made
    reversals: Any  # reversals recorded (their sales' amounts are already taken off the sums)
    paid: Any
    gross: Any
    vat: Any
    excise: Any
    net: Any
    units: Any
    from_vends: bool
    columns: Any  # the unsummed columns: `columns.gross_amount`

    def sum_where(self, condition, column: str):
        """The sum of one amount column over the rows where `condition` holds."""
        return func.sum(case((condition, getattr(self.columns, column)), else_=0))


def sale_conditions(scope: Scope) -> list:
    """The scope's conditions on a sale's own columns, all but the dates (a reversal is filtered by its sale)."""
    return [column == value for column, value in (
        (Vend.station_id, scope.station_id), (Vend.district_id, scope.district_id),
        (Vend.operator_id, scope.operator_id), (Vend.payment_type, scope.payment_type),
        (Vend.utility, scope.utility), (Vend.meter_id, scope.meter_id), (Vend.customer_id, scope.customer_id),
        (Vend.api_account_id, scope.api_account_id)) if value is not None]


def period_conditions(scope: Scope, day_column) -> list:
    return ([day_column >= scope.date_from] if scope.date_from is not None else []) + (
        [day_column <= scope.date_to] if scope.date_to is not None else [])


def ledger_of(scope: Scope):
    """The sales ledger with the scope's conditions inside both of its parts (sales, reversals)."""
    return sales_ledger(sale_conditions(scope), business_date_where=lambda column: period_conditions(scope, column))


def source_of(scope: Scope) -> Source:
    table = ledger_of(scope).c if scope.needs_vend_rows else VendDailyTotal.__table__.c
    return Source(
        business_date=table.business_date, station_id=table.station_id, district_id=table.district_id,
        operator=table.operator_key, utility=table.utility, payment_type=table.payment_type,
        paid_currency=table.paid_currency, currency=table.currency, count=func.sum(table.vend_count),
        reversals=func.sum(table.reversal_count),
        paid=func.sum(table.paid_amount), gross=func.sum(table.gross_amount), vat=func.sum(table.vat_amount),
        excise=func.sum(table.excise_amount), net=func.sum(table.net_amount), units=func.sum(table.units),
        from_vends=scope.needs_vend_rows, columns=table,
    )


def conditions(source: Source, scope: Scope) -> list:
    if source.from_vends:
        return []  # inside the ledger already
    return scope.conditions(business_date=source.business_date, station=source.station_id,
                            district=source.district_id, operator=source.operator,
                            payment_type=source.payment_type, utility=source.utility)


def vend_conditions(scope: Scope, zone) -> list:
    """Conditions on single vends, with a created_at range the time index can use."""
    where = []
    start, end = utc_bounds(scope.date_from, scope.date_to, zone)
    if start is not None:
        where += [Vend.created_at >= start, Vend.business_date >= scope.date_from]
    if end is not None:
        where += [Vend.created_at < end, Vend.business_date <= scope.date_to]
    return where + sale_conditions(scope)


class Money:
    """Rounds sums to each currency's minor unit (sums come back with four places)."""

    def __init__(self, session: Session):
        self.minor = dict(session.execute(select(Currency.code, Currency.minor_unit)).all())

    def __call__(self, value, currency: str) -> Decimal:
        return in_minor_unit(value or 0, self.minor.get(currency, DEFAULT_MINOR_UNIT))


def round_units(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.1"))


def code_names(session: Session, model, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """id -> (code, name) for a few stations or districts."""
    found: dict[int, tuple[str, str]] = {}
    for chunk in chunked(sorted({i for i in ids if i is not None})):
        for row in session.execute(select(model.id, model.code, model.name).where(model.id.in_(chunk))):
            found[row.id] = (row.code, row.name)
    return found


def user_codes(session: Session, ids: Iterable[int]) -> dict[int, str]:
    found: dict[int, str] = {0: API_SALE}
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


# ---------------------------------------------------------------------------
# The request every report runs in


@dataclass
class ReportRequest:
    """One run of a report: who asks, the open read session, the filters resolved with the scope rule.

    `scope` is None for a report without a filter bar (the transaction look-up);
    such a report limits what it finds with `visible(model)`. `options` holds the
    report's own inputs (Report.options); `carried` is the first page's Loaded
    when a later page is asked for, so totals are summed once per run.
    """

    ctx: AppContext
    actor: Actor
    session: Session
    filters: ReportFilters
    scope: Scope | None
    options: dict[str, Any] = field(default_factory=dict)
    after: Sequence | None = None
    limit: int = PAGE_SIZE
    carried: Any = None

    @property
    def zone(self):
        return self.ctx.settings.zone

    @property
    def first_page(self) -> bool:
        return self.after is None

    def visible(self, model) -> ColumnElement[bool]:
        return visible_to(self.actor, model)


@contextmanager
def open_request(ctx: AppContext, actor: Actor, filters: ReportFilters | None = None, *,
                 after: Sequence | None = None, limit: int = PAGE_SIZE, carried: Any = None,
                 **options: Any) -> Iterator[ReportRequest]:
    """Check `reports.view`, open a read session and apply the scope rule: every report runs in here.

    `filters=None` means the report has no filter bar: nothing is resolved, and
    the report limits its look-ups with `request.visible`.
    """
    actor.require("reports.view")
    with ctx.db.read_session() as session:
        scope = resolve(session, actor, filters) if filters is not None else None
        yield ReportRequest(ctx, actor, session, filters if filters is not None else ReportFilters(), scope,
                            options, after, limit, carried)
