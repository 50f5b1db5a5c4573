"""6. Non-Vending Meter Report: meters with no sale in a period, by meter number, paged from the database."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Sequence

from sqlalchemy import Select, and_, exists, func, or_, select, text, union_all
from sqlalchemy.orm import Session

from stron_tui.db.models import Account, Customer, District, Meter, MeterVendActivity, SalesStation, Vend
from stron_tui.db.queries import keyset_page
from stron_tui.errors import ValidationError
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.common import PAGE_SIZE, ReportRequest, open_request
from stron_tui.services.reports.scope import ReportFilters, Scope
from stron_tui.services.reports.spec import Loaded, Report
from stron_tui.services.reports.tables import Column, ReportTable

STREAM_BATCH = 2000  # rows fetched at a time when the whole report streams into a file

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


def silent_period(ctx: AppContext, filters: ReportFilters) -> tuple[date, date, date]:
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
    silent_period(ctx, filters)
    with open_request(ctx, actor, filters, after=after, limit=limit) as request:
        return silent_page(request)


def silent_page(request: ReportRequest) -> SilentMeterPage:
    """The page of silent meters after `request.after` (see silent_meters)."""
    day_from, day_to, today = silent_period(request.ctx, request.filters)
    session, scope, after, limit = request.session, request.scope, request.after, request.limit
    _plain_plan(session)
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
    silent_period(ctx, filters)
    with open_request(ctx, actor, filters) as request:
        return count_silent(request)


def count_silent(request: ReportRequest) -> int:
    day_from, day_to, today = silent_period(request.ctx, request.filters)
    _plain_plan(request.session)
    return int(request.session.scalar(silent_meter_count_query(request.scope, day_from, day_to, today=today)) or 0)


SILENT_COLUMNS = [
    Column("Meter", 13), Column("Utility", 10), Column("Status", 8), Column("Customer code", 12),
    Column("Customer", 20), Column("Account", 13), Column("District", 14), Column("Station", 14),
    Column("Last sale", 11, "date"),
]


def silent_values(row: SilentMeterRow) -> tuple:
    return (row.meter_number, row.utility, row.status, row.customer_code, row.customer, row.account_number,
            row.district, row.station, row.last_vend_date if row.last_vend_date else "never")


def silent_table(rows, count: int, filters=()) -> ReportTable:
    return ReportTable("Non-Vending Meter Report", SILENT_COLUMNS, (silent_values(r) for r in rows),
                       [(f"Total: {count:,} meters", *([None] * 8))], tuple(filters))


def _load(request: ReportRequest) -> Loaded:
    page = silent_page(request)
    # Counted with the first page, carried by the screen, left out of later API pages.
    if request.first_page:
        extra = {"count": count_silent(request)}
    else:
        extra = request.carried.extra if request.carried is not None else None
    return Loaded(page.rows, None, page.filters, page.next_key, result=page, extra=extra)


def _export(request: ReportRequest) -> tuple[ReportTable, int]:
    """Every silent meter, streamed from a server-side cursor into the file."""
    day_from, day_to, today = silent_period(request.ctx, request.filters)
    scope, session = request.scope, request.session
    keys = silent_meter_query(scope, day_from, day_to, today=today)
    total = int(session.scalar(silent_meter_count_query(scope, day_from, day_to, today=today)) or 0)
    result = session.execute(silent_meter_details(keys).execution_options(yield_per=STREAM_BATCH))
    table = silent_table((silent_meter_row(row) for row in result), total,
                         scope.descriptions + (f"No sale from {day_from} to {day_to}",))
    return table, total


REPORT = Report(
    key="non_vending", api_name="non_vending_meters",
    title="Non-Vending Meter Report", slug="non-vending-meters", stem="non-vending-meters",
    description="Meters with no sale in a period",
    api_summary="Non-Vending Meter Report: meters with no sale in the period (date_from is required)",
    filters=("date_from", "date_to", "district", "station", "utility", "customer"),
    paging="keyset", cursor="silent", check=lambda ctx, filters, options: silent_period(ctx, filters),
    load=_load, export=_export,
    table=lambda loaded: silent_table(loaded.rows, loaded.extra["count"], loaded.filters),
    summary=lambda loaded: f"{loaded.extra['count']:,} meters with no sale in the period",
    default_days=(90, 0), date_from_label="No sale from",
)
