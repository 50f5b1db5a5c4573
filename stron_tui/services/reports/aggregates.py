"""Daily sales totals and each meter's last sale, kept in every vend's own transaction.

Summary reports (monthly, per station, per district, cash-up) read
`vend_daily_totals` (one row per business day, station, operator, district,
utility, payment type and currency pair) instead of scanning the vends; the
Non-Vending Meter Report reads `meter_vend_activity` (one row per meter, made
when the meter is created: start_meter_activity).

The vending service calls `record_vend_in_daily_totals(session, vend)` right
after adding the Vend, in the same session and transaction, so a sale and its
totals commit or roll back together; a reversal calls
`record_reversal_in_daily_totals` the same way, so every total is net of the
reversals (booked on the reversal's business day, under its sale's key) and
counts them. `sales_ledger` gives the same figures from the single records,
for reports filtered by meter, customer or API account. No upsert shortcut (not portable): an
UPDATE adds the sale to an existing row; when there is none, an INSERT runs
inside a SAVEPOINT, and if a concurrent transaction inserted the same key
first (unique violation) the savepoint is rolled back and the UPDATE retried.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable, Sequence

from sqlalchemy import (
    Subquery,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stron_tui.db.models import Meter, MeterVendActivity, Reversal, Vend, VendDailyTotal
from stron_tui.db.queries import chunked

AMOUNT_FIELDS = ("paid_amount", "gross_amount", "vat_amount", "excise_amount", "net_amount", "units")
KEY_FIELDS = ("business_date", "station_id", "operator_key", "district_id", "utility", "payment_type",
              "paid_currency", "currency")
# Rows per key for sales without an operator: an API account sells many at once, and with one row they
# would all wait for each other's row lock until commit. Reports sum over the slots.
DAILY_SLOTS = 8


def _daily_key(vend: Vend) -> dict:
    return {
        "business_date": vend.business_date,
        "station_id": vend.station_id,
        "operator_key": vend.operator_id or 0,
        "district_id": vend.district_id,
        "utility": vend.utility,
        "payment_type": vend.payment_type,
        "paid_currency": vend.paid_currency,
        "currency": vend.currency,
        "slot": 0 if vend.operator_id else vend.id % DAILY_SLOTS,
    }


def _add_to_day_statement():
    daily = VendDailyTotal.__table__
    return (
        update(daily)
        .where(*[daily.c[name] == bindparam(f"key_{name}", type_=daily.c[name].type)
                 for name in (*KEY_FIELDS, "slot")])
        .values(vend_count=daily.c.vend_count + bindparam("add_sales", type_=daily.c.vend_count.type),
                reversal_count=daily.c.reversal_count + bindparam("add_reversals", type_=daily.c.reversal_count.type),
                **{name: daily.c[name] + bindparam(f"add_{name}", type_=daily.c[name].type)
                   for name in AMOUNT_FIELDS})
    )


def _touch_meter_statement():
    activity = MeterVendActivity.__table__
    business_date = bindparam("sale_business_date", type_=activity.c.last_business_date.type)
    created_at = bindparam("sale_created_at", type_=activity.c.last_created_at.type)
    return (
        update(activity)
        .where(activity.c.meter_id == bindparam("for_meter_id", type_=activity.c.meter_id.type))
        .values(
            vend_count=activity.c.vend_count + 1,
            # Sales normally arrive in time order; CASE keeps the latest if one doesn't.
            # NULL: the meter's first sale.
            last_business_date=case((activity.c.last_business_date.is_(None), business_date),
                                    (activity.c.last_business_date < business_date, business_date),
                                    else_=activity.c.last_business_date),
            last_created_at=case((activity.c.last_created_at.is_(None), created_at),
                                 (activity.c.last_created_at < created_at, created_at),
                                 else_=activity.c.last_created_at),
        )
    )


# Built once: these run in every sale, while it holds its meter's row lock.
_ADD_TO_DAY = _add_to_day_statement()
_TOUCH_METER = _touch_meter_statement()


def _add_to_existing_day(session: Session, key: dict, amounts: dict, *, sales: int = 1, reversals: int = 0) -> bool:
    parameters = {f"key_{name}": value for name, value in key.items()}
    parameters.update(add_sales=sales, add_reversals=reversals)
    parameters.update({f"add_{name}": value for name, value in amounts.items()})
    return session.connection().execute(_ADD_TO_DAY, parameters).rowcount > 0


def _touch_meter(session: Session, vend: Vend) -> bool:
    parameters = {"for_meter_id": vend.meter_id, "sale_business_date": vend.business_date,
                  "sale_created_at": vend.created_at}
    return session.connection().execute(_TOUCH_METER, parameters).rowcount > 0


def start_meter_activity(session: Session, meter_ids: Iterable[int]) -> None:
    """Give new meters their last-sale row (never sold yet), in the transaction that creates them.

    The Non-Vending Meter Report finds never-sold meters by these rows, so
    every place that creates meters calls this or start_meter_activity_by_number
    (Base Data: single, batch and Excel import; the demo data).
    """
    rows = [{"meter_id": meter_id, "last_business_date": None, "last_created_at": None, "vend_count": 0}
            for meter_id in meter_ids]
    if rows:
        session.execute(insert(MeterVendActivity), rows)


def start_meter_activity_by_number(session: Session, meter_numbers: Sequence[str]) -> None:
    """start_meter_activity for meters just inserted in bulk, found by their numbers."""
    columns = ["meter_id", "last_business_date", "last_created_at", "vend_count"]
    for chunk in chunked(meter_numbers):
        session.execute(insert(MeterVendActivity).from_select(
            columns, select(Meter.id, null(), null(), literal(0)).where(Meter.meter_number.in_(chunk))))


def forget_meter_activity(session: Session, meter_id: int) -> None:
    """Remove a meter's last-sale row before the meter itself is deleted (only meters with no sales are)."""
    session.execute(delete(MeterVendActivity).where(MeterVendActivity.meter_id == meter_id))


def _update_or_insert(session: Session, try_update, table, first_row: dict) -> None:
    if try_update():
        return
    try:
        with session.begin_nested():
            session.connection().execute(insert(table), first_row)
    except IntegrityError:
        # Another sale inserted the row between our UPDATE and INSERT: add to it.
        if not try_update():
            raise


def record_vend_in_daily_totals(session: Session, vend: Vend) -> None:
    """Add one sale to its day's totals and to its meter's last-sale record.

    Call in the vend's own session; `vend` is a Vend or an object with its
    attribute names (only they are read, so it need not be flushed). Raises
    whatever the database raises; the caller's transaction then rolls back,
    sale and totals together. The meter's row normally exists since its
    creation (then one UPDATE); for a meter without one it is inserted.
    """
    key = _daily_key(vend)
    amounts = {name: Decimal(getattr(vend, name)) for name in AMOUNT_FIELDS}
    _update_or_insert(
        session,
        lambda: _touch_meter(session, vend),
        MeterVendActivity.__table__,
        dict(meter_id=vend.meter_id, last_business_date=vend.business_date, last_created_at=vend.created_at,
             vend_count=1),
    )
    # The day's row is shared by many concurrent sales: touched last, so its lock is held briefly.
    _update_or_insert(
        session,
        lambda: _add_to_existing_day(session, key, amounts),
        VendDailyTotal.__table__,
        dict(**key, vend_count=1, reversal_count=0, **amounts),
    )


def record_reversal_in_daily_totals(session: Session, vend: Vend, business_date) -> None:
    """Take a reversed sale off the totals of the reversal's business day (`business_date`), under the
    sale's own key and slot, and count the reversal there.

    Call in the reversal's transaction, before the vendor float is touched (a
    sale takes the day row, then the float: the same order, so they can't
    deadlock). The meter's last-sale record stays: the token was issued.
    """
    key = _daily_key(vend) | {"business_date": business_date}
    amounts = {name: -Decimal(getattr(vend, name)) for name in AMOUNT_FIELDS}
    _update_or_insert(
        session,
        lambda: _add_to_existing_day(session, key, amounts, sales=0, reversals=1),
        VendDailyTotal.__table__,
        dict(**key, vend_count=0, reversal_count=1, **amounts),
    )


def sales_ledger(vend_where: Sequence = (), reversal_where: Sequence = (), *,
                 business_date_where=lambda column: ()) -> Subquery:
    """Sales (+) and reversals (-) as single records with the daily totals' columns: what a report filtered by
    meter, customer or API account sums instead of `vend_daily_totals`, with the same result.

    A reversal is on its own business day, with its sale's station, operator,
    district, meter, customer, account and amounts. `vend_where` applies to the
    Vend of both parts; `business_date_where(column)` gives the date conditions
    for each part's own day column (pushed inside, where the indexes are).
    """
    def part(day, negate: bool, sales: str, reversals: str, paid, gross, units):
        def sign(column):
            return -column if negate else column

        return select(
            day.label("business_date"), Vend.station_id, Vend.district_id,
            func.coalesce(Vend.operator_id, 0).label("operator_key"), Vend.utility, Vend.payment_type,
            Vend.paid_currency, Vend.currency, Vend.meter_id, Vend.customer_id, Vend.api_account_id,
            literal_column(sales).label("vend_count"), literal_column(reversals).label("reversal_count"),
            sign(paid).label("paid_amount"), sign(gross).label("gross_amount"),
            sign(Vend.vat_amount).label("vat_amount"), sign(Vend.excise_amount).label("excise_amount"),
            sign(Vend.net_amount).label("net_amount"), sign(units).label("units"),
        )

    sold = part(Vend.business_date, False, "1", "0", Vend.paid_amount, Vend.gross_amount, Vend.units).where(
        *vend_where, *business_date_where(Vend.business_date))
    reversed_ = (part(Reversal.business_date, True, "0", "1", Reversal.paid_amount, Reversal.gross_amount, Reversal.units)
                 .join(Reversal, Reversal.vend_id == Vend.id)
                 .where(*vend_where, *reversal_where, *business_date_where(Reversal.business_date)))
    return union_all(sold, reversed_).subquery("ledger")


def rebuild_report_aggregates(session: Session) -> None:
    """Recompute both aggregate tables from the vends and reversals (after a bulk load or a repair).

    Set-based (two INSERT ... SELECT ... GROUP BY statements); run it when no
    sale is being made, e.g. from a maintenance window or a benchmark.
    """
    session.execute(delete(VendDailyTotal))
    session.execute(delete(MeterVendActivity))
    ledger = sales_ledger()
    key = [ledger.c[name] for name in KEY_FIELDS]
    session.execute(
        insert(VendDailyTotal).from_select(
            [*KEY_FIELDS, "vend_count", "reversal_count", *AMOUNT_FIELDS],
            select(*key, func.sum(ledger.c.vend_count), func.sum(ledger.c.reversal_count),
                   *[func.sum(ledger.c[name]) for name in AMOUNT_FIELDS]).group_by(*key),
        )
    )
    # Every meter gets its row, sold to or not (an outer join to its sales summed per meter).
    sales = (select(Vend.meter_id.label("meter_id"), func.max(Vend.business_date).label("last_day"),
                    func.max(Vend.created_at).label("last_at"), func.count().label("sales"))
             .group_by(Vend.meter_id).subquery())
    session.execute(
        insert(MeterVendActivity).from_select(
            ["meter_id", "last_business_date", "last_created_at", "vend_count"],
            select(Meter.id, sales.c.last_day, sales.c.last_at, func.coalesce(sales.c.sales, 0))
            .outerjoin(sales, sales.c.meter_id == Meter.id),
        )
    )
