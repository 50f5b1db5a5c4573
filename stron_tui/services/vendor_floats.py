"""Vendor floats: sales stations and API accounts that sell on prepaid float or on a credit limit.

A vendor with a float row sells only while its balance allows: each sale
takes its amount less the vendor's commission, with one conditional UPDATE
(`balance - debit >= -credit_limit`) inside the sale's own transaction. The
UPDATE holds the float's row lock until the sale commits and re-checks the
condition after any wait, so concurrent sales can never take the balance
below the limit. It runs last in the sale (after the meter lock), so every
sale takes its locks in the same order: meter, day totals, float.

Formulas (money in the float's currency, rounded half up to its minor unit):
    commission = round(gross x commission_rate)
    sale debit = gross - commission
A reversal gives back exactly what its sale took (debit and commission).
A vendor without a float row sells without a limit, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from stron_tui.db.models import ApiAccount, Currency, SalesStation, VendorFloat, VendorFloatEntry
from stron_tui.db.queries import for_update
from stron_tui.errors import NotFound, StronError, ValidationError
from stron_tui.services import audit, live_rights
from stron_tui.domain.clock import local_date, utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.pricing import PLAIN_NUMBER, parse_decimal
from stron_tui.services.reports.scope import parse_date
from stron_tui.domain.text import clean, fold


class FloatExhausted(StronError):
    """The vendor's float can't pay for this sale: nothing was recorded."""

    code = "float_exhausted"


def in_minor_unit(amount: Decimal, places: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def sale_debit(gross: Decimal, commission_rate: Decimal, places: int) -> tuple[Decimal, Decimal]:
    """(debit, commission) of a sale of `gross`: commission = round(gross x rate); debit = gross - commission."""
    commission = in_minor_unit(gross * commission_rate, places)
    return in_minor_unit(gross, places) - commission, commission


# The sale step (called from vending.CreditOrder.after_record) ----------------------------------------------

_floats = VendorFloat.__table__
_entries = VendorFloatEntry.__table__


@dataclass(frozen=True)
class SellerFloat:
    """The seller's float as its sale reads it with the sale's facts (vending.load_sale_facts): which row, in
    which currency, at which commission. The balance is not read: the debit checks it under the row's lock."""

    float_id: int
    currency: str
    commission_rate: Decimal


def seller_float_condition(*, api_account_id, station_id):
    """The join condition of the seller's float row: the API account's for a partner's sale, else the selling
    station's (pass the other as None)."""
    if api_account_id is not None:
        return _floats.c.api_account_id == api_account_id
    return _floats.c.station_id == station_id


def seller_float_columns() -> list:
    return [_floats.c.id.label("float_id"), _floats.c.currency.label("float_currency"),
            _floats.c.commission_rate.label("float_commission_rate")]


def seller_float_of(row) -> SellerFloat | None:
    """The SellerFloat in a row with `seller_float_columns`, None when the seller sells without a float."""
    if row.float_id is None:
        return None
    return SellerFloat(row.float_id, row.float_currency, row.float_commission_rate)


# The debit and the limit check in one statement: it waits for any other sale's lock on the row, then
# re-checks the condition against the committed balance (PostgreSQL, SQL Server; SQLite serialises writers).
_DEBIT = (update(_floats)
          .where(_floats.c.id == bindparam("float_id"),
                 _floats.c.balance - bindparam("debit") >= -_floats.c.credit_limit)
          .values(balance=_floats.c.balance - bindparam("debit"), updated_at=bindparam("now"))
          .returning(_floats.c.balance))


def take_sale_from_float(session: Session, row: dict, seller_float: SellerFloat | None, places: int) -> None:
    """Take a just-recorded sale (`row`: the vend's columns) from its vendor's float, or refuse the sale.

    The vendor is the API account for a partner's sale, else the selling
    station; `seller_float` is its float as the sale's facts read it (None:
    it sells without one), `places` the minor unit of the sale's currency.
    """
    if seller_float is None:
        return
    float_id, currency, rate = seller_float.float_id, seller_float.currency, seller_float.commission_rate
    if currency != row["currency"]:
        raise ValidationError(f"This vendor's float is kept in {currency}; it can't pay for a sale in "
                              f"{row['currency']}.", field="currency")
    debit, commission = sale_debit(row["gross_amount"], rate, places)
    now = row["created_at"]
    connection = session.connection()
    balance = connection.execute(_DEBIT, {"float_id": float_id, "debit": debit, "now": now}).scalar()
    if balance is None:
        left, limit = session.execute(select(VendorFloat.balance, VendorFloat.credit_limit)
                                      .where(VendorFloat.id == float_id)).one()
        raise FloatExhausted(
            f"The vendor float can't pay for this sale: it needs {debit:.{places}f} {currency}, the balance is "
            f"{in_minor_unit(left, places):.{places}f} {currency} with a credit limit of "
            f"{in_minor_unit(limit, places):.{places}f}; a supervisor must record a deposit first.")
    connection.execute(insert(_entries), dict(
        float_id=float_id, created_at=now, business_date=row["business_date"], kind="sale", amount=-debit,
        commission=commission, balance_after=balance, reference=row["receipt_number"], reason="", user_id=None))


def give_back_for_reversal(session: Session, *, receipt_number: str, reversal_number: str, now: datetime,
                           business_date: date, user_id: int) -> None:
    """A reversal returns to the float exactly what its sale took (nothing when the sale took nothing)."""
    taken = session.execute(select(VendorFloatEntry.float_id, VendorFloatEntry.amount, VendorFloatEntry.commission)
                            .where(VendorFloatEntry.reference == receipt_number,
                                   VendorFloatEntry.kind == "sale")).first()
    if taken is None:
        return
    float_id, amount, commission = taken
    balance = session.connection().execute(
        update(_floats).where(_floats.c.id == float_id)
        .values(balance=_floats.c.balance - amount, updated_at=now).returning(_floats.c.balance)).scalar_one()
    session.connection().execute(insert(_entries), dict(
        float_id=float_id, created_at=now, business_date=business_date, kind="reversal", amount=-amount,
        commission=-commission, balance_after=balance, reference=reversal_number, reason="", user_id=user_id))


# Supervisors: set up floats, deposits and adjustments ------------------------------------------------------


@dataclass(frozen=True)
class FloatView:
    float_id: int
    vendor: str  # "station S1" or "API account shop"
    currency: str
    balance: Decimal
    credit_limit: Decimal
    commission_rate: Decimal
    available: Decimal  # balance + credit limit: what the vendor may still sell (before commission)


def _vendor_filter(session: Session, *, station: str = "", api_account: str = ""):
    """(column condition, label, station_id, api_account_id) of the named vendor; NotFound if none."""
    if bool(station.strip()) == bool(api_account.strip()):
        raise ValidationError("Name either a sales station or an API account.", field="vendor")
    if station.strip():
        found = session.execute(select(SalesStation.id, SalesStation.code)
                                .where(SalesStation.code_key == fold(station))).first()
        if found is None:
            raise NotFound(f"There is no sales station {clean(station)}.")
        return VendorFloat.station_id == found.id, f"station {found.code}", found.id, None
    found = session.execute(select(ApiAccount.id, ApiAccount.name)
                            .where(ApiAccount.name_key == fold(api_account))).first()
    if found is None:
        raise NotFound(f"There is no API account {clean(api_account)}.")
    return VendorFloat.api_account_id == found.id, f"API account {found.name}", None, found.id


def _places_of(session: Session, currency: str) -> int:
    return session.scalar(select(Currency.minor_unit).where(Currency.code == currency))


def _view(row: VendorFloat, label: str, places: int = 2) -> FloatView:
    balance, limit = in_minor_unit(row.balance, places), in_minor_unit(row.credit_limit, places)
    return FloatView(row.id, label, row.currency, balance, limit, row.commission_rate, balance + limit)


def parse_amount(text: object, what: str, field: str, *, negative_ok: bool = False) -> Decimal:
    """An amount typed by a person: 0 or more (any sign with `negative_ok`), or a clear message.

    The digits rules are pricing.parse_decimal's; only the sign and zero differ.
    """
    raw = str(text).strip().replace(" ", "")
    sign = Decimal(1)
    if raw.startswith("-"):
        if not negative_ok:
            raise ValidationError(f"The {what} can't be negative.", field=field)
        sign, raw = Decimal(-1), raw[1:]
    cleaned = raw.replace(",", "")
    if PLAIN_NUMBER.match(cleaned) and Decimal(cleaned) == 0:
        return Decimal(0)
    return sign * parse_decimal(raw, what, field)


def set_up_float(ctx: AppContext, actor: Actor, *, station: str = "", api_account: str = "", currency: str,
                 credit_limit: object = "0", commission_rate: object = "0") -> FloatView:
    """Put a vendor on a float (or change its limit and commission). A new float starts at balance 0."""
    actor.require("system.vendor_floats")
    limit = parse_amount(credit_limit, "credit limit", "credit_limit")
    rate = parse_amount(commission_rate, "commission rate", "commission_rate")
    if not Decimal(0) <= rate < Decimal(1):
        raise ValidationError("The commission rate is a fraction from 0 up to (not including) 1, "
                              "e.g. 0.025 for 2.5 %.", field="commission_rate")
    code = clean(currency).strip().upper()
    now = utcnow()
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, "system.vendor_floats")
        if session.scalar(select(Currency.code).where(Currency.code == code, Currency.active.is_(True))) is None:
            raise ValidationError(f"{code or 'That'} is not a currency this system accepts.", field="currency")
        condition, label, station_id, api_account_id = _vendor_filter(session, station=station,
                                                                       api_account=api_account)
        row = session.scalar(for_update(select(VendorFloat).where(condition), VendorFloat))
        if row is None:
            row = VendorFloat(station_id=station_id, api_account_id=api_account_id, currency=code,
                              balance=Decimal(0), credit_limit=limit, commission_rate=rate, created_at=now,
                              updated_at=now)
            session.add(row)
            session.flush()
        else:
            if row.currency != code and session.scalar(select(func.count()).select_from(VendorFloatEntry)
                                                       .where(VendorFloatEntry.float_id == row.id)):
                raise ValidationError(f"The float of {label} already has movements in {row.currency}; "
                                      "its currency can't change.", field="currency")
            row.currency, row.credit_limit, row.commission_rate, row.updated_at = code, limit, rate, now
        audit.record(session, actor, "float.setup", entity="vendor_float", entity_id=row.id,
                     summary=f"float of {label}: {code}, credit limit {limit}, commission rate {rate}")
        return _view(row, label, _places_of(session, row.currency))


def float_of(ctx: AppContext, actor: Actor, *, station: str = "", api_account: str = "") -> FloatView:
    _require_viewer(actor)
    with ctx.db.read_session() as session:
        condition, label, station_id, api_account_id = _vendor_filter(session, station=station,
                                                                       api_account=api_account)
        _check_own_vendor(actor, station_id, api_account_id)
        row = session.scalar(select(VendorFloat).where(condition))
        if row is None:
            raise NotFound(f"{label[0].upper()}{label[1:]} sells without a float.")
        return _view(row, label, _places_of(session, row.currency))


def record_movement(ctx: AppContext, actor: Actor, *, kind: str, amount: object, reason: str, station: str = "",
                    api_account: str = "") -> FloatView:
    """A deposit (a positive amount paid in) or an adjustment (either sign); a reason is required; audited."""
    actor.require("system.vendor_floats")
    if kind not in ("deposit", "adjustment"):
        raise ValidationError("A float movement is a deposit or an adjustment.", field="kind")
    value = parse_amount(amount, f"{kind} amount", "amount", negative_ok=kind == "adjustment")
    if value == 0 or (kind == "deposit" and value < 0):
        raise ValidationError(f"The {kind} amount must be {'above' if kind == 'deposit' else 'other than'} 0.",
                              field="amount")
    why = clean(reason).strip()
    if not why:
        raise ValidationError(f"Give the reason for this {kind}.", field="reason")
    if len(why) > 200:
        raise ValidationError("The reason is longer than 200 characters.", field="reason")
    now = utcnow()
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, "system.vendor_floats")
        condition, label, _, _ = _vendor_filter(session, station=station, api_account=api_account)
        row = session.scalar(for_update(select(VendorFloat).where(condition), VendorFloat))
        if row is None:
            raise NotFound(f"{label[0].upper()}{label[1:]} has no float; set one up first.")
        places = session.scalar(select(Currency.minor_unit).where(Currency.code == row.currency))
        if value != in_minor_unit(value, places):
            raise ValidationError(f"{row.currency} amounts have {places} decimal places.", field="amount")
        if row.balance + value < -row.credit_limit:
            raise ValidationError(f"This adjustment would take the float of {label} below its credit limit "
                                  f"(balance {row.balance:.{places}f} {row.currency}).", field="amount")
        row.balance = row.balance + value
        row.updated_at = now
        session.add(VendorFloatEntry(float_id=row.id, created_at=now, business_date=local_date(now, ctx.settings.zone),
                                     kind=kind, amount=value, commission=Decimal(0), balance_after=row.balance,
                                     reference="", reason=why, user_id=actor.user_id))
        audit.record(session, actor, f"float.{kind}", entity="vendor_float", entity_id=row.id,
                     summary=f"{kind} of {value} {row.currency} to the float of {label}: {why}",
                     detail={"amount": value, "balance": row.balance, "reason": why})
        return _view(row, label, _places_of(session, row.currency))


# Statements ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    when: datetime
    kind: str
    reference: str
    amount: Decimal
    commission: Decimal
    balance_after: Decimal
    reason: str


@dataclass(frozen=True)
class Statement:
    vendor: str
    currency: str
    date_from: date
    date_to: date
    opening: Decimal
    deposits: Decimal  # deposits and adjustments
    sales: Decimal  # what sales took (negative)
    reversals: Decimal  # what reversals gave back
    commission: Decimal  # commission earned, net of reversals
    closing: Decimal
    lines: tuple[StatementLine, ...]


STATEMENT_LINE_LIMIT = 20_000


def _require_viewer(actor: Actor) -> None:
    if actor.api_account_id is not None:
        return  # a partner sees its own float and statement (and no other: _check_own_vendor)
    if not (actor.can("reports.vendor_statements") or actor.can("system.vendor_floats")):
        actor.require("reports.vendor_statements")


def _check_own_vendor(actor: Actor, station_id: int | None, api_account_id: int | None) -> None:
    """A partner sees its own float only; an operator without all-stations rights, their station's."""
    if actor.can("reports.all_stations"):
        return
    if actor.api_account_id is not None:
        if api_account_id != actor.api_account_id:
            raise NotFound("There is no such API account.")
    elif station_id is None or station_id != actor.station_id:
        raise NotFound("There is no such sales station.")


def statement(ctx: AppContext, actor: Actor, *, date_from: str, date_to: str, station: str = "",
              api_account: str = "") -> Statement:
    """Opening balance, deposits/adjustments, sales, reversals, commission and closing for business days
    date_from..date_to (inclusive), with every movement. Opening = the balance after the last movement
    before the period (0 if none); closing = opening + every movement in it."""
    _require_viewer(actor)
    first = parse_date(date_from, "from date")
    last = parse_date(date_to, "to date")
    if first is None or last is None:
        raise ValidationError("A statement needs a from date and a to date (YYYY-MM-DD).", field="date_from")
    if last < first:
        raise ValidationError("The to date is before the from date.", field="date_to")
    with ctx.db.read_session() as session:
        condition, label, station_id, api_account_id = _vendor_filter(session, station=station,
                                                                       api_account=api_account)
        _check_own_vendor(actor, station_id, api_account_id)
        row = session.scalar(select(VendorFloat).where(condition))
        if row is None:
            raise NotFound(f"{label[0].upper()}{label[1:]} sells without a float.")
        before = session.scalar(select(VendorFloatEntry.balance_after)
                                .where(VendorFloatEntry.float_id == row.id, VendorFloatEntry.business_date < first)
                                .order_by(VendorFloatEntry.id.desc()).limit(1))
        opening = before if before is not None else Decimal(0)
        in_period = and_(VendorFloatEntry.float_id == row.id, VendorFloatEntry.business_date >= first,
                         VendorFloatEntry.business_date <= last)
        sums = {kind: (amount or Decimal(0), commission or Decimal(0)) for kind, amount, commission in session.execute(
            select(VendorFloatEntry.kind, func.sum(VendorFloatEntry.amount), func.sum(VendorFloatEntry.commission))
            .where(in_period).group_by(VendorFloatEntry.kind))}
        zero = (Decimal(0), Decimal(0))
        lines = tuple(StatementLine(e.created_at, e.kind, e.reference, e.amount, e.commission, e.balance_after,
                                    e.reason)
                      for e in session.scalars(select(VendorFloatEntry).where(in_period)
                                               .order_by(VendorFloatEntry.id).limit(STATEMENT_LINE_LIMIT)))
        deposits = sums.get("deposit", zero)[0] + sums.get("adjustment", zero)[0]
        sales, reversals = sums.get("sale", zero)[0], sums.get("reversal", zero)[0]
        commission = sums.get("sale", zero)[1] + sums.get("reversal", zero)[1]
        return Statement(label, row.currency, first, last, opening, deposits, sales, reversals, commission,
                         opening + deposits + sales + reversals, lines)


def export_statement(ctx: AppContext, actor: Actor, kind: str, *, date_from: str, date_to: str, station: str = "",
                     api_account: str = ""):
    """The statement as an Excel ("xlsx") or PDF ("pdf") file in the caller's export folder."""
    from stron_tui.exports.cash import write_statement

    if kind not in ("xlsx", "pdf"):
        raise ValidationError("Export as xlsx or pdf.", field="kind")
    result = statement(ctx, actor, date_from=date_from, date_to=date_to, station=station, api_account=api_account)
    return write_statement(ctx.settings, result, kind, user_id=actor.user_id)
