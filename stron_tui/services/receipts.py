"""Receipts: the facts printed for the customer, rebuilt from the stored rows.

A receipt is never stored as text: it is built from the vend or management
token row, so a reprint shows exactly what was sold, marked as a reprint.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from stron_tui.db.models import (
    Account,
    ApiAccount,
    Currency,
    Customer,
    ManagementToken,
    PaymentType,
    ReceiptPrint,
    Reversal,
    SalesStation,
    User,
    Vend,
)
from stron_tui.db.queries import contains_match
from stron_tui.domain.receipt import Receipt
from stron_tui.domain.operators import operator_label
from stron_tui.errors import NotFound
from stron_tui.money import in_minor_unit
from stron_tui.services import audit
from stron_tui.domain.clock import local_date, utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.management_kinds import KINDS
from stron_tui.services import live_rights
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.scope import record_limit, visible_to
from stron_tui.services.revenue import block_lines_of

if TYPE_CHECKING:
    from stron_tui.exports.receipts import PrintOutcome


def _operator_label(session: Session, operator_id: int | None, api_account_id: int | None) -> str:
    if operator_id is not None:
        user = session.get(User, operator_id)
        return operator_label(user.user_code if user else str(operator_id))
    account = session.get(ApiAccount, api_account_id) if api_account_id is not None else None
    return operator_label(None, account.name if account else None)


def currency_minor_unit(session: Session, currency: str) -> int:
    """Decimal places of a currency (2 for one no longer configured)."""
    row = session.get(Currency, currency)
    return 2 if row is None else row.minor_unit


def _in_minor_unit(amount: Decimal, places: int) -> Decimal:
    """Amounts are stored with four places; a receipt shows the currency's own minor unit."""
    return in_minor_unit(amount, places)


def vend_receipt(ctx: AppContext, session: Session, vend: Vend) -> Receipt:
    """The receipt of a recorded vend (reprints, look-ups, a retried request)."""
    customer = session.get(Customer, vend.customer_id)
    receipt = build_vend_receipt(
        ctx, vend, station=session.get(SalesStation, vend.station_id), customer_code=customer.code,
        customer_name=customer.name, account_number=session.get(Account, vend.account_id).account_number,
        operator=_operator_label(session, vend.operator_id, vend.api_account_id),
        payment_name=session.scalar(select(PaymentType.name).where(PaymentType.code == vend.payment_type)),
        currency_places=currency_minor_unit(session, vend.currency),
        paid_places=currency_minor_unit(session, vend.paid_currency),
        blocks=block_lines_of(session, vend.id),
    )
    if vend.reversed_at is not None:
        receipt = replace(receipt, reversed_by=session.scalar(
            select(Reversal.reversal_number).where(Reversal.vend_id == vend.id)) or "reversed")
    return receipt


def build_vend_receipt(ctx: AppContext, vend, *, station, customer_code: str, customer_name: str,
                       account_number: str, operator: str, payment_name: str | None, currency_places: int,
                       paid_places: int, blocks: tuple = ()) -> Receipt:
    """A vend's receipt from its columns (a Vend or a row with the same names) and the names it shows."""
    return Receipt(
        kind="vend",
        title=f"{vend.utility.upper()} CREDIT",
        utility_name=ctx.settings.utility_name,
        station_code=station.code,
        station_name=station.name,
        receipt_number=vend.receipt_number,
        transaction_number=vend.transaction_number,
        issued_at=vend.created_at,
        local_time=vend.created_at.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M"),
        operator=operator,
        customer_code=customer_code,
        customer_name=customer_name,
        account_number=account_number,
        meter_number=vend.meter_number,
        token=vend.token,
        key_change_tokens=tuple(t for t in vend.key_change_tokens.split() if t),
        tariff_name=vend.tariff_name,
        utility=vend.utility,
        unit=vend.unit,
        currency=vend.currency,
        gross=_in_minor_unit(vend.gross_amount, currency_places),
        vat=_in_minor_unit(vend.vat_amount, currency_places),
        excise=_in_minor_unit(vend.excise_amount, currency_places),
        net=_in_minor_unit(vend.net_amount, currency_places),
        units=vend.units,
        price_per_unit=vend.price_per_unit,
        paid_amount=_in_minor_unit(vend.paid_amount, paid_places),
        paid_currency=vend.paid_currency,
        exchange_rate=vend.exchange_rate,
        payment_type=payment_name or vend.payment_type,
        tid=vend.tid,
        receipt_width=station.receipt_width,
        debt_recovered=_in_minor_unit(vend.debt_recovered or Decimal(0), currency_places),
        debt_after=_in_minor_unit(vend.debt_after or Decimal(0), currency_places),
        fixed_charge=_in_minor_unit(vend.fixed_charge or Decimal(0), currency_places),
        fixed_charge_months=vend.fixed_charge_months or 0,
        energy=None if vend.energy_amount is None else _in_minor_unit(vend.energy_amount, currency_places),
        blocks=tuple(replace(line, amount=_in_minor_unit(line.amount, currency_places)) for line in blocks),
        free_units=vend.free_units or Decimal(0),
        free_token=vend.free_token or "",
        subsidy=_in_minor_unit(vend.subsidy_amount or Decimal(0), currency_places),
    )


def management_receipt(ctx: AppContext, session: Session, row: ManagementToken) -> Receipt:
    """The receipt of a recorded management token (records, look-ups, a retried request)."""
    customer = session.get(Customer, row.customer_id) if row.customer_id else None
    account = session.get(Account, row.account_id) if row.account_id else None
    return build_management_receipt(
        ctx, row, station=session.get(SalesStation, row.station_id),
        customer_code=customer.code if customer else "", customer_name=customer.name if customer else "",
        account_number=account.account_number if account else "",
        operator=_operator_label(session, row.operator_id, row.api_account_id))


def build_management_receipt(ctx: AppContext, row, *, station, customer_code: str, customer_name: str,
                             account_number: str, operator: str) -> Receipt:
    """A management token's receipt from its columns (a ManagementToken or a row with the same names)."""
    tokens = row.token.split()
    kind = KINDS.get(row.kind)  # a kind no longer offered still prints from its record
    key_changes_only = kind is not None and kind.key_changes_only
    return Receipt(
        kind=row.kind,
        title=kind.receipt_title if kind else row.kind.replace("_", " ").upper(),
        utility_name=ctx.settings.utility_name,
        station_code=station.code,
        station_name=station.name,
        receipt_number=row.receipt_number,
        transaction_number=row.transaction_number,
        issued_at=row.created_at,
        local_time=row.created_at.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M"),
        operator=operator,
        customer_code=customer_code,
        customer_name=customer_name,
        account_number=account_number,
        meter_number=row.meter_number,
        token=tokens[-1] if not key_changes_only else "",
        key_change_tokens=tuple(t for t in row.key_change_tokens.split() if t)
        + (tuple(tokens) if key_changes_only else ()),
        detail=kind.receipt_detail(row) if kind else "",
        reason=row.reason,
        tid=row.tid,
        receipt_width=station.receipt_width,
    )


def find_receipt(ctx: AppContext, session: Session, actor: Actor, number: str) -> Receipt:
    """By receipt number or transaction number, among the records the actor may see (scope.visible_to):
    another station's or partner's receipt is "no receipt", like a number never issued."""
    number = number.strip().upper()
    vend = session.scalar(select(Vend).where((Vend.receipt_number == number) | (Vend.transaction_number == number),
                                             visible_to(actor, Vend)))
    if vend is not None:
        return vend_receipt(ctx, session, vend)
    row = session.scalar(
        select(ManagementToken).where(
            (ManagementToken.receipt_number == number) | (ManagementToken.transaction_number == number),
            visible_to(actor, ManagementToken),
        )
    )
    if row is not None:
        return management_receipt(ctx, session, row)
    raise NotFound(f"There is no receipt or transaction numbered {number}.")


def reprint_receipt(ctx: AppContext, actor: Actor, number: str) -> Receipt:
    """A past receipt again, marked as a reprint and audited; never a new token."""
    actor.require("topup.reprint")
    with ctx.db.session() as session:
        live_rights.require_live(session, actor, "topup.reprint")
        receipt = find_receipt(ctx, session, actor, number)
        now = utcnow()
        session.add(ReceiptPrint(receipt_number=receipt.receipt_number, created_at=now,
                                 business_date=local_date(now, ctx.settings.zone), operator_id=actor.user_id,
                                 api_account_id=actor.api_account_id, station_id=actor.station_id,
                                 source=actor.source))
        audit.record(session, actor, "receipt.reprint", entity="receipt", entity_id=receipt.receipt_number,
                     summary=f"reprinted receipt {receipt.receipt_number} for meter {receipt.meter_number}")
        return receipt.as_reprint()


def lookup_receipt(ctx: AppContext, actor: Actor, number: str) -> Receipt:
    """Show a past receipt (no reprint recorded): for reports, records and the API."""
    if not any(actor.can(code) for code in ("topup.reprint", "reports.view", "exceptions.records")):
        actor.require("reports.view")
    with ctx.db.read_session() as session:
        return find_receipt(ctx, session, actor, number)


def recent_receipts(ctx: AppContext, actor: Actor, limit: int = 5, *, number: str = "") -> list[Receipt]:
    """The operator's own last sales at their station, newest first (shown after login and after each
    sale, e.g. after a dropped link); `number`: only those whose receipt or transaction number holds it."""
    query = _own_receipts(actor, number)
    # (operator, business date) is indexed: the newest days come first without sorting every sale.
    query = query.order_by(Vend.business_date.desc(), Vend.id.desc()).limit(limit)
    with ctx.db.read_session() as session:
        return [vend_receipt(ctx, session, vend) for vend in session.scalars(query)]


RECEIPT_COUNT_LIMIT = 1000  # own receipts counted for "8 of 40"; beyond it "more than 1,000"


def count_recent_receipts(ctx: AppContext, actor: Actor, *, number: str = "",
                          up_to: int = RECEIPT_COUNT_LIMIT) -> int:
    """How many receipts `recent_receipts` could list for `number`, counted up to `up_to` + 1 (more means
    "more than up_to")."""
    query = _own_receipts(actor, number).with_only_columns(Vend.id).limit(up_to + 1)
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(query.subquery()))


def recent_receipts_counted(ctx: AppContext, actor: Actor, limit: int, number: str = "") -> tuple[list[Receipt], int]:
    """`recent_receipts` and how many there are in all ("8 of 40"): counted only when the list is cut."""
    receipts = recent_receipts(ctx, actor, limit, number=number)
    total = count_recent_receipts(ctx, actor, number=number) if len(receipts) == limit else len(receipts)
    return receipts, total


def _own_receipts(actor: Actor, number: str):
    actor.require("topup.reprint")
    part = number.strip().upper()
    query = select(Vend).where(visible_to(actor, Vend))
    if actor.user_id is not None:
        query = query.where(Vend.operator_id == actor.user_id)
    else:
        query = query.where(Vend.api_account_id == actor.api_account_id)
    if actor.station_id is not None:
        query = query.where(Vend.station_id == actor.station_id)
    if part:
        query = query.where(or_(contains_match(Vend.receipt_number, part),
                                contains_match(Vend.transaction_number, part)))
    return query


# Copies of a receipt a screen holds: saved as files or sent to the station's printer, audited -----------


def _require_copy(session: Session, actor: Actor, receipt: Receipt) -> None:
    """Only someone who may hold receipts takes a copy, and only of their own station's (or their own);
    another station's receipt is "no receipt", as in every look-up."""
    if not (any(actor.can(code) for code in ("topup.vend", "topup.reprint", "reports.view", "exceptions.records"))
            or actor.can_use_module("exceptions")):
        actor.require("topup.reprint")
    live_rights.require_live(session, actor, None)
    limit = record_limit(actor)
    if limit.everything:
        return
    if limit.api_account_id is not None:
        own = receipt.operator == operator_label(None, actor.name)
    else:
        station_code = session.scalar(select(SalesStation.code).where(SalesStation.id == limit.station_id))
        own = receipt.operator == operator_label(actor.user_code) or (
            station_code is not None and receipt.station_code == station_code)
    if not own:
        raise NotFound(f"There is no receipt or transaction numbered {receipt.receipt_number}.")


def _record_copy(ctx: AppContext, actor: Actor, receipt: Receipt, action: str, how: str) -> None:
    copy = "reprint of receipt" if receipt.reprint else "receipt"
    with ctx.db.session() as session:
        audit.record(session, actor, action, entity="receipt", entity_id=receipt.receipt_number,
                     summary=f"{copy} {receipt.receipt_number} for meter {receipt.meter_number} {how}")


def save_receipt(ctx: AppContext, actor: Actor, receipt: Receipt) -> list[Path]:
    """The receipt saved as 40- and 80-column text and as PDF in the operator's export directory, audited."""
    from stron_tui.exports.receipts import save_receipt as write_receipt_files

    with ctx.db.read_session() as session:
        _require_copy(session, actor, receipt)
    paths = write_receipt_files(ctx.settings, receipt, actor.user_id)
    _record_copy(ctx, actor, receipt, "receipt.save", f"saved as {len(paths)} files")
    return paths


def print_receipt(ctx: AppContext, actor: Actor, receipt: Receipt, *, terminal: Callable[[str], None] | None,
                  remote: bool, key_fingerprint: str = "") -> PrintOutcome:
    """Print where the session prints through its terminal (the SSH key it logged in with decides, else the
    operator's station), else save the receipt and say where (exports.receipts.print_or_save); either way
    audited."""
    from stron_tui.exports.receipts import print_or_save
    from stron_tui.services.stations import session_printing

    with ctx.db.read_session() as session:
        _require_copy(session, actor, receipt)
    printing, decided_by = session_printing(ctx, actor.station_id, key_fingerprint)
    outcome = print_or_save(ctx.settings, receipt, printing=printing, decided_by=decided_by,
                            terminal=terminal, user_id=actor.user_id, remote=remote)
    if outcome.sent_to_printer:
        _record_copy(ctx, actor, receipt, "receipt.print", "sent to the station's printer")
    else:
        _record_copy(ctx, actor, receipt, "receipt.save", f"saved as {len(outcome.paths)} files (no printer)")
    return outcome
