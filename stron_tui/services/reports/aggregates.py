"""Daily sales totals and each meter's last sale, kept in every vend's own transaction.

Summary reports (monthly, per station, per district, cash-up) read
`vend_daily_totals` (one row per business day, station, operator, district,
utility, payment type and currency pair) instead of scanning the vends; the
Non-Vending Meter Report reads `meter_vend_activity` (one row per meter, made
when the meter is created: start_meter_activity).

The vending service calls `record_vend_in_daily_totals(session, vend)` right
after adding the Vend, in the same session and transaction, so a sale and its
totals commit or roll back together. No upsert shortcut (not portable): an
UPDATE adds the sale to an existing row; when there is none, an INSERT runs
inside a SAVEPOINT, and if a concurrent transaction inserted the same key
first (unique violation) the savepoint is rolled back and the UPDATE retried.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable, Sequence

from sqlalchemy import bindparam, case, delete, func, insert, literal, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stron_tui.db.models import Meter, MeterVendActivity, Vend, VendDailyTotal
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
        .values(vend_count=daily.c.vend_count + 1,
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


def _add_to_existing_day(session: Session, key: dict, amounts: dict) -> bool:
    parameters = {f"key_{name}": value for name, value in key.items()}
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
        dict(**key, vend_count=1, **amounts),
    )


def rebuild_report_aggregates(session: Session) -> None:
    """Recompute both aggregate tables from the vends (after a bulk load or a repair).

    Set-based (two INSERT ... SELECT ... GROUP BY statements); run it when no
    sale is being made, e.g. from a maintenance window or a benchmark.
    """
    session.execute(delete(VendDailyTotal))
    session.execute(delete(MeterVendActivity))
    operator_key = func.coalesce(Vend.operator_id, 0)
    group = [Vend.business_date, Vend.station_id, Vend.district_id, operator_key, Vend.utility, Vend.payment_type,
             Vend.paid_currency, Vend.currency]
    session.execute(
        insert(VendDailyTotal).from_select(
            [*KEY_FIELDS[:2], "district_id", "operator_key", *KEY_FIELDS[4:], "vend_count", *AMOUNT_FIELDS],
            select(
                Vend.business_date, Vend.station_id, Vend.district_id, operator_key, Vend.utility,
                Vend.payment_type, Vend.paid_currency, Vend.currency, func.count(),
                *[func.sum(getattr(Vend, name)) for name in AMOUNT_FIELDS],
            ).group_by(*group),
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
