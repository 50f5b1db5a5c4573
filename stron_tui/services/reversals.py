"""Reversing a sale: a supervisor's own record with its own number; the sale stays, marked reversed.

A token can't be taken back from a meter: the reversal records whether the
customer declared it unused (the supervisor's judgement, e.g. the receipt
returned with the token not entered). Rules, each refused with a clear
message and nothing changed: own permission (topup.reverse), the payment
password, a reason; the sale is within the window (its business day, or up
to `reversal_window_days` days later) and, unless `reversal_any_station`, at
the supervisor's own station; management tokens are not sales; a sale is
reversed at most once (a unique index on the sale, and the sale's row lock);
a retried request (same request id) returns the first reversal. The reversal
takes its sale off the reports' daily totals in its own transaction (booked on
the reversal's business day), so every sales total counts it, and gives back on
the account what the payment paid besides energy (revenue.unwind_sale).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from stron_tui.db.models import ManagementToken, Reversal, Vend
from stron_tui.db.queries import for_update
from stron_tui.errors import Conflict, NotFound, PermissionDenied, StronError, ValidationError
from stron_tui.services import audit, auth, live_rights, vendor_floats
from stron_tui.domain.clock import local_date, utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.aggregates import record_reversal_in_daily_totals
from stron_tui.services.reports.scope import visible_to
from stron_tui.services.revenue import unwind_sale
from stron_tui.domain.text import clean

TOKEN_STAYS = ("The customer's token can't be taken back from the meter: if it was entered, the credit is "
               "already in the meter.")


@dataclass(frozen=True)
class ReversalResult:
    reversal_number: str
    receipt_number: str
    transaction_number: str
    meter_number: str
    paid_amount: Decimal
    paid_currency: str
    units: Decimal
    unit: str
    reason: str
    token_declared_unused: bool
    created_at: datetime
    business_date: date


def _result(reversal: Reversal, vend: Vend) -> ReversalResult:
    return ReversalResult(reversal.reversal_number, vend.receipt_number, vend.transaction_number, vend.meter_number,
                          reversal.paid_amount, reversal.paid_currency, reversal.units, vend.unit, reversal.reason,
                          reversal.token_declared_unused, reversal.created_at, reversal.business_date)


def _find_sale(session, actor: Actor, number: str, *, lock: bool) -> Vend:
    query = select(Vend).where((Vend.receipt_number == number) | (Vend.transaction_number == number),
                               visible_to(actor, Vend))
    vend = session.scalar(for_update(query, Vend) if lock else query)
    if vend is not None:
        return vend
    if session.scalar(select(ManagementToken.id).where(
            (ManagementToken.receipt_number == number) | (ManagementToken.transaction_number == number),
            visible_to(actor, ManagementToken))) is not None:
        raise ValidationError(f"{number} is a management token, not a sale; management tokens can't be reversed.",
                              field="number")
    raise NotFound(f"There is no sale numbered {number}.")


def _check_window(ctx: AppContext, actor: Actor, vend: Vend, today: date) -> None:
    if not ctx.settings.reversal_any_station and vend.station_id != actor.station_id:
        raise ValidationError(f"Sale {vend.receipt_number} was made at another sales station; it can be reversed "
                              "only there.", field="number")
    days = ctx.settings.reversal_window_days
    if (today - vend.business_date).days > days:
        window = "on the day of the sale" if days == 0 else f"within {days} day(s) of the sale"
        raise ValidationError(f"Sale {vend.receipt_number} of {vend.business_date.isoformat()} can no longer be "
                              f"reversed: sales are reversed {window}.", field="number")


def preview(ctx: AppContext, actor: Actor, number: str) -> Vend:
    """The sale a reversal would reverse, checked against every rule (nothing recorded); for the screen."""
    actor.require("topup.reverse")
    wanted = clean(number).strip().upper()
    if not wanted:
        raise ValidationError("Enter the receipt or transaction number of the sale.", field="number")
    with ctx.db.read_session() as session:
        vend = _find_sale(session, actor, wanted, lock=False)
        _check_window(ctx, actor, vend, local_date(utcnow(), ctx.settings.zone))
        if vend.reversed_at is not None:
            raise Conflict(f"Sale {vend.receipt_number} is already reversed.")
        session.expunge(vend)
        return vend


def reverse(ctx: AppContext, actor: Actor, number: str, *, reason: str, token_declared_unused: bool,
            request_id: str, payment_password: str) -> ReversalResult:
    """Reverse one sale by its receipt or transaction number; the reversal, after it committed."""
    from stron_tui.services.vending import check_request_id

    actor.require("topup.reverse")
    if actor.user_id is None:
        raise PermissionDenied("Sales are reversed by a supervisor, not through the API.")
    check_request_id(request_id, "reversal")
    wanted = clean(number).strip().upper()
    if not wanted:
        raise ValidationError("Enter the receipt or transaction number of the sale.", field="number")
    why = clean(reason).strip()
    if not why:
        raise ValidationError("Give the reason for the reversal.", field="reason")
    if len(why) > 200:
        raise ValidationError("The reason is longer than 200 characters.", field="reason")
    auth.confirm_payment(ctx, actor, payment_password or "")
    earlier = _earlier(ctx, actor, request_id, wanted)
    if earlier is not None:  # a retry: the first answer, even once the window has closed
        return earlier
    try:
        return _reverse_once(ctx, actor, wanted, why, bool(token_declared_unused), request_id)
    except PermissionDenied:
        raise
    except (IntegrityError, StronError):
        earlier = _earlier(ctx, actor, request_id, wanted)
        if earlier is None:
            raise
        return earlier


def _earlier(ctx: AppContext, actor: Actor, request_id: str, number: str) -> ReversalResult | None:
    """The reversal this operator already recorded under `request_id` (a retry), or None."""
    with ctx.db.read_session() as session:
        found = session.execute(select(Reversal, Vend).join(Vend, Vend.id == Reversal.vend_id)
                                .where(Reversal.operator_id == actor.user_id,
                                       Reversal.request_id == request_id)).first()
        if found is None:
            return None
        reversal, vend = found
        if number not in (vend.receipt_number, vend.transaction_number):
            raise Conflict(f"Request id {request_id} was already used to reverse sale {vend.receipt_number}; "
                           "use a new request id.")
        return _result(reversal, vend)


def _reverse_once(ctx: AppContext, actor: Actor, number: str, reason: str, token_unused: bool,
                  request_id: str) -> ReversalResult:
    now = utcnow()
    today = local_date(now, ctx.settings.zone)
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, "topup.reverse")
        # The sale's row lock: a second reversal (or a reprint reading reversed_at) waits for this one.
        vend = _find_sale(session, actor, number, lock=True)
        if vend.reversed_at is not None:
            raise Conflict(f"Sale {vend.receipt_number} is already reversed; a sale is reversed only once.")
        _check_window(ctx, actor, vend, today)
        placeholder = f"~{uuid.uuid4().hex[:23]}"  # until the row's identity gives the number
        connection = session.connection()
        row = dict(reversal_number=placeholder, request_id=request_id, vend_id=vend.id, created_at=now,
                   business_date=today, source=actor.source, operator_id=actor.user_id, station_id=vend.station_id,
                   reason=reason, token_declared_unused=token_unused, payment_type=vend.payment_type,
                   paid_currency=vend.paid_currency, paid_amount=vend.paid_amount, currency=vend.currency,
                   gross_amount=vend.gross_amount, units=vend.units)
        reversal_id = connection.execute(insert(Reversal.__table__), row).inserted_primary_key[0]
        reversal_number = f"R{reversal_id:010d}"
        connection.execute(update(Reversal.__table__).where(Reversal.__table__.c.id == reversal_id)
                           .values(reversal_number=reversal_number))
        connection.execute(update(Vend.__table__).where(Vend.__table__.c.id == vend.id).values(reversed_at=now))
        # The account first (under the meter's lock), then the day's totals, then the float: the order a sale
        # takes them in, so a reversal and a sale of the same meter never wait on each other in a circle.
        unwind_sale(session, vend, reversal_number=reversal_number, now=now, business_date=today,
                    user_id=actor.user_id)
        record_reversal_in_daily_totals(session, vend, today)
        vendor_floats.give_back_for_reversal(session, receipt_number=vend.receipt_number,
                                             reversal_number=reversal_number, now=now, business_date=today,
                                             user_id=actor.user_id)
        audit.record(session, actor, "vend.reverse", entity="vend", entity_id=vend.transaction_number,
                     summary=f"reversed sale {vend.receipt_number} ({vend.paid_amount} {vend.paid_currency}, "
                             f"meter {vend.meter_number}) as {reversal_number}: {reason}",
                     detail={"reversal": reversal_number, "token_declared_unused": token_unused})
        reversal = session.get(Reversal, reversal_id)
        session.refresh(vend)
        return _result(reversal, vend)
