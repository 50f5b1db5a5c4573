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
from types import SimpleNamespace
from datetime import datetime
from decimal import Decimal

import tokencore
from sqlalchemy import Integer, Unicode, and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stron_tui.db.models import (
    Account,
    AuditEntry,
    Currency,
    Customer,
    District,
    ExchangeRate,
    Meter,
    PaymentType,
    SalesStation,
    Tariff,
    Vend,
    VendingKey,
)
from stron_tui.db.queries import for_update, prefix_match
from stron_tui.errors import Conflict, NotFound, StronError, ValidationError
from stron_tui.money import in_minor_unit
from stron_tui.services import audit, auth, tokens
from stron_tui.services.clock import local_date, utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.pricing import Payment, Quote, TariffTerms, parse_decimal, quote_by_amount, quote_by_units
from stron_tui.services.receipts import Receipt, _minor_unit, build_vend_receipt, vend_receipt
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
    return _terms_of(tariff, session.scalar(select(Currency.minor_unit).where(Currency.code == tariff.currency_code)))


def _terms_of(tariff, minor: int | None) -> TariffTerms:
    """The tariff's terms; `tariff` is a Tariff or a row with its column names."""
    return TariffTerms(
        name=tariff.name, unit=tariff.unit, price_per_unit=tariff.price_per_unit, currency=tariff.currency_code,
        currency_minor_unit=2 if minor is None else minor, vat_rate=tariff.vat_rate,
        excise_rate=tariff.excise_rate, prices_include_vat=tariff.prices_include_vat,
        min_purchase=tariff.min_purchase, max_purchase=tariff.max_purchase,
    )


def _open_account(session: Session, meter: Meter) -> Account:
    account = session.scalar(select(Account).where(Account.meter_id == meter.id, Account.status == "open"))
    if account is None:
        raise _no_open_account(meter.meter_number)
    return account


def _no_open_account(meter_number: str) -> ValidationError:
    return ValidationError(f"Meter {meter_number} has no open account; open one in Base Data > Account Library.",
                           field="meter")


def _no_such_meter(meter_number: str) -> NotFound:
    return NotFound(f"There is no meter {meter_number} in the Meter Library.")


def _find_meter(session: Session, meter_number: str) -> Meter:
    meter = session.scalar(select(Meter).where(Meter.meter_number == meter_number))
    if meter is None:
        raise _no_such_meter(meter_number)
    return meter


def _past_vends(ctx: AppContext, session: Session, meter_id: int, limit: int = 5) -> tuple[PastVend, ...]:
    rows = session.scalars(select(Vend).where(Vend.meter_id == meter_id).order_by(Vend.id.desc()).limit(limit))
    return tuple(
        PastVend(row.created_at.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M"), row.receipt_number,
                 in_minor_unit(row.gross_amount, _minor_unit(session, row.currency)), row.currency, row.units,
                 row.unit, row.token)
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


def _paid_currency_code(currency: str | None, terms: TariffTerms) -> str:
    return (currency or terms.currency).strip().upper()


def _payment(session: Session, currency: str | None, terms: TariffTerms, now: datetime) -> Payment:
    code = _paid_currency_code(currency, terms)
    return _payment_in(session, code, session.get(Currency, code), terms, now)


def _payment_in(session: Session, code: str, row, terms: TariffTerms, now: datetime) -> Payment:
    """`row`: the paid currency's Currency row (or its minor_unit and active), None if unknown."""
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
    return _active_payment_type(code, row is not None and row.active)


def _active_payment_type(code: str, active: bool | None) -> str:
    if not active:
        raise ValidationError(f"{code!r} is not an active payment type.", field="payment_type")
    return code


def _check_sellable(meter: Meter, account_number: str, tariff_name: str, tariff_active: bool) -> None:
    if meter.status != "active":
        raise ValidationError(f"Meter {meter.meter_number} is {meter.status}; only active meters can be sold credit.",
                              field="meter")
    if not tariff_active:
        raise ValidationError(f"Tariff {tariff_name} of account {account_number} is retired; "
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
        _check_sellable(meter, account.account_number, tariff.name, tariff.active)
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
    except (IntegrityError, StronError):
        # A retry of a sale that committed (before, or concurrently: the unique request id refused this
        # one) returns that sale's receipt, even if the meter or tariff has changed since.
        with ctx.db.read_session() as session:
            earlier = _existing(ctx, session, request, number)
        if earlier is None:
            raise
        return earlier


def _sale_facts_statement():
    """Everything a sale reads, in one statement that also locks the meter's row.

    The meter (all its columns, by their names), its open account, the
    account's customer and tariff, the selling station (the operator's, else
    the account's), the tariff's and the paid currency, the payment type and
    the vending key the meter holds. Outer joins, so a missing piece becomes a
    clear message instead of no row.
    """
    meter, account, tariff, customer = (Meter.__table__, Account.__table__, Tariff.__table__, Customer.__table__)
    station, payment_type, key = SalesStation.__table__, PaymentType.__table__, VendingKey.__table__
    tariff_currency, paid_currency = Currency.__table__.alias("tariff_currency"), Currency.__table__.alias("paid")
    station_id = func.coalesce(bindparam("actor_station_id", type_=Integer), account.c.station_id)
    query = (
        select(
            meter,
            account.c.id.label("account_id"), account.c.account_number, account.c.customer_id,
            account.c.tariff_id,
            tariff.c.name, tariff.c.unit, tariff.c.price_per_unit, tariff.c.currency_code, tariff.c.vat_rate,
            tariff.c.excise_rate, tariff.c.prices_include_vat, tariff.c.min_purchase, tariff.c.max_purchase,
            tariff.c.active.label("tariff_active"), tariff_currency.c.minor_unit.label("currency_minor_unit"),
            customer.c.code.label("customer_code"), customer.c.name.label("customer_name"),
            station.c.id.label("station_id"), station.c.code.label("station_code"),
            station.c.name.label("station_name"), station.c.district_id, station.c.receipt_width,
            paid_currency.c.minor_unit.label("paid_minor_unit"), paid_currency.c.active.label("paid_active"),
            payment_type.c.name.label("payment_name"), payment_type.c.active.label("payment_type_active"),
            key.c.sgc.label("key_sgc"), key.c.krn.label("key_krn"), key.c.dkga.label("key_dkga"),
            key.c.active.label("key_active"), key.c.nonce.label("key_nonce"),
            key.c.ciphertext.label("key_ciphertext"),
        )
        .select_from(meter)
        .outerjoin(account, and_(account.c.meter_id == meter.c.id, account.c.status == "open"))
        .outerjoin(tariff, tariff.c.id == account.c.tariff_id)
        .outerjoin(customer, customer.c.id == account.c.customer_id)
        .outerjoin(station, station.c.id == station_id)
        .outerjoin(tariff_currency, tariff_currency.c.code == tariff.c.currency_code)
        .outerjoin(paid_currency, paid_currency.c.code == func.coalesce(bindparam("paid_currency", type_=Unicode),
                                                                       tariff.c.currency_code))
        .outerjoin(payment_type, payment_type.c.code == bindparam("payment_type", type_=Unicode))
        .outerjoin(key, and_(key.c.sgc == meter.c.installed_sgc, key.c.krn == meter.c.installed_krn))
        .where(meter.c.meter_number == bindparam("meter_number", type_=Unicode))
    )
    return for_update(query, meter)


_SALE_FACTS = _sale_facts_statement()
# The columns to set come with the parameters (see tokens.meter_key_changes).
_UPDATE_LOCKED_METER = update(Meter.__table__).where(Meter.__table__.c.id == bindparam("locked_meter_id"))
_SET_VEND_NUMBERS = (
    update(Vend.__table__)
    .where(Vend.__table__.c.id == bindparam("vend_id"))
    .values(transaction_number=bindparam("new_transaction_number"), receipt_number=bindparam("new_receipt_number"))
)


def _installed_key_row(facts) -> SimpleNamespace | None:
    if facts.key_sgc is None:
        return None
    return SimpleNamespace(sgc=facts.key_sgc, krn=facts.key_krn, dkga=facts.key_dkga, active=facts.key_active,
                           nonce=facts.key_nonce, ciphertext=facts.key_ciphertext)


def _actor_label(actor: Actor) -> str:
    """The operator line of a receipt, as vend_receipt shows it for a recorded vend."""
    return f"API {actor.name}" if actor.api_account_id is not None else actor.user_code


def _vend_once(ctx: AppContext, actor: Actor, request: VendRequest, number: str) -> Receipt:
    # Few round trips and Core statements: a sale holds its meter's row lock from the first statement to
    # the commit, so every statement saved here is lock time saved for the next sale to the same meter.
    # A retried request id is caught by the unique index on vends.request_id (vend() then returns the
    # first receipt), so there is no look-up before the sale.
    with ctx.db.session() as session:
        connection = session.connection()
        paid = request.currency.strip().upper() if request.currency else None
        facts = connection.execute(_SALE_FACTS, {
            "meter_number": number, "actor_station_id": actor.station_id, "paid_currency": paid,
            "payment_type": request.payment_type}).first()
        if facts is None:
            raise _no_such_meter(number)
        if facts.account_id is None:
            raise _no_open_account(number)
        _check_sellable(facts, facts.account_number, facts.name, facts.tariff_active)
        payment_type = _active_payment_type(request.payment_type, facts.payment_type_active)
        if facts.station_id is None:
            raise ValidationError("Your sales station is no longer in the Sales Station Library; "
                                  "ask a supervisor to assign you one.", field="meter")
        terms = _terms_of(facts, facts.currency_minor_unit)
        now = utcnow()
        paid_code = terms.currency if paid is None else paid
        paid_row = None if facts.paid_minor_unit is None else SimpleNamespace(
            minor_unit=facts.paid_minor_unit, active=facts.paid_active)
        quote = _quote(request, _payment_in(session, paid_code, paid_row, terms, now), terms)

        state = tokens.prepare_meter_key(ctx, session, facts, now, installed_key_row=_installed_key_row(facts))
        tid = tokens.next_tid(state, now)
        try:
            credit = tokencore.credit_token(state.cipher, state.key_data, tokens.CREDIT_SUBCLASS[facts.utility],
                                            quote.units, tid)
        except tokencore.TokenError as error:
            raise ValidationError(str(error), field=quote.mode) from None

        sale = dict(
            transaction_number=f"~{request.request_id}"[:24], receipt_number=f"~{request.request_id}"[:24],
            request_id=request.request_id, created_at=now, business_date=local_date(now, ctx.settings.zone),
            source=actor.source, operator_id=actor.user_id, api_account_id=actor.api_account_id,
            station_id=facts.station_id, district_id=facts.district_id, account_id=facts.account_id,
            customer_id=facts.customer_id, meter_id=facts.id, meter_number=facts.meter_number,
            tariff_id=facts.tariff_id, tariff_name=facts.name, utility=facts.utility, unit=facts.unit,
            price_per_unit=facts.price_per_unit, vat_rate=facts.vat_rate, excise_rate=facts.excise_rate,
            prices_include_vat=facts.prices_include_vat, mode=quote.mode, payment_type=payment_type,
            paid_currency=quote.paid_currency, paid_amount=quote.paid_amount, exchange_rate=quote.exchange_rate,
            currency=quote.currency, gross_amount=quote.gross, vat_amount=quote.vat, excise_amount=quote.excise,
            net_amount=quote.net, units=credit.units, token=credit.token, tid=tid,
            key_change_tokens=" ".join(state.key_change_tokens),
        )
        vend_id = connection.execute(insert(Vend.__table__), sale).inserted_primary_key[0]
        # Numbers come from the row's identity: unique across hosts, no shared counter to lock.
        sale.update(id=vend_id, transaction_number=f"V{vend_id:010d}",
                    receipt_number=f"{facts.station_code}-{vend_id:08d}"[:24])
        connection.execute(_SET_VEND_NUMBERS, {"vend_id": vend_id,
                                               "new_transaction_number": sale["transaction_number"],
                                               "new_receipt_number": sale["receipt_number"]})
        connection.execute(_UPDATE_LOCKED_METER,
                           {"locked_meter_id": facts.id, **tokens.meter_key_changes(facts, state, tid, now)})
        connection.execute(insert(AuditEntry.__table__), audit.entry_values(
            actor, "vend", entity="vend", entity_id=sale["transaction_number"],
            summary=f"sold {credit.units} {facts.unit} for {quote.gross} {quote.currency} to meter {number}",
            detail={"receipt": sale["receipt_number"], "meter": number, "gross": quote.gross,
                    "units": credit.units, "tid": tid, "payment_type": payment_type,
                    "key_change": bool(state.key_change_tokens)}))
        recorded = SimpleNamespace(**sale)
        receipt = build_vend_receipt(
            ctx, recorded, station=SimpleNamespace(code=facts.station_code, name=facts.station_name,
                                                   receipt_width=facts.receipt_width),
            customer_code=facts.customer_code, customer_name=facts.customer_name,
            account_number=facts.account_number, operator=_actor_label(actor), payment_name=facts.payment_name,
            currency_places=terms.currency_minor_unit, paid_places=facts.paid_minor_unit)
        # Last, just before commit: the day's totals row is shared by every sale of a station
        # and payment type, so its row lock is held for as short a time as possible.
        _record_daily_totals(session, recorded)
    return receipt


def _record_daily_totals(session: Session, row) -> None:
    """Keep the reports' daily aggregates in the vend's own transaction, when reports keep them."""
    try:
        from stron_tui.services.reports import record_vend_in_daily_totals
    except ImportError:
        return
    record_vend_in_daily_totals(session, row)
