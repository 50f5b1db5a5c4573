"""The revenue facts of a sale: the tariff version in force, its blocks, and the account's counters.

Read in ONE statement inside the sale's transaction, after `load_sale_facts`
took the meter's row lock: an account belongs to one meter, so every sale of
the account waits for that lock, and the month's units, the charges due and
the debt balance it reads cannot be read by a second sale before this one
commits (two sales at once never both get the cheap block, both skip the
fixed charge or both recover the same debt). Whatever else moves an
account's debt (supervisors' adjustments, debt payments) takes the same lock
(`lock_account_meter`). The account's row is updated in the sale's own
transaction (`record_sale`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from stron_tui.db.models import Account, Currency, DebtEntry, Meter, Tariff, TariffBlock, TariffVersion, VendBlock
from stron_tui.db.queries import for_update
from stron_tui.services.pricing import (
    AccountState,
    Block,
    Position,
    Quote,
    RecoveryRule,
    Schedule,
    TariffTerms,
    charges_after,
    flat_schedule,
    month_index,
    month_key,
    monthly_charge,
    roll_position,
)
from stron_tui.money import DEFAULT_MINOR_UNIT


def local_month_day(now: datetime, zone: tzinfo) -> tuple[str, str]:
    local = now.astimezone(zone)
    return local.strftime("%Y-%m"), local.strftime("%Y-%m-%d")


def _revenue_statement():
    account, tariff, version, block = (Account.__table__, Tariff.__table__, TariffVersion.__table__,
                                       TariffBlock.__table__)
    in_force = (select(version.c.id).where(version.c.tariff_id == account.c.tariff_id,
                                           version.c.effective_from <= bindparam("priced_at"))
                .order_by(version.c.effective_from.desc()).limit(1).correlate(account).scalar_subquery())
    return (
        select(tariff.c.fixed_charge_vat, tariff.c.charge_accrue_months, tariff.c.cap_units_day,
               tariff.c.cap_units_month, tariff.c.cap_money_day, tariff.c.cap_money_month,
               version.c.id.label("version_id"), version.c.fixed_charge,
               block.c.position, block.c.up_to, block.c.price_per_unit.label("block_price"),
               *(account.c[name] for name in _ACCOUNT_FIELDS))
        .select_from(account)
        .join(tariff, tariff.c.id == account.c.tariff_id)
        .outerjoin(version, version.c.id == in_force)
        .outerjoin(block, block.c.version_id == version.c.id)
        .where(account.c.id == bindparam("account_id"))
        .order_by(block.c.position)
    )


_ACCOUNT_FIELDS = ("debt_balance", "recovery_percent", "recovery_fixed", "recovery_month_limit",
                   "recovery_min_energy", "free_units", "free_issued_month", "usage_month", "month_units",
                   "month_money", "month_recovered", "usage_day", "day_units", "day_money", "charge_paid_month",
                   "charge_part_paid")
_REVENUE = _revenue_statement()


@dataclass(frozen=True)
class RevenueFacts:
    schedule: Schedule
    position: Position


def load_revenue(session: Session, account_id: int, terms: TariffTerms, now: datetime, zone: tzinfo) -> RevenueFacts:
    """The version in force at `now`, its blocks, and the account's counters rolled to today (local)."""
    rows = session.connection().execute(_REVENUE, {"account_id": account_id, "priced_at": now}).all()
    first = rows[0]
    if first.version_id is None or first.position is None:
        blocks = flat_schedule(terms).blocks
    else:
        blocks = tuple(Block(row.up_to, row.block_price) for row in rows)
    schedule = Schedule(
        blocks=blocks, fixed_charge=first.fixed_charge or Decimal(0), fixed_charge_vat=bool(first.fixed_charge_vat),
        accrue_months=first.charge_accrue_months or 0, cap_units_day=first.cap_units_day,
        cap_units_month=first.cap_units_month, cap_money_day=first.cap_money_day,
        cap_money_month=first.cap_money_month, version_id=first.version_id)
    state = AccountState(
        debt=first.debt_balance,
        recovery=RecoveryRule(first.recovery_percent, first.recovery_fixed, first.recovery_month_limit,
                              first.recovery_min_energy),
        free_units=first.free_units, free_issued_month=first.free_issued_month, usage_month=first.usage_month,
        month_units=first.month_units, month_money=first.month_money, month_recovered=first.month_recovered,
        usage_day=first.usage_day, day_units=first.day_units, day_money=first.day_money,
        charge_paid_month=first.charge_paid_month, charge_part_paid=first.charge_part_paid)
    month, day = local_month_day(now, zone)
    return RevenueFacts(schedule, roll_position(state, schedule, terms, month, day))


_UPDATE_ACCOUNT = update(Account.__table__).where(Account.__table__.c.id == bindparam("sold_account_id"))


def account_changes(position: Position, quote: Quote) -> dict:
    """The account's columns after this sale (counters of today's month and day, debt, charges, free units)."""
    changes = dict(
        usage_month=position.month, month_units=position.month_units + quote.units,
        month_money=position.month_money + quote.gross,
        month_recovered=position.month_recovered + quote.debt_recovered,
        usage_day=position.day, day_units=position.day_units + quote.units, day_money=position.day_money + quote.gross,
    )
    if quote.debt_recovered:
        changes["debt_balance"] = position.debt - quote.debt_recovered
    paid = charges_after(position, quote.fixed_charge)
    if paid is not None:
        changes["charge_paid_month"], changes["charge_part_paid"] = paid
    if quote.free_units:
        changes["free_issued_month"] = position.month
    return changes


def record_sale(session: Session, row: dict, quote: Quote, position: Position) -> None:
    """In the sale's transaction: the account's counters, the sale's block lines, the debt recovered."""
    connection = session.connection()
    connection.execute(_UPDATE_ACCOUNT, {"sold_account_id": row["account_id"], **account_changes(position, quote)})
    if quote.blocks:
        connection.execute(insert(VendBlock.__table__), [
            dict(vend_id=row["id"], position=line.position, business_date=row["business_date"],
                 tariff_id=row["tariff_id"], units=line.units, price_all_in=line.price_all_in, amount=line.amount)
            for line in quote.blocks])
    if quote.debt_recovered:
        connection.execute(insert(DebtEntry.__table__), dict(
            account_id=row["account_id"], created_at=row["created_at"], business_date=row["business_date"],
            kind="recovered", amount=-quote.debt_recovered, balance_after=quote.debt_after, reason="",
            user_id=row["operator_id"], api_account_id=row["api_account_id"], station_id=row["station_id"],
            district_id=row["district_id"], vend_id=row["id"], receipt_number=row["receipt_number"]))


def unwind_sale(session: Session, vend, *, reversal_number: str, now: datetime, business_date, user_id) -> dict:
    """In a reversal's transaction: the account as if the reversed sale had not been paid for. The debt it
    recovered is owed again (a debt movement that says why), the fixed charges it paid are due again, and
    its units and money leave the month's and the day's counters when those are still the sale's month and
    day (the next sale's block and caps). Under the meter's row lock, as every sale of the account.
    Returns the account's columns changed (empty: the sale touched none of them)."""
    lock_account_meter(session, vend.account_id)
    account = session.execute(select(*(Account.__table__.c[name] for name in _ACCOUNT_FIELDS))
                              .where(Account.__table__.c.id == vend.account_id)).one()
    month, day = vend.business_date.strftime("%Y-%m"), vend.business_date.isoformat()
    zero = Decimal(0)
    changes: dict = {}
    if account.usage_month == month:
        changes.update(month_units=max(account.month_units - vend.units, zero),
                       month_money=max(account.month_money - vend.gross_amount, zero),
                       month_recovered=max(account.month_recovered - vend.debt_recovered, zero))
    if account.usage_day == day:
        changes.update(day_units=max(account.day_units - vend.units, zero),
                       day_money=max(account.day_money - vend.gross_amount, zero))
    if vend.debt_recovered > 0:
        changes["debt_balance"] = account.debt_balance + vend.debt_recovered
        session.connection().execute(insert(DebtEntry.__table__), dict(
            account_id=vend.account_id, created_at=now, business_date=business_date, kind="adjusted",
            amount=vend.debt_recovered, balance_after=changes["debt_balance"],
            reason=f"Sale {vend.receipt_number} reversed ({reversal_number}): the debt it recovered is owed again",
            user_id=user_id, api_account_id=None, station_id=vend.station_id, district_id=vend.district_id,
            vend_id=vend.id, receipt_number=vend.receipt_number))
    if vend.fixed_charge > 0 and account.charge_paid_month is not None:
        per_month = _charge_per_month_of(session, vend)
        if per_month > 0:
            # charges_after, backwards: take the payment off the part paid, a month at a time.
            part, months_back = account.charge_part_paid - vend.fixed_charge, 0
            while part < 0:
                part += per_month
                months_back += 1
            changes["charge_paid_month"] = month_key(month_index(account.charge_paid_month) - months_back)
            changes["charge_part_paid"] = part
    if changes:
        session.connection().execute(_UPDATE_ACCOUNT, {"sold_account_id": vend.account_id, **changes})
    return changes


def _charge_per_month_of(session: Session, vend) -> Decimal:
    """The monthly charge, all in, of the tariff version the sale was priced with."""
    row = session.execute(select(TariffVersion.fixed_charge, Tariff.fixed_charge_vat)
                          .join(Tariff, Tariff.id == TariffVersion.tariff_id)
                          .where(TariffVersion.id == vend.tariff_version_id)).first()
    if row is None or not row.fixed_charge:
        return Decimal(0)
    places = session.scalar(select(Currency.minor_unit).where(Currency.code == vend.currency))
    return monthly_charge(row.fixed_charge, bool(row.fixed_charge_vat), prices_include_vat=vend.prices_include_vat,
                          vat_rate=vend.vat_rate, minor_unit=places if places is not None else DEFAULT_MINOR_UNIT)


def lock_account_meter(session: Session, account_id: int) -> None:
    """Take the row lock of the account's meter: the lock every sale of the account holds."""
    meter_id = select(Account.meter_id).where(Account.id == account_id).scalar_subquery()
    session.execute(for_update(select(Meter.id).where(Meter.id == meter_id), Meter))


def block_lines_of(session: Session, vend_id: int) -> tuple:
    """A recorded sale's block lines (reprints)."""
    from stron_tui.services.pricing import BlockLine

    rows = session.execute(select(VendBlock.position, VendBlock.units, VendBlock.price_all_in, VendBlock.amount)
                           .where(VendBlock.vend_id == vend_id).order_by(VendBlock.position))
    return tuple(BlockLine(*row) for row in rows)


