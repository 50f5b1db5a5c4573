"""Currencies, exchange rates and payment types: what a cashier may take and how it converts.

Exchange rates are history, not settings: a new rate is added with the time it
takes effect (now or later) and the vend looks up the latest one in effect
(see vending._payment_in). A rate can't be back-dated, so no past sale could
appear to have used it; only a rate not yet in effect may be withdrawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, func, select

from stron_tui.db.models import Currency, ExchangeRate, PaymentType, User
from stron_tui.db.queries import Page, for_update, keyset_page
from stron_tui.errors import Conflict, NotFound, ValidationError
from stron_tui.services import audit
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.pricing import fits_column
from stron_tui.domain.text import clean

PERMISSION = "system.settings"
# A rate typed "now" may reach the database a moment later; allow that much.
CLOCK_SLACK = timedelta(minutes=1)


@dataclass(frozen=True)
class CurrencyInfo:
    code: str
    name: str
    symbol: str
    minor_unit: int
    active: bool


@dataclass(frozen=True)
class RateInfo:
    id: int
    from_currency: str
    to_currency: str
    rate: Decimal
    effective_at: datetime
    entered_by: str
    in_effect: bool  # the rate a sale in this pair would use now
    pending: bool  # takes effect later


@dataclass(frozen=True)
class PaymentTypeInfo:
    id: int
    code: str
    name: str
    sort_order: int
    active: bool


# Currencies -------------------------------------------------------------------

def list_currencies(ctx: AppContext, actor: Actor) -> list[CurrencyInfo]:
    actor.require(PERMISSION)
    with ctx.db.read_session() as session:
        return [CurrencyInfo(c.code, c.name, c.symbol, c.minor_unit, c.active)
                for c in session.scalars(select(Currency).order_by(Currency.code))]


def _currency_code(code: str, field: str = "code") -> str:
    text = clean(code).upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise ValidationError("A currency code is three letters, e.g. USD (ISO 4217).", field=field)
    return text


def save_currency(ctx: AppContext, actor: Actor, *, code: str, name: str, symbol: str = "",
                  minor_unit: int | str = 2, active: bool = True) -> CurrencyInfo:
    """Add a currency or change one (the code stays)."""
    actor.require(PERMISSION)
    code = _currency_code(code)
    name = clean(name)
    if not name or len(name) > 60:
        raise ValidationError("Enter the currency's name (at most 60 characters).", field="name")
    symbol = clean(symbol)
    if len(symbol) > 8:
        raise ValidationError("A currency symbol has at most 8 characters.", field="symbol")
    try:
        minor = int(str(minor_unit).strip())
    except ValueError:
        minor = -1
    if not 0 <= minor <= 4:
        raise ValidationError("Decimal places are a whole number from 0 to 4 (2 for cents).", field="minor_unit")
    if not active and code == ctx.settings.currency.upper():
        raise Conflict(f"{code} is this installation's own currency and stays active.")
    with ctx.db.session() as session:
        row = session.scalar(for_update(select(Currency).where(Currency.code == code), Currency))
        after = {"name": name, "symbol": symbol, "minor_unit": minor, "active": active}
        if row is None:
            row = Currency(code=code, **after)
            session.add(row)
            audit.record(session, actor, "currency.create", entity="currency", entity_id=code,
                         summary=f"added currency {code} ({name})", detail=after)
        else:
            before = {"name": row.name, "symbol": row.symbol, "minor_unit": row.minor_unit, "active": row.active}
            changed = audit.changes(before, after)
            if changed:
                row.name, row.symbol, row.minor_unit, row.active = name, symbol, minor, active
                audit.record(session, actor, "currency.update", entity="currency", entity_id=code,
                             summary=f"changed currency {code} ({', '.join(changed)})", detail=changed)
        return CurrencyInfo(code, name, symbol, minor, active)


# Exchange rates -------------------------------------------------------------------

def parse_rate(text) -> Decimal:
    try:
        rate = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError("Write the rate as a number, e.g. 1550.25.", field="rate") from None
    if not rate.is_finite() or rate <= 0:
        raise ValidationError("The rate must be more than zero.", field="rate")
    # The exchange_rates column's own precision and scale (and the vends' copy of the rate): nothing rounds.
    return fits_column(rate, ExchangeRate.rate, "A rate", "rate")


def parse_local_time(ctx: AppContext, text: str) -> datetime | None:
    """'YYYY-MM-DD HH:MM' at the installation's time zone; empty means now."""
    text = clean(text)
    if not text:
        return None
    try:
        local = datetime.strptime(text, "%Y-%m-%d %H:%M")
    except ValueError:
        raise ValidationError("Write the time as YYYY-MM-DD HH:MM, or leave it empty for now.",
                              field="effective_at") from None
    return local.replace(tzinfo=ctx.settings.zone)


def add_rate(ctx: AppContext, actor: Actor, *, from_currency: str, to_currency: str, rate,
             effective_at: datetime | None = None) -> RateInfo:
    """1 `from_currency` = `rate` `to_currency`, from `effective_at` (default now) on."""
    actor.require(PERMISSION)
    source = _currency_code(from_currency, "from_currency")
    target = _currency_code(to_currency, "to_currency")
    if source == target:
        raise ValidationError("Choose two different currencies.", field="to_currency")
    value = parse_rate(rate)
    now = utcnow()
    when = now if effective_at is None else effective_at
    if when.tzinfo is None:
        raise ValueError("effective_at must be an aware datetime")
    if when < now - CLOCK_SLACK:
        raise ValidationError("A rate takes effect now or later; past sales keep the rate they used.",
                              field="effective_at")
    with ctx.db.session() as session:
        for code, field in ((source, "from_currency"), (target, "to_currency")):
            row = session.get(Currency, code)
            if row is None or not row.active:
                raise ValidationError(f"{code} is not an active currency here.", field=field)
        entry = ExchangeRate(from_currency=source, to_currency=target, rate=value, effective_at=when,
                             created_by=actor.user_id)
        session.add(entry)
        session.flush()
        audit.record(session, actor, "exchange_rate.create", entity="exchange_rate", entity_id=entry.id,
                     summary=f"1 {source} = {value} {target} from {when.astimezone(ctx.settings.zone):%Y-%m-%d %H:%M}",
                     detail={"from": source, "to": target, "rate": value, "effective_at": when})
        return _rate_info(session, entry, utcnow())


def _in_effect_id(session, source: str, target: str, now: datetime) -> int | None:
    return session.scalar(
        select(ExchangeRate.id)
        .where(ExchangeRate.from_currency == source, ExchangeRate.to_currency == target,
               ExchangeRate.effective_at <= now)
        .order_by(ExchangeRate.effective_at.desc(), ExchangeRate.id.desc())
        .limit(1)
    )


def _rate_info(session, entry: ExchangeRate, now: datetime, in_effect: set | None = None) -> RateInfo:
    current = (entry.id in in_effect) if in_effect is not None else (
        _in_effect_id(session, entry.from_currency, entry.to_currency, now) == entry.id)
    user = session.get(User, entry.created_by) if entry.created_by is not None else None
    return RateInfo(entry.id, entry.from_currency, entry.to_currency, entry.rate, entry.effective_at,
                    user.user_code if user else "", current, entry.effective_at > now)


def list_rates(ctx: AppContext, actor: Actor, *, currency: str = "", after: tuple | None = None,
               limit: int = 50) -> Page:
    """Rates newest effective time first, optionally those involving one currency."""
    actor.require(PERMISSION)
    query = select(ExchangeRate)
    code = clean(currency).upper()
    if code:
        query = query.where((ExchangeRate.from_currency == code) | (ExchangeRate.to_currency == code))
    query, to_page = keyset_page(query, [ExchangeRate.effective_at, ExchangeRate.id], after=after, limit=limit,
                                 descending=True, key_of=lambda r: (r.effective_at, r.id))
    now = utcnow()
    with ctx.db.read_session() as session:
        page = to_page(list(session.scalars(query)))
        pairs = {(r.from_currency, r.to_currency) for r in page.rows}
        in_effect = {_in_effect_id(session, s, t, now) for s, t in pairs}
        return Page([_rate_info(session, r, now, in_effect) for r in page.rows], page.next_key)


def withdraw_rate(ctx: AppContext, actor: Actor, rate_id: int) -> None:
    """Remove a rate that has not taken effect yet (a typo caught in time)."""
    actor.require(PERMISSION)
    with ctx.db.session() as session:
        entry = session.scalar(for_update(select(ExchangeRate).where(ExchangeRate.id == rate_id), ExchangeRate))
        if entry is None:
            raise NotFound("That exchange rate no longer exists.")
        if entry.effective_at <= utcnow():
            raise Conflict("That rate is already in effect and stays in the history; add a new rate instead.")
        detail = {"from": entry.from_currency, "to": entry.to_currency, "rate": entry.rate,
                  "effective_at": entry.effective_at}
        session.execute(delete(ExchangeRate).where(ExchangeRate.id == rate_id))
        audit.record(session, actor, "exchange_rate.withdraw", entity="exchange_rate", entity_id=rate_id,
                     summary=f"withdrew the pending rate 1 {entry.from_currency} = {entry.rate} {entry.to_currency}",
                     detail=detail)


# Payment types --------------------------------------------------------------------

def list_payment_types(ctx: AppContext, actor: Actor) -> list[PaymentTypeInfo]:
    actor.require(PERMISSION)
    with ctx.db.read_session() as session:
        rows = session.scalars(select(PaymentType).order_by(PaymentType.sort_order, PaymentType.code))
        return [PaymentTypeInfo(p.id, p.code, p.name, p.sort_order, p.active) for p in rows]


def save_payment_type(ctx: AppContext, actor: Actor, *, code: str, name: str, sort_order: int | str = 0,
                      active: bool = True) -> PaymentTypeInfo:
    """Add a payment type or change one found by its code (codes are stored in lower case)."""
    actor.require(PERMISSION)
    code = clean(code).lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,19}", code):
        raise ValidationError("A payment type code is up to 20 letters, digits, - or _, e.g. cash.", field="code")
    name = clean(name)
    if not name or len(name) > 60:
        raise ValidationError("Enter the payment type's name (at most 60 characters).", field="name")
    try:
        order = int(str(sort_order).strip() or 0)
    except ValueError:
        raise ValidationError("The list position is a whole number.", field="sort_order") from None
    with ctx.db.session() as session:
        row = session.scalar(for_update(select(PaymentType).where(PaymentType.code == code), PaymentType))
        after = {"name": name, "sort_order": order, "active": active}
        if row is None:
            row = PaymentType(code=code, **after)
            session.add(row)
            session.flush()
            audit.record(session, actor, "payment_type.create", entity="payment_type", entity_id=row.id,
                         summary=f"added payment type {code} ({name})", detail={"code": code, **after})
        else:
            before = {"name": row.name, "sort_order": row.sort_order, "active": row.active}
            changed = audit.changes(before, after)
            if changed:
                row.name, row.sort_order, row.active = name, order, active
                session.flush()
                if not active:
                    left = session.scalar(select(func.count()).select_from(PaymentType)
                                          .where(PaymentType.active.is_(True)))
                    if not left:
                        raise Conflict("At least one payment type must stay active, or nothing can be sold.")
                audit.record(session, actor, "payment_type.update", entity="payment_type", entity_id=row.id,
                             summary=f"changed payment type {code} ({', '.join(changed)})", detail=changed)
        return PaymentTypeInfo(row.id, code, name, order, active)
