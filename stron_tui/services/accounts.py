"""Account Library: a customer, a meter, a sales station and a tariff joined into one account.

A meter has at most one open account: checked here with a clear message,
with the partial unique index `uq_accounts_open_meter` as the backstop.
Closing keeps the account and its history; a new account can then be opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from stron_tui.db.models import Account, Customer, ManagementToken, Meter, Reversal, SalesStation, Tariff, Vend
from stron_tui.db.queries import chunked, prefix_match
from stron_tui.errors import NotFound, ValidationError
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.libraries import Field, Library, ListColumn, SearchPlan, next_free_code, register
from stron_tui.services.permissions import Actor
from stron_tui.services.pricing import fits_column
from stron_tui.services.reports.scope import visible_to
from stron_tui.domain.text import fold
from stron_tui.money import in_minor_unit
from stron_tui.services.receipts import currency_minor_unit

STATUSES = ("open", "closed")


class Accounts(Library):
    name = "accounts"
    title = "Account Library"
    entity = "account"
    permission = "basedata.accounts.edit"
    model = Account
    key_field = "account_number"
    fields = (
        Field("account_number", "Account number", max_length=30,
              note="a new account is offered the next free number (A0000042); blank: made from the meter number",
              width=16),
        Field("customer_code", "Customer ID", required=True, max_length=30, example="C000001", width=14),
        Field("meter_number", "Meter number", required=True, max_length=13, example="01234567897", width=15),
        Field("station_code", "Station ID", required=True, max_length=20, example="ST-001", width=12),
        Field("tariff_name", "Tariff", required=True, max_length=100, example="Residential R1", width=20),
        Field("status", "Status", kind="choice", choices=STATUSES, default="open", width=8),
        # The debt recovery rule and free basic units (the debt itself moves only through services/debt.py).
        Field("recovery_percent", "Debt recovery %", kind="percent", default=Decimal(0), example="25", width=8),
        Field("recovery_fixed", "Recovery per purchase", kind="decimal", default=Decimal(0), width=10),
        Field("recovery_month_limit", "Recovery limit/month", kind="decimal", note="blank: no limit", width=10),
        Field("recovery_min_energy", "Minimum for energy", kind="decimal", default=Decimal(0), width=10),
        Field("free_units", "Free units/month", kind="decimal", default=Decimal(0), note="0: not registered",
              width=8),
    )
    list_columns = (
        ListColumn("Account", "account_number", 16), ListColumn("Customer", "customer_name", 22),
        ListColumn("Meter", "meter_number", 14), ListColumn("Station", "station_code", 9),
        ListColumn("Tariff", "tariff_name", 16), ListColumn("Status", "status", 7),
    )
    sorts = {"number": ("Account number", Account.account_number), "newest": ("Newest", Account.id)}
    default_sort = "number"

    def values_query(self):
        return (
            select(Account.id, Account.account_number, Customer.code.label("customer_code"),
                   Meter.meter_number.label("meter_number"), SalesStation.code.label("station_code"),
                   Tariff.name.label("tariff_name"), Account.status, Customer.name.label("customer_name"),
                   Account.recovery_percent, Account.recovery_fixed, Account.recovery_month_limit,
                   Account.recovery_min_energy, Account.free_units)
            .join(Customer, Customer.id == Account.customer_id)
            .join(Meter, Meter.id == Account.meter_id)
            .join(SalesStation, SalesStation.id == Account.station_id)
            .join(Tariff, Tariff.id == Account.tariff_id)
        )

    def key_column(self):
        return Account.account_number

    def parse(self, raw):
        values = super().parse(raw)
        values["account_number"] = fold(values["account_number"]).upper() if values["account_number"] else ""
        for name in ("recovery_percent", "recovery_fixed", "recovery_month_limit", "recovery_min_energy",
                     "free_units"):
            if values[name] is not None:
                fits_column(values[name], getattr(Account, name), self.fields_by_name[name].label, name,
                            percent=name == "recovery_percent")
        if values["free_units"] != values["free_units"].quantize(Decimal("0.1")):
            raise ValidationError("Free units are in steps of 0.1.", field="free_units")
        return values

    def fold_key(self, value):
        return fold(value).upper()

    def resolve(self, session, records):
        errors: dict[int, dict[str, str]] = {}
        customers = _lookup(session, Customer.code_key, Customer.id, {fold(r["customer_code"]) for r in records})
        meters = {}
        for chunk in chunked(sorted({r["meter_number"] for r in records})):
            for row in session.execute(select(Meter.meter_number, Meter.id, Meter.utility).where(
                    Meter.meter_number.in_(chunk))):
                meters[row.meter_number] = row
        stations = _lookup(session, SalesStation.code_key, SalesStation.id, {fold(r["station_code"]) for r in records})
        tariffs = {row.name_key: row for row in session.execute(
            select(Tariff.name_key, Tariff.id, Tariff.utility, Tariff.active))}
        for index, values in enumerate(records):
            problems = {}
            values["_customer_id"] = customers.get(fold(values["customer_code"]))
            if values["_customer_id"] is None:
                problems["customer_code"] = f"There is no customer with ID {values['customer_code']}."
            meter = meters.get(values["meter_number"])
            values["_meter_id"] = meter.id if meter else None
            if meter is None:
                problems["meter_number"] = f"There is no meter {values['meter_number']} in the Meter Library."
            values["_station_id"] = stations.get(fold(values["station_code"]))
            if values["_station_id"] is None:
                problems["station_code"] = f"There is no sales station with ID {values['station_code']}."
            tariff = tariffs.get(fold(values["tariff_name"]))
            values["_tariff_id"] = tariff.id if tariff else None
            if tariff is None:
                problems["tariff_name"] = f"There is no tariff named {values['tariff_name']}."
            elif meter is not None and tariff.utility != meter.utility:
                problems["tariff_name"] = (f"Tariff {values['tariff_name']} is for {tariff.utility}, but meter "
                                           f"{values['meter_number']} measures {meter.utility}.")
            if problems:
                errors[index] = problems
        return errors

    def check(self, session: Session, values: dict, record_id: int | None) -> None:
        if not values["account_number"]:
            values["account_number"] = _new_number(session, values["meter_number"])
        if values["status"] == "open":
            other = session.execute(
                select(Account.id, Account.account_number).where(
                    Account.meter_id == values["_meter_id"], Account.status == "open",
                    Account.id != (record_id or 0))).first()
            if other is not None:
                raise ValidationError(f"Meter {values['meter_number']} already has open account "
                                      f"{other.account_number}; close that account first.", field="meter_number")

    def columns(self, values):
        columns = {"account_number": values["account_number"], "customer_id": values["_customer_id"],
                   "meter_id": values["_meter_id"], "station_id": values["_station_id"],
                   "tariff_id": values["_tariff_id"], "status": values["status"],
                   **{name: values[name] for name in ("recovery_percent", "recovery_fixed", "recovery_month_limit",
                                                      "recovery_min_energy", "free_units")}}
        columns["closed_at"] = utcnow() if values["status"] == "closed" else None
        return columns

    def on_create(self, values):
        return {"opened_at": utcnow()}

    def search_plan(self, text):
        key = fold(text)
        digits = text.replace(" ", "")
        steps = [("prefix", prefix_match(Account.account_number, key.upper()))]
        if digits.isdigit() and digits.isascii():
            steps.append(("prefix", prefix_match(Meter.meter_number, digits)))
        steps.append(("prefix", or_(prefix_match(Customer.name_key, key), prefix_match(Customer.code_key, key))))
        return SearchPlan(tuple(steps))

    def describe(self, values):
        return f"account {values.get('account_number', '')}"

    def suggest(self, session):
        return {"account_number": next_free_code(session, self, "A0000001")}

    def delete_refusal(self, session: Session, record_id: int) -> str | None:
        if session.scalar(select(exists().where(Vend.account_id == record_id))):
            return "it has sales; close it instead (its history is kept)."
        if session.scalar(select(exists().where(ManagementToken.account_id == record_id))):
            return "it has management tokens; close it instead (its history is kept)."
        return None


def _lookup(session, key_column, id_column, keys) -> dict:
    found = {}
    for chunk in chunked(sorted(keys)):
        found.update(session.execute(select(key_column, id_column).where(key_column.in_(chunk))).all())
    return found


def _new_number(session: Session, meter_number: str) -> str:
    """The meter number with the meter's account count: 01234567897-1, -2, ..."""
    taken = session.scalar(select(func.count()).select_from(Account).where(
        Account.account_number.like(f"{meter_number}-%")))
    number = taken + 1
    while session.scalar(select(Account.id).where(Account.account_number == f"{meter_number}-{number}")):
        number += 1
    return f"{meter_number}-{number}"


LIBRARY = register(Accounts())


# ---------------------------------------------------------------- the unified view


@dataclass(frozen=True)
class VendLine:
    created_at: datetime
    receipt_number: str
    amount: Decimal
    currency: str
    units: Decimal
    token: str
    reversal_number: str | None = None  # the sale was reversed (the token stays issued)


@dataclass(frozen=True)
class TokenLine:
    created_at: datetime
    kind: str
    token: str
    reason: str


@dataclass(frozen=True)
class AccountView:
    id: int
    account_number: str
    status: str
    opened_at: datetime
    closed_at: datetime | None
    customer: dict
    meter: dict
    tariff: dict
    station: dict
    vends: tuple[VendLine, ...]
    tokens: tuple[TokenLine, ...]
    vend_count: int
    # Debt, recovery rule, free units, and this month's units and fixed charges paid (local month).
    revenue: dict = field(default_factory=dict)


def account_view(ctx: AppContext, actor: Actor, account_id: int, recent: int = 10) -> AccountView:
    """Everything about one account on one page: who, which meter and keys, the price, recent tokens."""
    actor.require("basedata.view")
    with ctx.db.read_session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFound("That account no longer exists.")
        customer = session.get(Customer, account.customer_id)
        meter = session.get(Meter, account.meter_id)
        tariff = session.get(Tariff, account.tariff_id)
        station = session.get(SalesStation, account.station_id)
        vends = session.execute(
            select(Vend.created_at, Vend.receipt_number, Vend.gross_amount, Vend.currency, Vend.units, Vend.token,
                   Reversal.reversal_number)
            .outerjoin(Reversal, Reversal.vend_id == Vend.id)
            .where(Vend.account_id == account_id, visible_to(actor, Vend))
            .order_by(Vend.created_at.desc(), Vend.id.desc()).limit(recent))
        tokens = session.execute(
            select(ManagementToken.created_at, ManagementToken.kind, ManagementToken.token, ManagementToken.reason)
            .where(ManagementToken.account_id == account_id, visible_to(actor, ManagementToken))
            .order_by(ManagementToken.created_at.desc(), ManagementToken.id.desc()).limit(recent))
        # Amounts are stored with four places; shown in the currency's own minor unit, as on the receipt.
        vend_lines = tuple(VendLine(created_at, number, in_minor_unit(amount, currency_minor_unit(session, currency)),
                                    currency, units, token, reversal)
                           for created_at, number, amount, currency, units, token, reversal in vends)
        token_lines = tuple(TokenLine(*row) for row in tokens)
        vend_count = session.scalar(select(func.count()).select_from(Vend)
                                    .where(Vend.account_id == account_id, visible_to(actor, Vend)))
        return AccountView(
            id=account.id, account_number=account.account_number, status=account.status,
            opened_at=account.opened_at, closed_at=account.closed_at,
            customer={"code": customer.code, "name": customer.name, "address": customer.address,
                      "phone": customer.phone, "email": customer.email},
            meter={"meter_number": meter.meter_number, "meter_type": meter.meter_type, "utility": meter.utility,
                   "status": meter.status, "sgc": meter.sgc, "ti": meter.ti, "krn": meter.krn, "kt": meter.kt,
                   "ea": meter.ea, "dkga": meter.dkga, "base_date": meter.base_date, "ken": meter.ken,
                   "key_change_pending": any(getattr(meter, f) != getattr(meter, f"installed_{f}") for f in
                                             ("sgc", "ti", "krn", "kt", "ea", "dkga", "base_date", "ken"))},
            tariff={"name": tariff.name, "unit": tariff.unit, "price_per_unit": tariff.price_per_unit,
                    "currency": tariff.currency_code, "vat_rate": tariff.vat_rate, "active": tariff.active},
            station={"code": station.code, "name": station.name},
            vends=vend_lines, tokens=token_lines, vend_count=vend_count,
            revenue=_revenue_of(ctx, account),
        )


def _revenue_of(ctx: AppContext, account: Account) -> dict:
    """The account's money position as the Account view shows it; counters of another month show as 0."""
    from stron_tui.services.revenue import local_month_day

    month, day = local_month_day(utcnow(), ctx.settings.zone)
    this_month = account.usage_month == month
    return {
        "debt": account.debt_balance,
        "recovery_percent": (account.recovery_percent * 100).normalize(),
        "recovery_fixed": account.recovery_fixed, "recovery_month_limit": account.recovery_month_limit,
        "recovery_min_energy": account.recovery_min_energy,
        "free_units": account.free_units, "free_units_issued_this_month": account.free_issued_month == month,
        "month": month, "month_units": account.month_units if this_month else Decimal(0),
        "month_money": account.month_money if this_month else Decimal(0),
        "debt_recovered_this_month": account.month_recovered if this_month else Decimal(0),
        "fixed_charge_paid_through": account.charge_paid_month or "",
        "fixed_charge_part_paid": account.charge_part_paid,
    }
