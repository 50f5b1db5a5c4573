"""Who sees which sales and tokens, and report filters resolved to ids with that limit applied.

The one scope rule (docs/security.md, "Data scoping"): a role that holds
`reports.all_stations` sees every record. Otherwise an operator sees the
records of their own sales station (and, in look-ups, the ones they issued
themselves), and an API account sees only the sales, tokens and reprints it
made itself. `record_limit` decides; `visible_to` turns that into the SQL
condition every look-up adds to its query, so a record out of scope is
found exactly as often as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from stron_tui.db.models import Customer, District, Meter, PaymentType, SalesStation, User
from stron_tui.errors import PermissionDenied, ValidationError
from stron_tui.services.permissions import Actor
from stron_tui.domain.text import clean, fold

ALL_STATIONS = "reports.all_stations"

# Longest a single report period may be: ten years keeps a mistyped year from scanning forever.
MAX_PERIOD_DAYS = 3660


@dataclass(frozen=True)
class ReportFilters:
    """What the filter bar holds. Codes are what operators type; empty means any."""

    date_from: date | None = None
    date_to: date | None = None
    district: str = ""
    station: str = ""
    operator: str = ""
    payment_type: str = ""
    utility: str = ""
    meter_number: str = ""
    customer: str = ""

    def with_changes(self, **changes) -> "ReportFilters":
        return replace(self, **changes)


@dataclass(frozen=True)
class Scope:
    """Filters resolved to ids; `station_id` already holds the station limit."""

    date_from: date | None = None
    date_to: date | None = None
    district_id: int | None = None
    station_id: int | None = None
    operator_id: int | None = None
    payment_type: str | None = None
    utility: str | None = None
    meter_id: int | None = None
    customer_id: int | None = None
    station_limited: bool = False
    api_account_id: int | None = None  # an API account limited to its own sales
    descriptions: tuple[str, ...] = field(default=())

    @property
    def needs_vend_rows(self) -> bool:
        """A meter, customer or API account limit can't be answered from the daily totals."""
        return self.meter_id is not None or self.customer_id is not None or self.api_account_id is not None

    def conditions(self, *, business_date=None, station=None, district=None, operator=None, api_account=None,
                   payment_type=None, utility=None) -> list:
        """The scope's limits as WHERE conditions on the columns given (a limit on a column not given is not
        one that table can answer, and is left to the caller): one place for every report's and the
        cash-up's filters, whatever table they read."""
        where = []
        if business_date is not None and self.date_from is not None:
            where.append(business_date >= self.date_from)
        if business_date is not None and self.date_to is not None:
            where.append(business_date <= self.date_to)
        for column, value in ((station, self.station_id), (district, self.district_id), (operator, self.operator_id),
                              (api_account, self.api_account_id), (payment_type, self.payment_type),
                              (utility, self.utility)):
            if column is not None and value is not None:
                where.append(column == value)
        return where


def parse_date(text: str, field_name: str) -> date | None:
    """A date typed as YYYY-MM-DD (empty: none)."""
    text = clean(text)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"Type the date as YYYY-MM-DD, for example 2024-03-31, not {text}.",
                              field=field_name) from None


@dataclass(frozen=True)
class RecordLimit:
    """Whose records an actor may see: everything, one API account's own, or an operator's station and own."""

    everything: bool = False
    api_account_id: int | None = None
    station_id: int | None = None
    user_id: int | None = None


def record_limit(actor: Actor) -> RecordLimit:
    """The scope rule, decided once for every look-up, report and export."""
    if actor.can(ALL_STATIONS):
        return RecordLimit(everything=True)
    if actor.api_account_id is not None:
        return RecordLimit(api_account_id=actor.api_account_id)
    return RecordLimit(station_id=actor.station_id, user_id=actor.user_id)


def visible_to(actor: Actor, model) -> ColumnElement[bool]:
    """The condition keeping the rows of `model` (Vend, ManagementToken, ReceiptPrint) the actor may see.

    Add it to the WHERE clause of every query that finds sales, tokens or
    reprints by number, meter, customer or account: a row out of scope is
    then not found, with the same answer as a number nobody issued.
    """
    limit = record_limit(actor)
    if limit.everything:
        return true()
    if limit.api_account_id is not None:
        return model.api_account_id == limit.api_account_id
    own = []
    if limit.station_id is not None:
        own.append(model.station_id == limit.station_id)
    if limit.user_id is not None:
        own.append(model.operator_id == limit.user_id)
    return or_(*own) if own else false()


def station_limit(actor: Actor) -> int | None:
    """The only station an operator's reports may cover, or None when they may see all (or are an API
    account, limited to its own sales instead: see record_limit)."""
    limit = record_limit(actor)
    if limit.everything or limit.api_account_id is not None:
        return None
    if actor.station_id is None:
        raise PermissionDenied(
            f"{actor.user_code} may only see their own station's figures but is not assigned to a sales station."
        )
    return actor.station_id


def resolve(session: Session, actor: Actor, filters: ReportFilters) -> Scope:
    """Turn typed codes into ids (or one clear message) and apply the station limit."""
    notes: list[str] = []
    if filters.date_from and filters.date_to:
        if filters.date_from > filters.date_to:
            raise ValidationError("The start date is after the end date.", field="date_from")
        if (filters.date_to - filters.date_from).days > MAX_PERIOD_DAYS:
            raise ValidationError("Choose a period of at most ten years.", field="date_from")
    if filters.date_from or filters.date_to:
        notes.append(f"Period: {filters.date_from or 'start'} to {filters.date_to or 'today'}")

    district_id = None
    if clean(filters.district):
        row = session.execute(
            select(District.id, District.code, District.name).where(District.code_key == fold(filters.district))
        ).first()
        if row is None:
            raise ValidationError(f"There is no district with code {clean(filters.district)}.", field="district")
        district_id = row.id
        notes.append(f"District: {row.code} {row.name}")

    api_account_id = record_limit(actor).api_account_id
    if api_account_id is not None:
        notes.append("Sales: this API account's own only")
    limit = station_limit(actor)
    station_id = None
    if limit is not None:
        station_id = limit
        row = session.execute(select(SalesStation.code, SalesStation.name).where(SalesStation.id == limit)).first()
        notes.append(f"Station: {row.code} {row.name} (your station only)" if row else "Station: yours only")
    elif clean(filters.station):
        row = session.execute(
            select(SalesStation.id, SalesStation.code, SalesStation.name)
            .where(SalesStation.code_key == fold(filters.station))
        ).first()
        if row is None:
            raise ValidationError(f"There is no sales station with code {clean(filters.station)}.", field="station")
        station_id = row.id
        notes.append(f"Station: {row.code} {row.name}")

    operator_id = None
    if clean(filters.operator):
        row = session.execute(select(User.id, User.user_code).where(User.user_key == fold(filters.operator))).first()
        if row is None:
            raise ValidationError(f"There is no operator with user ID {clean(filters.operator)}.", field="operator")
        operator_id = row.id
        notes.append(f"Operator: {row.user_code}")

    payment_type = None
    if clean(filters.payment_type):
        wanted = fold(filters.payment_type)
        codes = {fold(code): code for code in session.scalars(select(PaymentType.code))}
        if wanted not in codes:
            raise ValidationError(
                f"There is no payment type {clean(filters.payment_type)}; use one of {', '.join(sorted(codes.values()))}.",
                field="payment_type",
            )
        payment_type = codes[wanted]
        notes.append(f"Payment type: {payment_type}")

    utility = clean(filters.utility).lower() or None
    if utility:
        notes.append(f"Utility: {utility}")

    meter_id = None
    if clean(filters.meter_number):
        number = clean(filters.meter_number).replace(" ", "")
        meter_id = session.scalar(select(Meter.id).where(Meter.meter_number == number))
        if meter_id is None:
            raise ValidationError(f"There is no meter with number {number}.", field="meter_number")
        notes.append(f"Meter: {number}")

    customer_id = None
    if clean(filters.customer):
        row = session.execute(
            select(Customer.id, Customer.code, Customer.name).where(Customer.code_key == fold(filters.customer))
        ).first()
        if row is None:
            raise ValidationError(f"There is no customer with code {clean(filters.customer)}.", field="customer")
        customer_id = row.id
        notes.append(f"Customer: {row.code} {row.name}")

    return Scope(
        date_from=filters.date_from, date_to=filters.date_to, district_id=district_id, station_id=station_id,
        operator_id=operator_id, payment_type=payment_type, utility=utility, meter_id=meter_id,
        customer_id=customer_id, station_limited=limit is not None, api_account_id=api_account_id,
        descriptions=tuple(notes),
    )


def utc_bounds(day_from: date | None, day_to: date | None, zone) -> tuple[datetime | None, datetime | None]:
    """A UTC instant range that surely holds every sale of those business days.

    One day of margin each side covers any station time zone; the exact
    business_date condition is applied as well, this range only lets the
    created_at index serve the date filter and the newest-first order.
    """
    start = end = None
    if day_from is not None:
        start = datetime.combine(day_from - timedelta(days=1), time(0), tzinfo=zone)
    if day_to is not None:
        end = datetime.combine(day_to + timedelta(days=2), time(0), tzinfo=zone)
    return start, end
