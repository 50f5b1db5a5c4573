"""Selling credit: find the meter, preview the sale, and vend atomically and idempotently.

One sale path. Preview, vend, management tokens and the API read the
meter, open account, customer, tariff (and its version), station, currency,
payment type, vending key, the acting operator's row and open shift and the
seller's float through ONE loader
(`load_sale_facts`, one statement, with or without the meter's row lock)
into ONE frozen dataclass (`SaleFacts`); and every token, credit or
management, is issued through ONE function (`issue_token`) that takes the
meter lock, moves the TID, records the token, the audit row and the totals,
and returns the receipt. Request ids, placeholder numbers, audit and retry
live there once. What differs per kind of token is a small `TokenOrder`
(`CreditOrder` here, `management.ManagementOrder`).

The token is returned only after its transaction commits. A request id
(idempotency key) belongs to its caller (operator or API account): a retry
of the same request returns the first receipt, the same id with any other
field is a Conflict, and another caller's id is just another id.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone, tzinfo
from decimal import Decimal
from types import SimpleNamespace
from typing import Protocol

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
    VendorFloat,
)
from stron_tui.db.queries import chunked, for_update, prefix_match
from stron_tui.errors import Conflict, NotFound, PermissionDenied, StronError, ValidationError
from stron_tui.money import in_minor_unit
from stron_tui.services import audit, auth, shifts, tokens, vendor_floats
from stron_tui.domain.clock import local_date, utcnow
from stron_tui.services.context import AppContext
from stron_tui.services import live_rights
from stron_tui.services.permissions import Actor
from stron_tui.services.pricing import (
    Payment,
    Quote,
    TariffTerms,
    check_revenue_sale,
    encodable_down,
    parse_decimal,
    revenue_by_amount,
    revenue_by_units,
)
from stron_tui.services import revenue
from stron_tui.domain.receipt import Receipt
from stron_tui.domain.meters import meter_number as valid_meter_number
from stron_tui.domain.operators import operator_label
from stron_tui.services.receipts import build_vend_receipt, currency_minor_unit, vend_receipt
from stron_tui.domain.text import fold, plain

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


class PriceChanged(Conflict):
    """The sale no longer matches its preview (request edited, tariff or rate changed): preview again."""

    code = "price_changed"


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
    quote_id: str = ""  # the preview's Quote.quote_id: the sale must be that sale at that price
    send_token: bool = False  # also send the token to the customer's consented phone / mailbox


NAME_SCAN_LIMIT = 200  # candidate names a word search reads before it stops (see find_accounts)
# Letters that carry accents in customers' names: in the word search they match any one character,
# and Python then compares the names without accents (no SQL function does that on every backend).
_ACCENTED_LETTERS = frozenset("aceginorsuyz")


def _name_has_words(name: str, words: list[str]) -> bool:
    """Every typed word starts a word of the name, accents and case aside."""
    name_words = plain(name).split()
    return all(any(part.startswith(word) for part in name_words) for word in words)


def _word_pattern(word: str, loose: bool) -> str:
    """A LIKE pattern for a name holding `word`; `loose` lets accent-prone letters match any character."""
    escaped = "".join("\\" + ch if ch in "\\%_" else ("_" if loose and ch in _ACCENTED_LETTERS else ch)
                      for ch in word)
    return f"%{escaped}%"


@dataclass(frozen=True)
class AccountSearch:
    matches: list[AccountMatch]  # the first `limit`, by meter number
    total: int  # open accounts matching, counted up to the search's count limit
    more: bool  # there are more than `total` (the count stopped there)


def find_accounts(ctx: AppContext, actor: Actor, query: str, limit: int = 8) -> list[AccountMatch]:
    """Type-ahead: open accounts by meter number, account number, customer ID, or any word of the name.

    Case and accents don't matter ("kamau" finds "Zoë Kamau", "okonkwo" finds "Ọkọnkwọ").
    """
    return search_accounts(ctx, actor, query, limit).matches


def search_accounts(ctx: AppContext, actor: Actor, query: str, limit: int = 8, *,
                    count_up_to: int = 0) -> AccountSearch:
    """`find_accounts` with how many match in all: the matching ids are counted up to `count_up_to`
    (at least `limit`), so a list cut at `limit` can say "8 of 23"."""
    actor.require("topup.vend")
    text = query.strip()
    if not text or len(text) > 120:
        return AccountSearch([], 0, False)
    upto = max(limit, count_up_to)
    key = fold(text)
    digits = text.replace(" ", "")
    # One small index-served query per kind of match, then the matches by meter number. A single query
    # with the conditions OR-ed over three tables scans every open account (seconds at a million meters,
    # on every keystroke of every cashier).
    searches = [(Customer.name_key, key), (Customer.code_key, key), (Account.account_number, key.upper())]
    if digits.isdigit():
        searches.append((Meter.meter_number, digits))
    elif " " in key:
        searches.append((Account.account_number, key.replace(" ", "").upper()))

    def open_accounts(condition, order, count):
        return list(session.scalars(
            select(Account.id)
            .join(Meter, Meter.id == Account.meter_id)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Account.status == "open", condition)
            .order_by(order).limit(count)))

    with ctx.db.read_session() as session:
        ids: set[int] = set()
        cut = False  # a query stopped at its limit: the count is a lower bound
        for column, value in searches:
            found = open_accounts(prefix_match(column, value), column, upto + 1)
            cut = cut or len(found) > upto
            ids.update(found)
        words = plain(text).split()
        if len(ids) <= upto and not digits.isdigit() and words:
            # A later word of the name ("kamau" in "Zoë Kamau") or a name typed without its accents: no
            # index serves a word inside a name, so this reads at most NAME_SCAN_LIMIT candidate names
            # (exact letters first, then accent-prone letters loose) and keeps those whose words match.
            longest = max(words, key=len)
            for loose in (False, True):
                if len(ids) > upto or (loose and len(longest) < 3):
                    break
                rows = session.execute(
                    select(Customer.id, Customer.name)
                    .where(Customer.name_key.like(_word_pattern(longest, loose), escape="\\"))
                    .limit(NAME_SCAN_LIMIT)).all()
                cut = cut or len(rows) >= NAME_SCAN_LIMIT
                customers = [customer_id for customer_id, name in rows if _name_has_words(name, words)]
                for chunk in chunked(customers):
                    wanted = upto + 1 - len(ids)
                    found = open_accounts(Account.customer_id.in_(chunk), Account.id, wanted)
                    cut = cut or len(found) >= wanted
                    ids.update(found)
        if not ids:
            return AccountSearch([], 0, False)
        rows = session.execute(
            select(Account.account_number, Meter.meter_number, Customer.code, Customer.name, Meter.utility)
            .join(Meter, Meter.id == Account.meter_id)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Account.id.in_(sorted(ids)))
            .order_by(Meter.meter_number).limit(limit))
        matches = [AccountMatch(*row) for row in rows]
    more = cut or len(ids) > upto
    return AccountSearch(matches, min(len(ids), upto), more)


def _no_open_account(meter_number: str) -> ValidationError:
    return ValidationError(f"Meter {meter_number} has no open account; open one in Base Data > Account Library.",
                           field="meter")


def _no_such_meter(meter_number: str) -> NotFound:
    return NotFound(f"There is no meter {meter_number} in the Meter Library.")


def _past_vends(ctx: AppContext, session: Session, actor: Actor, meter_id: int, limit: int = 5) -> tuple[PastVend, ...]:
    from stron_tui.services.reports.scope import visible_to

    rows = session.scalars(select(Vend).where(Vend.meter_id == meter_id, visible_to(actor, Vend))
                           .order_by(Vend.id.desc()).limit(limit))
    return tuple(
        PastVend(row.created_at.astimezone(ctx.settings.zone).strftime("%Y-%m-%d %H:%M"), row.receipt_number,
                 in_minor_unit(row.gross_amount, currency_minor_unit(session, row.currency)), row.currency, row.units,
                 row.unit, row.token)
        for row in rows
    )


def payment_types(ctx: AppContext) -> list[tuple[str, str]]:
    with ctx.db.read_session() as session:
        rows = session.execute(select(PaymentType.code, PaymentType.name).where(PaymentType.active.is_(True))
                               .order_by(PaymentType.sort_order, PaymentType.code))
        return [(code, name) for code, name in rows]


def currencies(ctx: AppContext) -> list[str]:
    with ctx.db.read_session() as session:
        return list(session.scalars(select(Currency.code).where(Currency.active.is_(True)).order_by(Currency.code)))


# One loader of sale facts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstalledKey:
    """The VendingKey row of the key the meter holds (tokens.vending_key reads these names)."""

    sgc: str
    krn: int
    dkga: str
    active: bool
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class SaleFacts:
    """Everything a token operation reads about a meter, as `load_sale_facts` read it in one statement.

    The meter's fields keep the Meter's column names, so tokens.prepare_meter_key
    reads them as it reads a Meter. The account, customer and tariff fields are
    None when the meter has no open account; the station's when none applies.
    """

    meter_id: int
    meter_number: str
    meter_type: str
    status: str
    utility: str
    sgc: str
    ti: int
    krn: int
    kt: int
    ken: int
    base_date: int
    ea: str
    dkga: str
    installed_sgc: str
    installed_ti: int
    installed_krn: int
    installed_kt: int
    installed_ken: int
    installed_base_date: int
    installed_ea: str
    installed_dkga: str
    last_tid: int | None
    account_id: int | None
    account_number: str | None
    customer_id: int | None
    customer_code: str | None
    customer_name: str | None
    customer_address: str | None
    customer_phone: str | None
    customer_email: str | None
    customer_notify_sms: bool | None  # the customer's consent per channel and to every token (services/messages.py)
    customer_notify_email: bool | None
    customer_notify_auto: bool | None
    tariff_id: int | None
    tariff: TariffTerms | None
    tariff_active: bool | None
    tariff_version: str  # the tariff row's updated_at: part of a quote's fingerprint
    station_id: int | None
    station_code: str | None
    station_name: str | None
    receipt_width: int | None
    district_id: int | None
    district_name: str | None
    paid_currency: str | None  # the currency asked for, None for the tariff's
    paid_minor_unit: int | None
    paid_active: bool | None
    payment_type: str | None
    payment_name: str | None
    payment_type_active: bool | None
    installed_key: InstalledKey | None
    # The acting operator's or API account's state now (see live_rights): None enabled means no such row.
    holder_enabled: bool | None
    holder_locked_until: datetime | None
    holder_permitted: int
    open_shift_station_id: int | None  # the station of the acting operator's open shift (services/shifts.py)
    seller_float: vendor_floats.SellerFloat | None  # the seller's float (None: it sells without one)

    @property
    def station(self) -> SalesStationView:
        return SalesStationView(self.station_code, self.station_name, self.receipt_width)


@dataclass(frozen=True)
class SalesStationView:
    """What a receipt shows of its station."""

    code: str
    name: str
    receipt_width: int


_METER_FIELDS = ("meter_number", "meter_type", "status", "utility", "sgc", "ti", "krn", "kt", "ken", "base_date",
                 "ea", "dkga", "installed_sgc", "installed_ti", "installed_krn", "installed_kt", "installed_ken",
                 "installed_base_date", "installed_ea", "installed_dkga", "last_tid")


def _sale_facts_statement(*, lock: bool, by_api_account: bool):
    """Everything a token operation reads, in one statement (that also locks the meter's row with `lock`).

    The meter, its open account, the account's customer (with the consents a
    token message needs) and tariff, the selling station (the given one, else
    the account's) and its district, the tariff's and the paid currency, the
    payment type, the vending key the meter holds, the acting operator's or
    API account's row and open shift, and the seller's float (the API
    account's with `by_api_account`, else the selling station's). Outer
    joins, so a missing piece becomes a clear message instead of no row.

    Only what a sale does not change is read here besides the meter: the
    meter's row is the one locked, so on PostgreSQL and SQL Server a read that
    waited for the lock sees the meter as committed but the joined rows as
    they were when the statement began. The account's counters and debt move
    with every sale, so they are read after the lock (revenue.load_revenue);
    the float's balance is checked by its own conditional UPDATE.
    """
    meter, account, tariff, customer = (Meter.__table__, Account.__table__, Tariff.__table__, Customer.__table__)
    station, district, payment_type, key = (SalesStation.__table__, District.__table__, PaymentType.__table__,
                                            VendingKey.__table__)
    tariff_currency, paid_currency = Currency.__table__.alias("tariff_currency"), Currency.__table__.alias("paid")
    station_id = func.coalesce(bindparam("selling_station_id", type_=Integer), account.c.station_id)
    query = (
        select(
            meter.c.id.label("meter_id"), *(meter.c[name] for name in _METER_FIELDS),
            account.c.id.label("account_id"), account.c.account_number, account.c.customer_id,
            account.c.tariff_id,
            tariff.c.name, tariff.c.unit, tariff.c.price_per_unit, tariff.c.currency_code, tariff.c.vat_rate,
            tariff.c.excise_rate, tariff.c.prices_include_vat, tariff.c.min_purchase, tariff.c.max_purchase,
            tariff.c.active.label("tariff_active"), tariff.c.updated_at.label("tariff_updated_at"),
            tariff_currency.c.minor_unit.label("currency_minor_unit"),
            customer.c.code.label("customer_code"), customer.c.name.label("customer_name"),
            customer.c.address.label("customer_address"), customer.c.phone.label("customer_phone"),
            customer.c.email.label("customer_email"), customer.c.notify_sms.label("customer_notify_sms"),
            customer.c.notify_email.label("customer_notify_email"),
            customer.c.notify_auto.label("customer_notify_auto"),
            station.c.id.label("station_id"), station.c.code.label("station_code"),
            station.c.name.label("station_name"), station.c.district_id, station.c.receipt_width,
            district.c.name.label("district_name"),
            paid_currency.c.minor_unit.label("paid_minor_unit"), paid_currency.c.active.label("paid_active"),
            payment_type.c.name.label("payment_name"), payment_type.c.active.label("payment_type_active"),
            key.c.sgc.label("key_sgc"), key.c.krn.label("key_krn"), key.c.dkga.label("key_dkga"),
            key.c.active.label("key_active"), key.c.nonce.label("key_nonce"),
            key.c.ciphertext.label("key_ciphertext"),
            *live_rights.holder_columns(),  # the seller's state now: no extra round trip
            shifts.open_shift_station(bindparam("shift_user_id", type_=Integer)).label("open_shift_station_id"),
            *vendor_floats.seller_float_columns(),
        )
        .select_from(meter)
        .outerjoin(account, and_(account.c.meter_id == meter.c.id, account.c.status == "open"))
        .outerjoin(tariff, tariff.c.id == account.c.tariff_id)
        .outerjoin(customer, customer.c.id == account.c.customer_id)
        .outerjoin(station, station.c.id == station_id)
        .outerjoin(district, district.c.id == station.c.district_id)
        .outerjoin(tariff_currency, tariff_currency.c.code == tariff.c.currency_code)
        .outerjoin(paid_currency, paid_currency.c.code == func.coalesce(bindparam("paid_currency", type_=Unicode),
                                                                       tariff.c.currency_code))
        .outerjoin(payment_type, payment_type.c.code == bindparam("payment_type", type_=Unicode))
        .outerjoin(key, and_(key.c.sgc == meter.c.installed_sgc, key.c.krn == meter.c.installed_krn))
        .outerjoin(VendorFloat.__table__, vendor_floats.seller_float_condition(
            api_account_id=bindparam("float_api_account_id", type_=Integer) if by_api_account else None,
            station_id=station.c.id))
        .where(meter.c.meter_number == bindparam("meter_number", type_=Unicode))
    )
    return for_update(query, meter) if lock else query


# Built once per (lock, seller is an API account): the seller's float joins by an indexed column either way.
_SALE_FACTS = {(lock, by_api_account): _sale_facts_statement(lock=lock, by_api_account=by_api_account)
               for lock in (True, False) for by_api_account in (True, False)}


def _paid_currency_code(currency: str | None) -> str | None:
    return currency.strip().upper() if currency and currency.strip() else None


def load_sale_facts(session: Session, meter_number: str, actor: Actor, *, lock: bool,
                    permission: str | None = "topup.vend", selling_station_id: int | None = None, paid_currency: str | None = None,
                    payment_type: str | None = None) -> SaleFacts:
    """The one read of a meter's sale facts (with its row lock when `lock`); NotFound without such a meter."""
    paid = _paid_currency_code(paid_currency)
    by_api_account = actor.api_account_id is not None
    row = session.connection().execute(_SALE_FACTS[(lock, by_api_account)], {
        "meter_number": meter_number, "selling_station_id": selling_station_id, "paid_currency": paid,
        "payment_type": payment_type, "shift_user_id": actor.user_id,
        **({"float_api_account_id": actor.api_account_id} if by_api_account else {}),
        **live_rights.holder_params(actor, permission)}).first()
    if row is None:
        raise _no_such_meter(meter_number)
    terms = None if row.tariff_id is None else TariffTerms(
        name=row.name, unit=row.unit, price_per_unit=row.price_per_unit, currency=row.currency_code,
        currency_minor_unit=2 if row.currency_minor_unit is None else row.currency_minor_unit,
        vat_rate=row.vat_rate, excise_rate=row.excise_rate, prices_include_vat=row.prices_include_vat,
        min_purchase=row.min_purchase, max_purchase=row.max_purchase)
    key = None if row.key_sgc is None else InstalledKey(row.key_sgc, row.key_krn, row.key_dkga, row.key_active,
                                                        row.key_nonce, row.key_ciphertext)
    return SaleFacts(
        row.meter_id, *(row[index] for index in range(1, 1 + len(_METER_FIELDS))),
        account_id=row.account_id, account_number=row.account_number, customer_id=row.customer_id,
        customer_code=row.customer_code, customer_name=row.customer_name, customer_address=row.customer_address,
        customer_phone=row.customer_phone, customer_email=row.customer_email,
        customer_notify_sms=row.customer_notify_sms, customer_notify_email=row.customer_notify_email,
        customer_notify_auto=row.customer_notify_auto, tariff_id=row.tariff_id, tariff=terms,
        tariff_active=row.tariff_active,
        tariff_version="" if row.tariff_updated_at is None else row.tariff_updated_at.isoformat(),
        station_id=row.station_id, station_code=row.station_code, station_name=row.station_name,
        receipt_width=row.receipt_width, district_id=row.district_id, district_name=row.district_name,
        paid_currency=paid, paid_minor_unit=row.paid_minor_unit, paid_active=row.paid_active,
        payment_type=payment_type, payment_name=row.payment_name, payment_type_active=row.payment_type_active,
        installed_key=key, holder_enabled=row.holder_enabled, holder_locked_until=row.holder_locked_until,
        holder_permitted=row.holder_permitted, open_shift_station_id=row.open_shift_station_id,
        seller_float=vendor_floats.seller_float_of(row),
    )


def check_actor_still_allowed(actor: Actor, facts: SaleFacts, permission: str | None) -> None:
    """The one place the acting operator's (or API account's) row, re-read with the facts, is judged.

    Every token is issued only after this passes in its own transaction (and
    under the meter lock): a login snapshot is never enough to sell.
    """
    live_rights.check_holder(facts, actor, permission)


# One issuing function ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedTokens:
    token: str
    tid: int | None
    key_change_tokens: str  # entered first, space separated
    free_token: str = ""  # a sale's free basic units: a zero-paid token entered before `token`
    free_tid: int | None = None


class TokenOrder(Protocol):
    """What differs between kinds of token; `issue_token` does everything they share."""

    what: str  # "sale" or "token", for messages
    model: type  # the ORM class of the record (Vend, ManagementToken)
    meter_number: str  # validated
    request_id: str
    force_key_change: bool
    permission: str  # re-read live in the issuing transaction
    needs_open_shift: bool  # a station's cashier issues it only in an open shift (services/shifts.py)

    def facts_options(self) -> dict: ...
    def plan(self, session: Session, facts: SaleFacts, now: datetime): ...
    def tokens(self, state: tokens.KeyState, facts: SaleFacts, plan, now: datetime) -> IssuedTokens: ...
    def columns(self, facts: SaleFacts, plan, issued: IssuedTokens) -> dict: ...
    def numbers(self, row_id: int, station_code: str) -> tuple[str, str]: ...
    def audit(self, facts: SaleFacts, plan, row: dict) -> dict: ...
    def receipt(self, ctx: AppContext, actor: Actor, facts: SaleFacts, plan, row: dict) -> Receipt: ...
    def after_record(self, session: Session, facts: SaleFacts, row: dict) -> None: ...
    def same_request(self, recorded) -> bool: ...
    def recorded_receipt(self, ctx: AppContext, session: Session, recorded) -> Receipt: ...


def check_request_id(request_id: str, what: str) -> str:
    if not REQUEST_ID.match(request_id or ""):
        raise ValidationError(f"Each {what} needs a request id of 8 to 64 letters, digits or . _ : -.",
                              field="request_id")
    return request_id


def issue_token(ctx: AppContext, actor: Actor, order: TokenOrder) -> Receipt:
    """Issue one token (a sale or a management token); its receipt, after the transaction committed.

    A retry of a request that committed (before, or concurrently: the unique
    index on (caller, request id) refuses the second insert) returns the first
    receipt, even if the meter or tariff changed since; the same request id
    with different fields is a Conflict.
    """
    check_request_id(order.request_id, order.what)
    if actor.user_id is None and actor.api_account_id is None:
        # Request ids are unique per operator or API account; a token always has one of them.
        raise PermissionDenied("Tokens are issued by an operator or an API account, not by the system.")
    try:
        return _issue_once(ctx, actor, order)
    except PermissionDenied:
        raise  # a user refused now gets no earlier receipt either
    except (IntegrityError, StronError):
        with ctx.db.read_session() as session:
            earlier = _earlier_receipt(ctx, session, actor, order)
        if earlier is None:
            raise
        return earlier


def _caller_filter(model, actor: Actor):
    """Request ids belong to their caller: an API account, else an operator."""
    if actor.api_account_id is not None:
        return model.api_account_id == actor.api_account_id
    return model.operator_id == actor.user_id


def _earlier_receipt(ctx: AppContext, session: Session, actor: Actor, order: TokenOrder) -> Receipt | None:
    model = order.model
    recorded = session.scalar(select(model).where(model.request_id == order.request_id,
                                                  _caller_filter(model, actor)))
    if recorded is None:
        return None
    if not order.same_request(recorded):
        raise Conflict(f"Request id {order.request_id} was already used for a different {order.what} "
                       f"(receipt {recorded.receipt_number}); use a new request id.")
    return order.recorded_receipt(ctx, session, recorded)


_UPDATE_LOCKED_METER = update(Meter.__table__).where(Meter.__table__.c.id == bindparam("locked_meter_id"))


def _numbering_statement(table):
    return (update(table).where(table.c.id == bindparam("row_id"))
            .values(transaction_number=bindparam("new_transaction_number"),
                    receipt_number=bindparam("new_receipt_number")))


_SET_NUMBERS: dict = {}


def _issue_once(ctx: AppContext, actor: Actor, order: TokenOrder) -> Receipt:
    # Few round trips and Core statements: a token holds its meter's row lock from the first statement to
    # the commit, so every statement saved here is lock time saved for the next sale to the same meter.
    # A retried request id is caught by the unique index (issue_token then returns the first receipt), so
    # there is no look-up before issuing.
    table = order.model.__table__
    with ctx.db.session() as session:
        connection = session.connection()
        facts = load_sale_facts(session, order.meter_number, actor, lock=True, permission=order.permission,
                                selling_station_id=actor.station_id, **order.facts_options())
        check_actor_still_allowed(actor, facts, order.permission)
        if order.needs_open_shift:
            shifts.check_open_shift(ctx, actor, facts.open_shift_station_id)
        now = utcnow()
        plan = order.plan(session, facts, now)
        state = tokens.prepare_meter_key(ctx, session, facts, now, force_key_change=order.force_key_change,
                                         installed_key_row=facts.installed_key)
        issued = order.tokens(state, facts, plan, now)
        # A placeholder until the row's identity gives the real numbers: unique per attempt.
        placeholder = f"~{uuid.uuid4().hex[:23]}"
        row = dict(
            transaction_number=placeholder, receipt_number=placeholder, request_id=order.request_id,
            created_at=now, business_date=local_date(now, ctx.settings.zone), source=actor.source,
            operator_id=actor.user_id, api_account_id=actor.api_account_id, station_id=facts.station_id,
            district_id=facts.district_id, account_id=facts.account_id, customer_id=facts.customer_id,
            meter_id=facts.meter_id, meter_number=facts.meter_number, token=issued.token, tid=issued.tid,
            key_change_tokens=issued.key_change_tokens, **order.columns(facts, plan, issued),
        )
        row_id = connection.execute(insert(table), row).inserted_primary_key[0]
        # Numbers come from the row's identity: unique across hosts, no shared counter to lock.
        transaction_number, receipt_number = order.numbers(row_id, facts.station_code)
        row.update(id=row_id, transaction_number=transaction_number, receipt_number=receipt_number)
        numbering = _SET_NUMBERS.get(table.name)
        if numbering is None:
            numbering = _SET_NUMBERS[table.name] = _numbering_statement(table)
        connection.execute(numbering, {"row_id": row_id, "new_transaction_number": transaction_number,
                                       "new_receipt_number": receipt_number})
        connection.execute(_UPDATE_LOCKED_METER, {"locked_meter_id": facts.meter_id,
                                                  **tokens.meter_key_changes(facts, state, issued.tid, now)})
        connection.execute(insert(AuditEntry.__table__), audit.entry_values(actor, **order.audit(facts, plan, row)))
        receipt = order.receipt(ctx, actor, facts, plan, row)
        # Last, just before commit: shared rows (the day's totals) are locked for as short a time as possible.
        order.after_record(session, facts, row)
        _queue_messages(ctx, session, order, facts, receipt)
    return receipt


def _queue_messages(ctx: AppContext, session: Session, order: TokenOrder, facts: SaleFacts, receipt: Receipt) -> None:
    """The customer's SMS / e-mail copy of the token, in the token's own transaction (services/messages.py)."""
    from stron_tui.services import messages

    # The customer's address and consents came with the sale's facts: no look-up of its own.
    recipient = None if facts.customer_id is None else messages.Recipient(
        facts.customer_id, facts.customer_phone or "", facts.customer_email or "", bool(facts.customer_notify_sms),
        bool(facts.customer_notify_email), bool(facts.customer_notify_auto))
    messages.queue_for_token(ctx, session, recipient, receipt,
                             requested=bool(getattr(order.request, "send_token", False)))


def actor_label(actor: Actor) -> str:
    """The operator line of a receipt, as receipts show it for a recorded token."""
    if actor.api_account_id is not None:
        return operator_label(None, actor.name)
    return operator_label(actor.user_code)


# Credit sales --------------------------------------------------------------------------------------------


def _payment_in(session: Session, facts: SaleFacts, terms: TariffTerms, now: datetime) -> Payment:
    code = facts.paid_currency or terms.currency
    if facts.paid_minor_unit is None or not facts.paid_active:
        raise ValidationError(f"{code} is not a currency this system accepts.", field="currency")
    if code == terms.currency:
        return Payment(code, facts.paid_minor_unit, Decimal(1))
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
    return Payment(code, facts.paid_minor_unit, rate)


def _check_sellable(facts: SaleFacts) -> None:
    number = facts.meter_number
    if facts.account_id is None:
        raise _no_open_account(number)
    if facts.status != "active":
        raise ValidationError(f"Meter {number} is {facts.status}; only active meters can be sold credit.",
                              field="meter")
    if not facts.tariff_active:
        raise ValidationError(f"Tariff {facts.tariff.name} of account {facts.account_number} is retired; "
                              "give the account an active tariff first.", field="meter")
    if facts.utility not in tokens.CREDIT_SUBCLASS:
        raise ValidationError(f"Meter {number} has utility {facts.utility}, which STS credit "
                              "tokens can't carry.", field="meter")
    if not facts.payment_type_active:
        raise ValidationError(f"{facts.payment_type!r} is not an active payment type.", field="payment_type")
    if facts.station_id is None:
        raise ValidationError("Your sales station is no longer in the Sales Station Library; "
                              "ask a supervisor to assign you one.", field="meter")


def _quote(request: VendRequest, payment: Payment, terms: TariffTerms, facts: revenue.RevenueFacts) -> Quote:
    schedule, position = facts.schedule, facts.position
    if request.mode == "amount":
        amount = parse_decimal(request.value, "amount", "amount")
        return revenue_by_amount(amount, payment, terms, schedule, position)
    if request.mode == "units":
        units = parse_decimal(request.value, "number of units", "units")
        return revenue_by_units(units, payment, terms, schedule, position)
    raise ValidationError(f"Unknown top-up mode {request.mode!r}; use amount or units.", field="mode")


def quote_fingerprint(facts: SaleFacts, request: VendRequest, quote: Quote) -> str:
    """What a sale must match to be the previewed sale: the request, the tariff version and every figure.

    The quote's figures carry the amount or units, the paid currency and its
    exchange rate, the price and the tax split, and the revenue split (debt
    recovered, fixed charges, energy per block, free units, the tariff
    version in force); the tariff's id and updated_at catch any edit of the
    tariff (limits too). Not a secret: a made-up id can only fail to match,
    never change a price.
    """
    parts = (facts.meter_number, request.mode, request.payment_type, quote.paid_currency, quote.currency,
             str(facts.tariff_id), facts.tariff_version, *(str(value) for value in (
                 quote.paid_amount, quote.exchange_rate, quote.gross, quote.net, quote.excise, quote.vat,
                 quote.units, quote.price_per_unit, quote.price_all_in, quote.debt_recovered, quote.debt_after,
                 quote.fixed_charge, quote.fixed_charge_months, quote.energy, quote.free_units, quote.subsidy,
                 quote.tariff_version_id, *quote.blocks)))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _price(session: Session, facts: SaleFacts, request: VendRequest, now: datetime,
           zone: tzinfo) -> tuple[Quote, revenue.RevenueFacts]:
    _check_sellable(facts)
    if facts.tariff.price_all_in <= 0:
        raise ValidationError(f"Tariff {facts.tariff.name} has no price; correct it in the Price Library first.",
                              field="meter")
    payment = _payment_in(session, facts, facts.tariff, now)
    # The version in force, its blocks and the account's counters: one statement, under the meter lock on a sale.
    found = revenue.load_revenue(session, facts.account_id, facts.tariff, now, zone)
    quote = _quote(request, payment, facts.tariff, found)
    check_revenue_sale(quote, facts.tariff, found.schedule, found.position)
    return quote, found


def price_sale(session: Session, facts: SaleFacts, request: VendRequest, now: datetime, *,
               fingerprint: bool = True, zone: tzinfo = timezone.utc) -> Quote:
    """The sale's breakdown from its facts, with its fingerprint (preview and vend both price here)."""
    quote, _ = _price(session, facts, request, now, zone)
    return replace(quote, quote_id=quote_fingerprint(facts, request, quote)) if fingerprint else quote


def preview(ctx: AppContext, actor: Actor, request: VendRequest) -> Quote:
    """The breakdown the cashier confirms; nothing is recorded. Its quote_id binds the sale to it."""
    actor.require("topup.vend")
    number = valid_meter_number(request.meter_number, field="meter")
    with ctx.db.read_session() as session:
        facts = load_sale_facts(session, number, actor, lock=False, selling_station_id=actor.station_id,
                                paid_currency=request.currency, payment_type=request.payment_type)
        check_actor_still_allowed(actor, facts, "topup.vend")
        shifts.check_open_shift(ctx, actor, facts.open_shift_station_id)  # said before the password is typed
        return price_sale(session, facts, request, utcnow(), zone=ctx.settings.zone)


@dataclass(frozen=True)
class CreditOrder:
    """A credit sale for `issue_token`."""

    request: VendRequest
    meter_number: str
    zone: tzinfo = timezone.utc  # the utility's: months and days of blocks, charges, caps and free units
    # What plan() read under the meter lock, for after_record (the account's counters move in the same
    # transaction). One order per sale attempt.
    planned: dict = field(default_factory=dict, compare=False, repr=False)
    what = "sale"
    model = Vend
    force_key_change = False
    permission = "topup.vend"
    needs_open_shift = True

    @property
    def request_id(self) -> str:
        return self.request.request_id

    def facts_options(self) -> dict:
        return {"paid_currency": self.request.currency, "payment_type": self.request.payment_type}

    def plan(self, session: Session, facts: SaleFacts, now: datetime) -> Quote:
        # A sale without a quote id is priced fresh: no fingerprint to compare (the busy API path).
        quote, found = _price(session, facts, self.request, now, self.zone)
        if self.request.quote_id and quote_fingerprint(facts, self.request, quote) != self.request.quote_id:
            raise PriceChanged("The price changed since the preview (or the sale was edited); preview again.")
        self.planned["position"] = found.position
        self.planned["quote"] = quote
        return quote

    def tokens(self, state: tokens.KeyState, facts: SaleFacts, quote: Quote, now: datetime) -> IssuedTokens:
        subclass = tokens.CREDIT_SUBCLASS[facts.utility]
        free_token, free_tid = "", None
        if quote.free_units:
            # The month's free basic units: their own zero-paid token, entered first (the lower TID).
            free_tid = tokens.next_tid(state, now)
            free_token = self._credit(state, subclass, quote.free_units, free_tid, quote.mode).token
            state = replace(state, last_tid=free_tid)
        tid = tokens.next_tid(state, now)
        credit = self._credit(state, subclass, quote.units, tid, quote.mode)
        if credit.units != quote.units:  # pricing sells only what a token carries exactly
            raise RuntimeError(f"token would carry {credit.units}, the sale is for {quote.units}")
        return IssuedTokens(credit.token, tid, " ".join(state.key_change_tokens), free_token, free_tid)

    @staticmethod
    def _credit(state: tokens.KeyState, subclass: int, units, tid: int, field_name: str):
        try:
            return tokencore.credit_token(state.cipher, state.key_data, subclass, units, tid)
        except tokencore.TokenError as error:
            raise ValidationError(str(error), field=field_name) from None

    def columns(self, facts: SaleFacts, quote: Quote, issued: IssuedTokens) -> dict:
        terms = facts.tariff
        return dict(
            tariff_id=facts.tariff_id, tariff_name=terms.name, utility=facts.utility, unit=terms.unit,
            price_per_unit=terms.price_per_unit, vat_rate=terms.vat_rate, excise_rate=terms.excise_rate,
            prices_include_vat=terms.prices_include_vat, mode=quote.mode, payment_type=facts.payment_type,
            paid_currency=quote.paid_currency, paid_amount=quote.paid_amount, exchange_rate=quote.exchange_rate,
            currency=quote.currency, gross_amount=quote.gross, vat_amount=quote.vat, excise_amount=quote.excise,
            net_amount=quote.net, units=quote.units, tariff_version_id=quote.tariff_version_id,
            debt_recovered=quote.debt_recovered, debt_after=quote.debt_after, fixed_charge=quote.fixed_charge,
            fixed_charge_months=quote.fixed_charge_months, energy_amount=quote.energy_amount,
            free_units=quote.free_units, free_token=issued.free_token, free_tid=issued.free_tid,
            subsidy_amount=quote.subsidy,
        )

    def numbers(self, row_id: int, station_code: str) -> tuple[str, str]:
        return f"V{row_id:010d}", f"{station_code}-{row_id:08d}"[:24]

    def audit(self, facts: SaleFacts, quote: Quote, row: dict) -> dict:
        return dict(action="vend", entity="vend", entity_id=row["transaction_number"],
                    summary=f"sold {quote.units} {quote.unit} for {quote.gross} {quote.currency} to meter "
                            f"{facts.meter_number}",
                    detail={"receipt": row["receipt_number"], "meter": facts.meter_number, "gross": quote.gross,
                            "units": quote.units, "tid": row["tid"], "payment_type": facts.payment_type,
                            "key_change": bool(row["key_change_tokens"])})

    def receipt(self, ctx: AppContext, actor: Actor, facts: SaleFacts, quote: Quote, row: dict) -> Receipt:
        return build_vend_receipt(
            ctx, SimpleNamespace(**row), station=facts.station, customer_code=facts.customer_code,
            customer_name=facts.customer_name, account_number=facts.account_number, operator=actor_label(actor),
            payment_name=facts.payment_name, currency_places=facts.tariff.currency_minor_unit,
            paid_places=facts.paid_minor_unit, blocks=quote.blocks)

    def after_record(self, session: Session, facts: SaleFacts, row: dict) -> None:
        revenue.record_sale(session, row, self.planned["quote"], self.planned["position"])
        _record_daily_totals(session, SimpleNamespace(**row))
        # Last of all: the vendor's float row is the most shared lock of a sale (see vendor_floats). A float
        # pays only in its own currency, so the sale's minor unit is the float's.
        vendor_floats.take_sale_from_float(session, row, facts.seller_float, facts.tariff.currency_minor_unit)

    def same_request(self, vend: Vend) -> bool:
        request = self.request
        if (vend.meter_number != self.meter_number or vend.mode != request.mode
                or vend.payment_type != request.payment_type
                or (_paid_currency_code(request.currency) or vend.currency) != vend.paid_currency):
            return False
        try:
            value = parse_decimal(request.value, "value", "value")
        except ValidationError:
            return False
        return value == vend.paid_amount if request.mode == "amount" else encodable_down(value) == vend.units

    def recorded_receipt(self, ctx: AppContext, session: Session, vend: Vend) -> Receipt:
        return vend_receipt(ctx, session, vend)


def vend(ctx: AppContext, actor: Actor, request: VendRequest, *, payment_password: str | None = None) -> Receipt:
    """Sell credit. Returns the receipt (with the token) after the sale has committed.

    Operators confirm with their payment password (wrong ones count toward
    the lockout); API accounts authenticate with their key instead. With the
    preview's quote_id the sale is refused (PriceChanged) unless it is exactly
    the previewed sale at the previewed price; without one it is priced fresh.
    """
    actor.require("topup.vend")
    check_request_id(request.request_id, "sale")
    number = valid_meter_number(request.meter_number, field="meter")
    if actor.api_account_id is None:
        # A retried sale is found again after the issue attempt, so no separate look-up first.
        auth.confirm_payment(ctx, actor, payment_password or "")
    return issue_token(ctx, actor, CreditOrder(request, number, ctx.settings.zone))


def load_target(ctx: AppContext, actor: Actor, meter_number: str) -> VendTarget:
    """The meter, its account, customer and tariff, and its last purchases (Refresh reloads this)."""
    actor.require("topup.vend")
    number = valid_meter_number(meter_number, field="meter")
    with ctx.db.read_session() as session:
        facts = load_sale_facts(session, number, actor, lock=False)
        if facts.account_id is None:
            raise _no_open_account(number)
        return VendTarget(
            account_id=facts.account_id, account_number=facts.account_number, customer_code=facts.customer_code,
            customer_name=facts.customer_name, customer_address=facts.customer_address,
            customer_phone=facts.customer_phone, meter_number=facts.meter_number, meter_type=facts.meter_type,
            meter_status=facts.status, utility=facts.utility, station_code=facts.station_code or "",
            district_name=facts.district_name or "", tariff=facts.tariff, tariff_active=bool(facts.tariff_active),
            key_change_pending=key_change_pending(facts), last_vends=_past_vends(ctx, session, actor, facts.meter_id),
        )


def key_change_pending(meter) -> bool:
    """The meter (a Meter or SaleFacts) needs key change tokens before its next token."""
    return tokens.configured_key_data(meter) != tokens.installed_key_data(meter) or (
        meter.installed_base_date == 1993 and utcnow() >= tokencore.base_date_end(1993))

def _record_daily_totals(session: Session, row) -> None:
    """Keep the reports' daily aggregates in the vend's own transaction, when reports keep them."""
    try:
        from stron_tui.services.reports import record_vend_in_daily_totals
    except ImportError:
        return
    record_vend_in_daily_totals(session, row)
