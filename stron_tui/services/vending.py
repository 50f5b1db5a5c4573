"""Selling credit: find the meter, preview the sale, and vend atomically and idempotently.

One database transaction records the vend (numbers, operator, station,
account, meter, customer, district, tariff snapshot, amounts, units, token,
TID, payment) and moves the meter's last TID forward under the meter's row
lock, so concurrent sales to one meter from any number of stations and
processes get distinct, increasing TIDs. The token is returned only after
that transaction commits. A request id makes a retry return the first
receipt instead of issuing a second token.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import tokencore
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stron_tui.db.models import (
    Account,
    Currency,
    Customer,
    District,
    ExchangeRate,
    Meter,
    PaymentType,
    SalesStation,
    Tariff,
    Vend,
)
from stron_tui.db.queries import for_update, prefix_match
from stron_tui.errors import Conflict, NotFound, ValidationError
from stron_tui.services import audit, auth, tokens
from stron_tui.services.clock import local_date, utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.pricing import Payment, Quote, TariffTerms, parse_decimal, quote_by_amount, quote_by_units
from stron_tui.services.receipts import Receipt, vend_receipt
from stron_tui.services.text import fold

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class PastVend:
    when: str
    receipt_number: str
    amount: Decimal
    currency: str
    units: Decimal
    unit: str
    token: str


@dataclass(frozen=True)
class AccountMatch:
    account_number: str
    meter_number: str
    customer_code: str
    customer_name: str
    utility: str


@dataclass(frozen=True)
class VendTarget:
    """Everything the Top-up Center shows about the chosen meter."""

    account_id: int
    account_number: str
    customer_code: str
    customer_name: str
    customer_address: str
    customer_phone: str
    meter_number: str
    meter_type: str
    meter_status: str
    utility: str
    station_code: str
    district_name: str
    tariff: TariffTerms
    tariff_active: bool
    key_change_pending: bool
    last_vends: tuple[PastVend, ...]


@dataclass(frozen=True)
class VendRequest:
    meter_number: str
    mode: str  # "amount" or "units"
    value: object  # the amount or the units as typed
    currency: str | None = None  # defaults to the tariff's currency
    payment_type: str = "cash"
    request_id: str = ""


def _validate_meter_number(text: str) -> str:
    try:
        return tokencore.validate_drn(text)
    except tokencore.TokenError as error:
        raise ValidationError(str(error), field="meter") from None


def find_accounts(ctx: AppContext, actor: Actor, query: str, limit: int = 8) -> list[AccountMatch]:
    """Type-ahead: open accounts by meter number, account number, customer ID or name prefix."""
    actor.require("topup.vend")
    text = query.strip()
    if not text:
        return []
    key = fold(text)
    digits = text.replace(" ", "")
    # One small index-served query per kind of match, then the matches by meter number. A single query
    # with the conditions OR-ed over three tables scans every open account (seconds at a million meters,
    # on every keystroke of every cashier).
    searches = [(Customer.name_key, key), (Customer.code_key, key), (Account.account_number, key)]
    if digits.isdigit():
        searches.append((Meter.meter_number, digits))
    with ctx.db.read_session() as session:
        ids: set[int] = set()
        for column, value in searches:
            ids.update(session.scalars(
                select(Account.id)
                .join(Meter, Meter.id == Account.meter_id)
                .join(Customer, Customer.id == Account.customer_id)
                .where(Account.status == "open", prefix_match(column, value))
                .order_by(column).limit(limit)))
        if not ids:
            return []
        rows = session.execute(
            select(Account.account_number, Meter.meter_number, Customer.code, Customer.name, Meter.utility)
            .join(Meter, Meter.id == Account.meter_id)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Account.id.in_(sorted(ids)))
            .order_by(Meter.meter_number).limit(limit))
        return [AccountMatch(*row) for row in rows]


def _terms(session: Session, tariff: Tariff) -> TariffTerms:
    minor = session.scalar(select(Currency.minor_unit).where(Currency.code == tariff.currency_code))
    return TariffTerms(
        name=tariff.name, unit=tariff.unit, price_per_unit=tariff.price_per_unit, currency=tariff.currency_code,
        currency_minor_unit=2 if minor is None else minor, vat_rate=tariff.vat_rate,
        excise_rate=tariff.excise_rate, prices_include_vat=tariff.prices_include_vat,
        min_purchase=tariff.min_purchase, max_purchase=tariff.max_purchase,
    )


def _open_account(session: Session, meter: Meter) -> Account:
    account = session.scalar(select(Account).where(Account.meter_id == meter.id, Account.status == "open"))
    if account is None:
        raise ValidationError(
            f"Meter {meter.meter_number} has no open account; open one in Base Data > Account Library.",
            field="meter",
        )
    return account


def _find_meter(session: Session, meter_number: str, *, lock: bool = False) -> Meter:
    query = select(Meter).where(Meter.meter_number == meter_number)
    meter = session.scalar(for_update(query, Meter) if lock else query)
    if meter is None:
        raise NotFound(f"There is no meter {meter_number} in the Meter Library.")
    return meter


def _past_vends(ctx: AppContext, session: Session, meter_id: int, limit: int = 5) -> tuple[PastVend, ...]:
    rows = session.scalars(select(Vend).where(Vend.meter_id == meter_id).order_by(Vend.id.desc()).limit(limit))
    return tuple(
        PastVend(row.created_at.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M"), row.receipt_number,
                 row.gross_amount, row.currency, row.units, row.unit, row.token)
        for row in rows
    )


def load_target(ctx: AppContext, actor: Actor, meter_number: str) -> VendTarget:
    """The meter, its account, customer and tariff, and its last purchases (Refresh reloads this)."""
    actor.require("topup.vend")
    number = _validate_meter_number(meter_number)
    with ctx.db.read_session() as session:
        meter = _find_meter(session, number)
        account = _open_account(session, meter)
        customer = session.get(Customer, account.customer_id)
        tariff = session.get(Tariff, account.tariff_id)
        station = session.get(SalesStation, account.station_id)
        district = session.get(District, station.district_id)
        pending = tokens.configured_key_data(meter) != tokens.installed_key_data(meter) or (
            meter.installed_base_date == 1993 and utcnow() >= tokencore.base_date_end(1993)
        )
        return VendTarget(
            account_id=account.id, account_number=account.account_number, customer_code=customer.code,
            customer_name=customer.name, customer_address=customer.address, customer_phone=customer.phone,
            meter_number=meter.meter_number, meter_type=meter.meter_type, meter_status=meter.status,
            utility=meter.utility, station_code=station.code, district_name=district.name if district else "",
            tariff=_terms(session, tariff), tariff_active=tariff.active, key_change_pending=pending,
            last_vends=_past_vends(ctx, session, meter.id),
        )


def payment_types(ctx: AppContext) -> list[tuple[str, str]]:
    with ctx.db.read_session() as session:
        rows = session.execute(select(PaymentType.code, PaymentType.name).where(PaymentType.active.is_(True))
                               .order_by(PaymentType.sort_order, PaymentType.code))
        return [(code, name) for code, name in rows]


def currencies(ctx: AppContext) -> list[str]:
    with ctx.db.read_session() as session:
        return list(session.scalars(select(Currency.code).where(Currency.active.is_(True)).order_by(Currency.code)))


def _payment(session: Session, currency: str | None, terms: TariffTerms, now: datetime) -> Payment:
    code = (currency or terms.currency).strip().upper()
    row = session.get(Currency, code)
    if row is None or not row.active:
        raise ValidationError(f"{code} is not a currency this system accepts.", field="currency")
    if code == terms.currency:
        return Payment(code, row.minor_unit, Decimal(1))
    rate = session.scalar(
        select(ExchangeRate.rate)
        .where(ExchangeRate.from_currency == code, ExchangeRate.to_currency == terms.currency,
               ExchangeRate.effective_at <= now)
        .order_by(ExchangeRate.effective_at.desc())
        .limit(1)
    )
    if rate is None:
        raise ValidationError(
            f"There is no exchange rate from {code} to {terms.currency}; a supervisor must enter one first.",
            field="currency",
        )
    return Payment(code, row.minor_unit, rate)


def _check_payment_type(session: Session, code: str) -> str:
    row = session.scalar(select(PaymentType).where(PaymentType.code == code))
    if row is None or not row.active:
        raise ValidationError(f"{code!r} is not an active payment type.", field="payment_type")
    return row.code


def _check_sellable(meter: Meter, account: Account, tariff: Tariff) -> None:
    if meter.status != "active":
        raise ValidationError(f"Meter {meter.meter_number} is {meter.status}; only active meters can be sold credit.",
                              field="meter")
    if not tariff.active:
        raise ValidationError(f"Tariff {tariff.name} of account {account.account_number} is retired; "
                              "give the account an active tariff first.", field="meter")
    if meter.utility not in tokens.CREDIT_SUBCLASS:
        raise ValidationError(f"Meter {meter.meter_number} has utility {meter.utility}, which STS credit "
                              "tokens can't carry.", field="meter")


def _quote(request: VendRequest, payment: Payment, terms: TariffTerms) -> Quote:
    if request.mode == "amount":
        return quote_by_amount(parse_decimal(request.value, "amount", "amount"), payment, terms)
    if request.mode == "units":
        return quote_by_units(parse_decimal(request.value, "number of units", "units"), payment, terms)
    raise ValidationError(f"Unknown top-up mode {request.mode!r}; use amount or units.", field="mode")


def preview(ctx: AppContext, actor: Actor, request: VendRequest) -> Quote:
    """The breakdown the cashier confirms; nothing is recorded."""
    actor.require("topup.vend")
    number = _validate_meter_number(request.meter_number)
    with ctx.db.read_session() as session:
        meter = _find_meter(session, number)
        account = _open_account(session, meter)
        tariff = session.get(Tariff, account.tariff_id)
        _check_sellable(meter, account, tariff)
        _check_payment_type(session, request.payment_type)
        terms = _terms(session, tariff)
        return _quote(request, _payment(session, request.currency, terms, utcnow()), terms)


def _same_sale(vend: Vend, request: VendRequest, number: str) -> bool:
    if vend.meter_number != number or vend.mode != request.mode or vend.payment_type != request.payment_type:
        return False
    try:
        value = Decimal(str(request.value).strip().replace(",", ""))
    except ArithmeticError:
        return False
    return value == (vend.paid_amount if request.mode == "amount" else vend.units)


def _existing(ctx: AppContext, session: Session, request: VendRequest, number: str) -> Receipt | None:
    vend = session.scalar(select(Vend).where(Vend.request_id == request.request_id))
    if vend is None:
        return None
    if not _same_sale(vend, request, number):
        raise Conflict(f"Request id {request.request_id} was already used for a different sale "
                       f"(receipt {vend.receipt_number}).")
    return vend_receipt(ctx, session, vend)


def vend(ctx: AppContext, actor: Actor, request: VendRequest, *, payment_password: str | None = None) -> Receipt:
    """Sell credit. Returns the receipt (with the token) after the sale has committed.

    Operators confirm with their payment password (wrong ones count toward
    the lockout); API accounts authenticate with their key instead.
    """
    actor.require("topup.vend")
    if not REQUEST_ID.match(request.request_id or ""):
        raise ValidationError("Each sale needs a request id of 8 to 64 letters, digits or . _ : -.",
                              field="request_id")
    number = _validate_meter_number(request.meter_number)
    if actor.api_account_id is None:
        # A retried sale is found again under the meter lock below, so no separate look-up first.
        auth.confirm_payment(ctx, actor, payment_password or "")
    try:
        return _vend_once(ctx, actor, request, number)
    except IntegrityError:
        # A concurrent retry with the same request id committed first: return its receipt.
        with ctx.db.read_session() as session:
            earlier = _existing(ctx, session, request, number)
        if earlier is None:
            raise
        return earlier


def _vend_once(ctx: AppContext, actor: Actor, request: VendRequest, number: str) -> Receipt:
    with ctx.db.session() as session:
        meter = _find_meter(session, number, lock=True)
        # Under the lock, a retry that raced us has either committed or not started.
        earlier = _existing(ctx, session, request, number)
        if earlier is not None:
            return earlier
        # The account with its tariff and customer in one round trip.
        found = session.execute(
            select(Account, Tariff, Customer)
            .join(Tariff, Tariff.id == Account.tariff_id)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Account.meter_id == meter.id, Account.status == "open")
        ).first()
        if found is None:
            _open_account(session, meter)  # raises the clear message
        account, tariff, customer = found
        _check_sellable(meter, account, tariff)
        payment_type = _check_payment_type(session, request.payment_type)
        terms = _terms(session, tariff)
        now = utcnow()
        quote = _quote(request, _payment(session, request.currency, terms, now), terms)
        station = session.get(SalesStation, actor.station_id or account.station_id)

        state = tokens.prepare_meter_key(ctx, session, meter, now)
        tid = tokens.next_tid(state, now)
        try:
            credit = tokencore.credit_token(state.cipher, state.key_data, tokens.CREDIT_SUBCLASS[meter.utility],
                                            quote.units, tid)
        except tokencore.TokenError as error:
            raise ValidationError(str(error), field=quote.mode) from None
        tokens.commit_meter_key(meter, state, tid, now)

        row = Vend(
            transaction_number=f"~{request.request_id}"[:24], receipt_number=f"~{request.request_id}"[:24],
            request_id=request.request_id, created_at=now, business_date=local_date(now, ctx.settings.zone),
            source=actor.source, operator_id=actor.user_id, api_account_id=actor.api_account_id,
            station_id=station.id, district_id=station.district_id, account_id=account.id,
            customer_id=customer.id, meter_id=meter.id, meter_number=meter.meter_number, tariff_id=tariff.id,
            tariff_name=tariff.name, utility=meter.utility, unit=tariff.unit, price_per_unit=tariff.price_per_unit,
            vat_rate=tariff.vat_rate, excise_rate=tariff.excise_rate, prices_include_vat=tariff.prices_include_vat,
            mode=quote.mode, payment_type=payment_type, paid_currency=quote.paid_currency,
            paid_amount=quote.paid_amount, exchange_rate=quote.exchange_rate, currency=quote.currency,
            gross_amount=quote.gross, vat_amount=quote.vat, excise_amount=quote.excise, net_amount=quote.net,
            units=credit.units, token=credit.token, tid=tid, key_change_tokens=" ".join(state.key_change_tokens),
        )
        session.add(row)
        session.flush()
        # Numbers come from the row's identity: unique across hosts, no shared counter to lock.
        row.transaction_number = f"V{row.id:010d}"
        row.receipt_number = f"{station.code}-{row.id:08d}"[:24]
        audit.record(session, actor, "vend", entity="vend", entity_id=row.transaction_number,
                     summary=f"sold {credit.units} {tariff.unit} for {quote.gross} {quote.currency} to meter "
                             f"{meter.meter_number}",
                     detail={"receipt": row.receipt_number, "meter": meter.meter_number, "gross": quote.gross,
                             "units": credit.units, "tid": tid, "payment_type": payment_type,
                             "key_change": bool(state.key_change_tokens)})
        session.flush()
        receipt = vend_receipt(ctx, session, row)
        # Last, just before commit: the day's totals row is shared by every sale of a station
        # and payment type, so its row lock is held for as short a time as possible.
        _record_daily_totals(session, row)
        session.flush()
        return receipt


def _record_daily_totals(session: Session, row: Vend) -> None:
    """Keep the reports' daily aggregates in the vend's own transaction, when reports keep them."""
    try:
        from stron_tui.services.reports import record_vend_in_daily_totals
    except ImportError:
        return
    record_vend_in_daily_totals(session, row)
