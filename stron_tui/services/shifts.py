"""Shifts: a cashier opens one at a station with a float, sells, closes it by counting the drawer, and a
supervisor signs it off.

A shift's sales are the cashier's sales at the shift's station from its
opening to its close. Per payment type and currency, at close:
    expected   = opening float (cash only) + sales paid - reversals of those sales recorded by then
    over/short = declared - expected   (above 0: over; below 0: short)
Whether selling needs an open shift is the `shift_required` setting (on by
default): it binds operators assigned to a sales station; head-office
operators without a station and API accounts sell without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stron_tui.db.models import (
    Currency,
    ManagementToken,
    PaymentType,
    ReceiptPrint,
    Reversal,
    SalesStation,
    Shift,
    ShiftCount,
    User,
    Vend,
)
from stron_tui.db.queries import for_update
from stron_tui.errors import Conflict, NotFound, PermissionDenied, ValidationError
from stron_tui.services import audit, auth, live_rights
from stron_tui.domain.clock import local_date, utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.domain.text import clean
from stron_tui.services.vendor_floats import in_minor_unit, parse_amount

CASH = "cash"
REPORT_ROW_LIMIT = 5_000  # rows per list on the screen; the exports write every row


class NoOpenShift(ValidationError):
    code = "no_open_shift"


def shift_number(shift_id: int) -> str:
    return f"SH{shift_id:08d}"


def parse_shift_number(text: str) -> int:
    raw = clean(text).strip().upper()
    digits = raw[2:] if raw.startswith("SH") else raw
    if not digits.isdigit() or len(digits) > 9:
        raise ValidationError(f"A shift number looks like SH00000012, not {raw[:20]!r}.", field="shift")
    return int(digits)


@dataclass(frozen=True)
class ShiftLine:
    payment_type: str
    currency: str
    opening_float: Decimal
    expected: Decimal
    declared: Decimal | None  # None until the shift is closed
    over_short: Decimal | None  # declared - expected


@dataclass(frozen=True)
class ShiftView:
    shift_id: int
    number: str
    user_code: str
    station_code: str
    status: str  # open, closed, signed
    opened_at: datetime
    closed_at: datetime | None
    signed_off_by: str
    signed_off_at: datetime | None
    note: str
    long_open: bool
    lines: tuple[ShiftLine, ...]


def open_shift_station(user_id):
    """The station of the user's open shift, as a scalar subquery (NULL: none open; at most one is open).

    The sale's one read of its facts carries it (vending.load_sale_facts), so
    the shift check costs no statement of its own.
    """
    return (select(Shift.station_id).where(Shift.user_id == user_id, Shift.status == "open")
            .scalar_subquery())


def check_open_shift(ctx: AppContext, actor: Actor, open_station_id: int | None) -> None:
    """The sale step of vending.issue_token: a station's cashier sells only in their open shift there.

    `open_station_id` is the station of the cashier's open shift, read in the
    sale's transaction (`open_shift_station`).
    """
    if not ctx.settings.shift_required or actor.api_account_id is not None or actor.station_id is None:
        return
    if open_station_id is None:
        raise NoOpenShift("Open a shift first (F6 on the Top-up Center opens My Shift): selling at a station needs "
                          "an open shift.", field="shift")
    if open_station_id != actor.station_id:
        raise NoOpenShift("Your open shift is at another sales station; close it there first.", field="shift")


# Reading a shift -----------------------------------------------------------------------------------------


def _shift_sales(shift: Shift, until: datetime):
    return (Vend.operator_id == shift.user_id, Vend.station_id == shift.station_id,
            Vend.created_at >= shift.opened_at, Vend.created_at <= until)


def _expected(ctx: AppContext, session: Session, shift: Shift, until: datetime) -> dict[tuple[str, str], Decimal]:
    totals: dict[tuple[str, str], Decimal] = {}
    for count in session.scalars(select(ShiftCount).where(ShiftCount.shift_id == shift.id)):
        totals[(count.payment_type, count.currency)] = count.opening_float
    in_shift = _shift_sales(shift, until)
    since = local_date(shift.opened_at, ctx.settings.zone) - timedelta(days=1)  # lets (operator, date) serve it
    sold = session.execute(select(Vend.payment_type, Vend.paid_currency, func.sum(Vend.paid_amount))
                           .where(*in_shift, Vend.business_date >= since)
                           .group_by(Vend.payment_type, Vend.paid_currency))
    for payment_type, currency, amount in sold:
        totals[(payment_type, currency)] = totals.get((payment_type, currency), Decimal(0)) + amount
    reversed_ = session.execute(select(Reversal.payment_type, Reversal.paid_currency, func.sum(Reversal.paid_amount))
                                .join(Vend, Vend.id == Reversal.vend_id)
                                .where(*in_shift, Vend.business_date >= since, Reversal.created_at <= until)
                                .group_by(Reversal.payment_type, Reversal.paid_currency))
    for payment_type, currency, amount in reversed_:
        totals[(payment_type, currency)] = totals.get((payment_type, currency), Decimal(0)) - amount
    return totals


def _places(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Currency.code, Currency.minor_unit)).all())


def _view(ctx: AppContext, session: Session, shift: Shift) -> ShiftView:
    now = utcnow()
    places = _places(session)
    counts = {(c.payment_type, c.currency): c for c in
              session.scalars(select(ShiftCount).where(ShiftCount.shift_id == shift.id))}
    if shift.status == "open":
        expected = _expected(ctx, session, shift, now)
        lines = [ShiftLine(pt, cur, counts[(pt, cur)].opening_float if (pt, cur) in counts else Decimal(0),
                           in_minor_unit(amount, places.get(cur, 2)), None, None)
                 for (pt, cur), amount in expected.items()]
    else:
        lines = [ShiftLine(pt, cur, c.opening_float, c.expected, c.declared, c.declared - c.expected)
                 for (pt, cur), c in counts.items()]
    lines.sort(key=lambda line: (line.payment_type != CASH, line.payment_type, line.currency))
    user_code = session.scalar(select(User.user_code).where(User.id == shift.user_id))
    station_code = session.scalar(select(SalesStation.code).where(SalesStation.id == shift.station_id))
    signer = "" if shift.signed_off_by is None else session.scalar(
        select(User.user_code).where(User.id == shift.signed_off_by))
    long_open = shift.status == "open" and now - shift.opened_at > timedelta(hours=ctx.settings.shift_long_open_hours)
    return ShiftView(shift.id, shift_number(shift.id), user_code, station_code, shift.status, shift.opened_at,
                     shift.closed_at, signer, shift.signed_off_at, shift.note, long_open, tuple(lines))


def current_shift(ctx: AppContext, actor: Actor) -> ShiftView | None:
    """The operator's open shift with its expected figures so far, or None."""
    actor.require("topup.shift")
    with ctx.db.read_session() as session:
        shift = session.scalar(select(Shift).where(Shift.user_id == actor.user_id, Shift.status == "open"))
        return None if shift is None else _view(ctx, session, shift)


def _visible_shift(session: Session, actor: Actor, shift_id: int) -> Shift:
    shift = session.get(Shift, shift_id)
    own = shift is not None and shift.user_id == actor.user_id
    if shift is None or not (own or actor.can("reports.all_stations") or shift.station_id == actor.station_id):
        raise NotFound(f"There is no shift {shift_number(shift_id)}.")
    if not own and not (actor.can("reports.shift_sign_off") or actor.can("reports.view")):
        actor.require("reports.shift_sign_off")
    return shift


def get_shift(ctx: AppContext, actor: Actor, number: str) -> ShiftView:
    with ctx.db.read_session() as session:
        return _view(ctx, session, _visible_shift(session, actor, parse_shift_number(number)))


def list_shifts(ctx: AppContext, actor: Actor, *, status: str = "", limit: int = 50) -> list[ShiftView]:
    """The newest shifts a supervisor may see (their station's, or all with all-stations rights); long-open
    shifts are flagged. `status`: open, closed (waiting for sign-off) or signed; empty for all."""
    if not (actor.can("reports.shift_sign_off") or actor.can("reports.view")):
        actor.require("reports.shift_sign_off")
    query = select(Shift).order_by(Shift.id.desc()).limit(max(1, min(limit, 500)))
    if status:
        if status not in ("open", "closed", "signed"):
            raise ValidationError("A shift is open, closed or signed.", field="status")
        query = query.where(Shift.status == status)
    if not actor.can("reports.all_stations"):
        if actor.station_id is None:
            raise PermissionDenied(f"{actor.user_code} may only see their own station's shifts but is not "
                                   "assigned to a sales station.")
        query = query.where(Shift.station_id == actor.station_id)
    with ctx.db.read_session() as session:
        return [_view(ctx, session, shift) for shift in session.scalars(query)]


def parse_floats(text: str, default_currency: str) -> dict[str, str]:
    """What a cashier types as the opening float: "50" (the default currency), "USD 50, EUR 20", or nothing.

    Amounts stay text: open_shift checks each with its currency and says which one is wrong.
    """
    floats: dict[str, str] = {}
    for part in clean(text).replace(";", ",").split(","):
        words = part.split()
        if not words:
            continue
        if len(words) == 1:
            currency, amount = default_currency, words[0]
        elif len(words) == 2:
            currency, amount = (words[0], words[1]) if words[0].isalpha() else (words[1], words[0])
        else:
            raise ValidationError(f"Type each float as a currency and an amount, e.g. USD 50, not {part.strip()!r}.",
                                  field="floats")
        currency = currency.upper()
        if currency in floats:
            raise ValidationError(f"{currency} is given twice.", field="floats")
        floats[currency] = amount
    return floats


# Open, close, sign off -----------------------------------------------------------------------------------


def _active_currencies(session: Session) -> set[str]:
    return set(session.scalars(select(Currency.code).where(Currency.active.is_(True))))


def open_shift(ctx: AppContext, actor: Actor, floats: dict[str, object]) -> ShiftView:
    """Open the operator's shift at their station with an opening cash float per currency (may be 0)."""
    actor.require("topup.shift")
    if actor.user_id is None or actor.station_id is None:
        raise ValidationError("Only an operator assigned to a sales station opens a shift.", field="shift")
    now = utcnow()
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, "topup.shift")
        accepted = _active_currencies(session)
        places = _places(session)
        amounts: dict[str, Decimal] = {}
        for code, text in floats.items():
            currency = clean(code).strip().upper()
            if currency not in accepted:
                raise ValidationError(f"{currency or 'That'} is not a currency this system accepts.",
                                      field=f"float:{currency}")
            amount = parse_amount(text, f"opening float in {currency}", f"float:{currency}")
            if amount != in_minor_unit(amount, places[currency]):
                raise ValidationError(f"{currency} amounts have {places[currency]} decimal places.",
                                      field=f"float:{currency}")
            amounts[currency] = amount
        if session.scalar(select(Shift.id).where(Shift.user_id == actor.user_id, Shift.status == "open")):
            raise Conflict("You already have an open shift; close it before opening another.")
        shift = Shift(user_id=actor.user_id, station_id=actor.station_id, status="open", opened_at=now, note="")
        session.add(shift)
        try:
            session.flush()
        except IntegrityError:  # the same operator opening twice at once: one open shift per operator
            raise Conflict("You already have an open shift; close it before opening another.") from None
        session.add_all(ShiftCount(shift_id=shift.id, payment_type=CASH, currency=currency, opening_float=amount)
                        for currency, amount in amounts.items())
        session.flush()
        audit.record(session, actor, "shift.open", entity="shift", entity_id=shift_number(shift.id),
                     summary=f"opened shift {shift_number(shift.id)} with float "
                             + (", ".join(f"{a} {c}" for c, a in amounts.items()) or "none"))
        return _view(ctx, session, shift)


def close_shift(ctx: AppContext, actor: Actor, declared: dict[tuple[str, str], object]) -> ShiftView:
    """Close the operator's open shift with what the drawer holds per (payment type, currency).

    Every line with an expected amount must be declared (0 if nothing); a
    line nobody expected may be declared too (money found).
    """
    actor.require("topup.shift")
    now = utcnow()
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, "topup.shift")
        shift = session.scalar(for_update(select(Shift).where(Shift.user_id == actor.user_id,
                                                              Shift.status == "open"), Shift))
        if shift is None:
            raise NoOpenShift("You have no open shift to close.", field="shift")
        places = _places(session)
        payment_types = set(session.scalars(select(PaymentType.code)))
        counted: dict[tuple[str, str], Decimal] = {}
        for (payment_type, currency), text in declared.items():
            key = (clean(payment_type).strip(), clean(currency).strip().upper())
            field = f"{key[0]}:{key[1]}"
            if key[0] not in payment_types:
                raise ValidationError(f"{key[0] or 'That'} is not a payment type.", field=field)
            if key[1] not in places:
                raise ValidationError(f"{key[1] or 'That'} is not a currency.", field=field)
            amount = parse_amount(text, f"{key[0]} count in {key[1]}", field)
            if amount != in_minor_unit(amount, places[key[1]]):
                raise ValidationError(f"{key[1]} amounts have {places[key[1]]} decimal places.", field=field)
            counted[key] = amount
        expected = _expected(ctx, session, shift, now)
        missing = [key for key in expected if key not in counted]
        if missing:
            payment_type, currency = missing[0]
            raise ValidationError(f"Declare the {payment_type} in {currency} (0 if there is none).",
                                  field=f"{payment_type}:{currency}")
        counts = {(c.payment_type, c.currency): c for c in
                  session.scalars(select(ShiftCount).where(ShiftCount.shift_id == shift.id))}
        for key in sorted(set(expected) | set(counted)):
            row = counts.get(key)
            if row is None:
                row = ShiftCount(shift_id=shift.id, payment_type=key[0], currency=key[1], opening_float=Decimal(0))
                session.add(row)
            row.expected = in_minor_unit(expected.get(key, Decimal(0)), places[key[1]])
            row.declared = counted[key]
        shift.status, shift.closed_at = "closed", now
        session.flush()
        view = _view(ctx, session, shift)
        audit.record(session, actor, "shift.close", entity="shift", entity_id=view.number,
                     summary=f"closed shift {view.number}: " + "; ".join(
                         f"{line.payment_type} {line.currency} expected {line.expected} declared {line.declared}"
                         for line in view.lines)[:300])
        return view


def sign_off(ctx: AppContext, actor: Actor, number: str, *, payment_password: str, note: str) -> ShiftView:
    """A supervisor signs off a closed shift (not their own) with their payment password and a note."""
    actor.require("reports.shift_sign_off")
    shift_id = parse_shift_number(number)
    text = clean(note).strip()
    if len(text) > 400:
        raise ValidationError("The note is longer than 400 characters.", field="note")
    auth.confirm_payment(ctx, actor, payment_password or "")
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, "reports.shift_sign_off")
        _visible_shift(session, actor, shift_id)
        # Locked, then read again: two supervisors signing at once, the second sees it signed.
        shift = session.scalar(for_update(select(Shift).where(Shift.id == shift_id), Shift)
                               .execution_options(populate_existing=True))
        if shift.user_id == actor.user_id:
            raise PermissionDenied("A supervisor signs off other cashiers' shifts, not their own.")
        if shift.status == "open":
            raise ValidationError(f"Shift {shift_number(shift.id)} is still open; the cashier closes it first.",
                                  field="shift")
        if shift.status == "signed":
            raise Conflict(f"Shift {shift_number(shift.id)} is already signed off.")
        shift.status, shift.signed_off_by, shift.signed_off_at, shift.note = "signed", actor.user_id, utcnow(), text
        session.flush()
        view = _view(ctx, session, shift)
        audit.record(session, actor, "shift.sign_off", entity="shift", entity_id=view.number,
                     summary=f"signed off shift {view.number} of {view.user_code}" + (f": {text}" if text else ""))
        return view


# The shift report ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftSale:
    when: datetime
    receipt_number: str
    meter_number: str
    payment_type: str
    paid_amount: Decimal
    paid_currency: str
    units: Decimal
    unit: str
    reversed: bool


@dataclass(frozen=True)
class ShiftEvent:
    """A reversal, management token or reprint in the shift: when, its number, what."""

    when: datetime
    number: str
    what: str


@dataclass(frozen=True)
class ShiftReport:
    shift: ShiftView
    sales: tuple[ShiftSale, ...]
    reversals: tuple[ShiftEvent, ...]
    management_tokens: tuple[ShiftEvent, ...]
    reprints: tuple[ShiftEvent, ...]


def shift_report(ctx: AppContext, actor: Actor, number: str, *, limit: int = REPORT_ROW_LIMIT) -> ShiftReport:
    """Every sale, reversal, management token and reprint of the shift (the cashier's, at its station)."""
    with ctx.db.read_session() as session:
        shift = _visible_shift(session, actor, parse_shift_number(number))
        view = _view(ctx, session, shift)
        until = shift.closed_at or utcnow()
        sales = tuple(ShiftSale(v.created_at, v.receipt_number, v.meter_number, v.payment_type, v.paid_amount,
                                v.paid_currency, v.units, v.unit, v.reversed_at is not None)
                      for v in session.scalars(select(Vend).where(*_shift_sales(shift, until))
                                               .order_by(Vend.id).limit(limit)))
        reversals = tuple(
            ShiftEvent(r.created_at, r.reversal_number,
                       f"reversed {receipt} ({r.paid_amount} {r.paid_currency}): {r.reason}"
                       + ("; token declared unused" if r.token_declared_unused else ""))
            for r, receipt in session.execute(
                select(Reversal, Vend.receipt_number).join(Vend, Vend.id == Reversal.vend_id)
                .where(*_shift_sales(shift, until), Reversal.created_at <= until).order_by(Reversal.id).limit(limit)))
        tokens = tuple(ShiftEvent(m.created_at, m.receipt_number, f"{m.kind} for meter {m.meter_number}")
                       for m in session.scalars(select(ManagementToken).where(
                           ManagementToken.operator_id == shift.user_id, ManagementToken.created_at >= shift.opened_at,
                           ManagementToken.created_at <= until).order_by(ManagementToken.id).limit(limit)))
        reprints = tuple(ShiftEvent(p.created_at, p.receipt_number, "reprint")
                         for p in session.scalars(select(ReceiptPrint).where(
                             ReceiptPrint.operator_id == shift.user_id, ReceiptPrint.created_at >= shift.opened_at,
                             ReceiptPrint.created_at <= until).order_by(ReceiptPrint.id).limit(limit)))
        return ShiftReport(view, sales, reversals, tokens, reprints)


def export_shift_report(ctx: AppContext, actor: Actor, number: str, kind: str):
    """The shift report (every row, not just the screen's) as an Excel ("xlsx") or PDF ("pdf") file."""
    from stron_tui.exports.cash import write_shift_report

    if kind not in ("xlsx", "pdf"):
        raise ValidationError("Export as xlsx or pdf.", field="kind")
    report = shift_report(ctx, actor, number, limit=1_000_000)
    return write_shift_report(ctx.settings, report, kind, user_id=actor.user_id)


def cashup_lines(ctx: AppContext, session: Session, scope, *, by_day: bool) -> list[tuple]:
    """The cash-up report's reversal and shift lines, in its own shape:
    (operator, day, station, order, item, currency, count, amount).

    Reversals are booked to the cashier who made the sale (their drawer paid the money back), on the
    reversal's business day, as negative amounts. Each shift opened in the period adds a line per currency:
    its over/short once closed ("open" or "open too long" while open).
    """
    by_payment = scope.payment_type is not None or scope.utility is not None
    where = scope.conditions(business_date=Reversal.business_date, station=Reversal.station_id,
                             district=Vend.district_id, operator=Vend.operator_id, api_account=Vend.api_account_id,
                             payment_type=Reversal.payment_type, utility=Vend.utility)
    day = [Reversal.business_date] if by_day else []
    operator = func.coalesce(Vend.operator_id, 0)
    reversed_rows = session.execute(
        select(operator, Reversal.station_id, *day, Reversal.payment_type, Reversal.paid_currency,
               func.count(Reversal.id), func.sum(Reversal.paid_amount))
        .join(Vend, Vend.id == Reversal.vend_id).where(*where)
        .group_by(operator, Reversal.station_id, *day, Reversal.payment_type, Reversal.paid_currency)).all()
    shift_rows = []
    if not by_payment and scope.api_account_id is None and scope.district_id is None:
        from stron_tui.services.reports.scope import utc_bounds

        zone = ctx.settings.zone
        start, end = utc_bounds(scope.date_from, scope.date_to, zone)
        query = select(Shift)
        if start is not None:
            query = query.where(Shift.opened_at >= start)
        if end is not None:
            query = query.where(Shift.opened_at < end)
        if scope.station_id is not None:
            query = query.where(Shift.station_id == scope.station_id)
        if scope.operator_id is not None:
            query = query.where(Shift.user_id == scope.operator_id)
        shift_rows = [shift for shift in session.scalars(query.order_by(Shift.id).limit(REPORT_ROW_LIMIT))
                      if (scope.date_from is None or local_date(shift.opened_at, zone) >= scope.date_from)
                      and (scope.date_to is None or local_date(shift.opened_at, zone) <= scope.date_to)]
    users = dict(session.execute(select(User.id, User.user_code)).all()) if reversed_rows or shift_rows else {}
    stations = dict(session.execute(select(SalesStation.id, SalesStation.code)).all()) if (
        reversed_rows or shift_rows) else {}
    names = dict(session.execute(select(PaymentType.code, PaymentType.name)).all())
    places = _places(session)
    lines = []
    for row in reversed_rows:
        user_id, station_id, rest = row[0], row[1], row[2:]
        day_value, (payment_type, currency, count, paid) = (rest[0], rest[1:]) if by_day else (None, rest)
        lines.append((users.get(user_id, "(API)" if not user_id else "?"), day_value, stations.get(station_id, ""), 0,
                      f"Reversals: {names.get(payment_type, payment_type)}", currency, int(count),
                      -in_minor_unit(paid, places.get(currency, 2))))
    now = utcnow()
    for shift in shift_rows:
        day_value = local_date(shift.opened_at, ctx.settings.zone) if by_day else None
        counts = list(session.scalars(select(ShiftCount).where(ShiftCount.shift_id == shift.id)))
        label = f"Shift {shift_number(shift.id)}"
        who, station = users.get(shift.user_id, "?"), stations.get(shift.station_id, "")
        if shift.status == "open":
            late = now - shift.opened_at > timedelta(hours=ctx.settings.shift_long_open_hours)
            lines.append((who, day_value, station, 3, f"{label} open" + (" too long" if late else ""), "", 1, None))
            continue
        by_currency: dict[str, Decimal] = {}
        for count in counts:
            by_currency[count.currency] = by_currency.get(count.currency, Decimal(0)) + (
                count.declared - count.expected)
        state = "signed off" if shift.status == "signed" else "not signed off"
        for currency, over_short in sorted(by_currency.items()) or [("", None)]:
            lines.append((who, day_value, station, 3, f"{label} over/short ({state})", currency, 1, over_short))
    return lines
