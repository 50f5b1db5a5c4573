"""Meter Library: meters, their STS key data, and batch input of consecutive meter numbers.

`sgc..ken` is the key data a meter should have. A new meter starts with
`installed_*` equal to it; an edit changes only `sgc..ken`, so the next
token operation sees the difference and issues key change tokens first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import tokencore
from sqlalchemy import exists, func, insert, or_, select
from sqlalchemy.orm import Session

from stron_tui.db.models import Account, ManagementToken, Meter, Vend, VendingKey
from stron_tui.db.queries import contains_match, prefix_match
from stron_tui.domain.meters import meter_number
from stron_tui.errors import ValidationError
from stron_tui.exports.files import ExportCancelled
from stron_tui.services import audit
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.libraries import Field, Library, ListColumn, SearchPlan, parse_values, register
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.aggregates import forget_meter_activity, start_meter_activity_by_number
from stron_tui.domain.text import fold

@dataclass(frozen=True)
class MeterType:
    """A kind of meter: its stored code, the words shown for it, what it measures, its phases (0: not electric)."""

    code: str
    label: str
    utility: str | None  # None: any utility
    phases: int = 0


# The one list of meter types: forms, imports, exports, demo data and management tokens all use it.
METER_TYPE_LIST = (
    MeterType("single-phase-integrated", "Single-phase, integrated keypad", "electricity", 1),
    MeterType("single-phase-split", "Single-phase, split keypad", "electricity", 1),
    MeterType("three-phase-integrated", "Three-phase, integrated keypad", "electricity", 3),
    MeterType("three-phase-split", "Three-phase, split keypad", "electricity", 3),
    MeterType("water-integrated", "Water, integrated keypad", "water"),
    MeterType("water-split", "Water, split keypad", "water"),
    MeterType("gas-integrated", "Gas, integrated keypad", "gas"),
    MeterType("gas-split", "Gas, split keypad", "gas"),
    MeterType("other", "Other", None),
)
METER_TYPES = tuple(kind.code for kind in METER_TYPE_LIST)
METER_TYPES_BY_CODE = {kind.code: kind for kind in METER_TYPE_LIST}
# Older names still found in spreadsheets and databases (the first releases stored these).
_METER_TYPE_ALIASES = {"water": "water-integrated", "gas": "gas-integrated", "singlephase": "single-phase-integrated",
                       "threephase": "three-phase-integrated", "electricity": "single-phase-integrated"}
UTILITIES = ("electricity", "water", "gas", "other")
STATUSES = ("active", "inactive", "faulty", "retired")
KEY_FIELDS = ("sgc", "ti", "krn", "kt", "ea", "dkga", "base_date", "ken")
BATCH_CHUNK = 5000
MAX_BATCH = 1_000_000


def _type_words(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(text)).replace("keypad", "")


_METER_TYPE_WORDS = ({_type_words(kind.code): kind.code for kind in METER_TYPE_LIST}
                     | {_type_words(kind.label): kind.code for kind in METER_TYPE_LIST} | _METER_TYPE_ALIASES)


def meter_type_code(text: str) -> str | None:
    """The meter type's code from its code, its label or an older name, however spaced or cased; None if unknown."""
    return _METER_TYPE_WORDS.get(_type_words(text or ""))


def meter_type_label(code: str) -> str:
    kind = METER_TYPES_BY_CODE.get(code)
    return kind.label if kind else code


def utility_for_type(meter_type: str) -> str | None:
    kind = METER_TYPES_BY_CODE.get(meter_type)
    return kind.utility if kind else None


_KEY_MESSAGES = {"Supply group": "sgc", "Tariff index": "ti", "Key revision": "krn", "Key type": "kt",
                 "Key expiry": "ken", "Base date": "base_date", "Encryption": "ea", "Decoder key": "dkga"}


def key_data(values: dict) -> tokencore.KeyData:
    """The STS key data of parsed values, checked by tokencore (errors name the field)."""
    sgc = values["sgc"]
    if sgc.isdigit() and len(sgc) < 6:
        sgc = sgc.zfill(6)  # Excel drops leading zeros of numeric-looking codes
    try:
        return tokencore.KeyData(sgc=sgc, ti=values["ti"], krn=values["krn"], kt=values["kt"], ken=values["ken"],
                                 base_date=values["base_date"], ea=values["ea"], dkga=values["dkga"])
    except tokencore.TokenError as error:
        message = str(error)
        field = next((name for prefix, name in _KEY_MESSAGES.items() if message.startswith(prefix)), "sgc")
        raise ValidationError(message, field=field) from None


class Meters(Library):
    name = "meters"
    title = "Meter Library"
    entity = "meter"
    permission = "basedata.meters.edit"
    model = Meter
    key_field = "meter_number"
    fields = (
        Field("meter_number", "Meter number", required=True, max_length=13, example="01234567897",
              note="11 or 13 digits with the check digit; keep it as text in Excel", width=15),
        Field("meter_type", "Meter type", kind="choice", choices=METER_TYPES, default="single-phase-integrated",
              labels=tuple(kind.label for kind in METER_TYPE_LIST), width=22),
        Field("utility", "Utility", kind="choice", choices=UTILITIES, default="electricity", width=11),
        Field("status", "Status", kind="choice", choices=STATUSES, default="active", width=9),
        Field("sgc", "SGC", required=True, max_length=6, example="600727", width=8),
        Field("ti", "TI", kind="int", default=1, width=4),
        Field("krn", "KRN", kind="int", default=1, width=4),
        Field("kt", "KT", kind="int", default=2, width=4),
        Field("ea", "EA", kind="choice", choices=("07", "09", "11"), default="07", width=4),
        Field("dkga", "DKGA", kind="choice", choices=("02", "04"), default="02", width=5),
        Field("base_date", "Base date", kind="choice", choices=("1993", "2014", "2035"), default="1993", width=8),
        Field("ken", "KEN", kind="int", default=255, width=5),
    )
    list_columns = (
        ListColumn("Meter number", "meter_number", 14), ListColumn("Type", "meter_type", 23),
        ListColumn("Utility", "utility", 11), ListColumn("Status", "status", 8), ListColumn("SGC", "sgc", 7),
        ListColumn("KRN", "krn", 4), ListColumn("TI", "ti", 3), ListColumn("EA", "ea", 3),
    )
    sorts = {"number": ("Meter number", Meter.meter_number), "newest": ("Newest", Meter.id)}
    default_sort = "number"

    def values_query(self):
        return select(Meter.id, Meter.meter_number, Meter.meter_type, Meter.utility, Meter.status, Meter.sgc,
                      Meter.ti, Meter.krn, Meter.kt, Meter.ea, Meter.dkga, Meter.base_date.label("base_date"),
                      Meter.ken)

    def record(self, mapping):
        record = super().record(mapping)
        return type(record)(record.id, dict(record.values) | {"base_date": str(record.values["base_date"])})

    def key_column(self):
        return Meter.meter_number

    def fold_key(self, value):
        return value

    def parse(self, raw):
        raw = dict(raw)
        if isinstance(raw.get("ea"), (int, float)):
            raw["ea"] = f"{int(raw['ea']):02d}"
        if isinstance(raw.get("dkga"), (int, float)):
            raw["dkga"] = f"{int(raw['dkga']):02d}"
        for name in ("ea", "dkga"):
            text = str(raw.get(name) or "").strip().upper().removeprefix("EA").removeprefix("DKGA")
            if len(text) == 1 and text.isdigit():
                raw[name] = "0" + text
        if isinstance(raw.get("meter_type"), str) and meter_type_code(raw["meter_type"]):
            raw["meter_type"] = meter_type_code(raw["meter_type"])
        values = parse_values(self.fields, raw)
        values["meter_number"] = meter_number(values["meter_number"])
        return check_shared(values)

    def resolve(self, session, records):
        keys = vending_keys(session)
        errors = {}
        for index, values in enumerate(records):
            problem = key_problem(keys, values)
            if problem:
                errors[index] = problem
        return errors

    def columns(self, values):
        return {name: values[name] for name in ("meter_number", "meter_type", "utility", "status")} | {
            name: (int(values[name]) if name == "base_date" else values[name]) for name in KEY_FIELDS}

    def on_create(self, values):
        return installed(values)

    def search_plan(self, text):
        digits = text.replace(" ", "").replace("-", "")
        key = fold(text)
        steps = []
        if digits.isdigit() and digits.isascii():
            steps.append(("prefix", prefix_match(Meter.meter_number, digits)))
        steps.append(("contains", or_(Meter.sgc == text, contains_match(Meter.meter_type, key),
                                      Meter.utility == key, Meter.status == key)))
        return SearchPlan(tuple(steps))

    def after_create(self, session, records):
        start_meter_activity_by_number(session, [record["meter_number"] for record in records])

    def before_delete(self, session, record_id):
        forget_meter_activity(session, record_id)

    def delete_refusal(self, session: Session, record_id: int) -> str | None:
        if session.scalar(select(exists().where(Vend.meter_id == record_id))):
            return "it has sales; set its status to retired instead."
        if session.scalar(select(exists().where(ManagementToken.meter_id == record_id))):
            return "it has management tokens; set its status to retired instead."
        if session.scalar(select(exists().where(Account.meter_id == record_id))):
            return "it has an account; close the account and retire the meter instead."
        return None


def check_shared(values: dict) -> dict:
    """Type, utility and key data rules that hold for every meter."""
    expected = utility_for_type(values["meter_type"])
    if expected and values["utility"] != expected:
        raise ValidationError(f"A {meter_type_label(values['meter_type']).lower()} meter measures {expected}.",
                              field="utility")
    data = key_data(values)
    values.update(sgc=data.sgc, ti=data.ti, krn=data.krn, kt=data.kt, ken=data.ken, ea=data.ea, dkga=data.dkga,
                  base_date=str(data.base_date))
    return values


def installed(values: dict) -> dict:
    return {f"installed_{name}": (int(values[name]) if name == "base_date" else values[name]) for name in KEY_FIELDS}


def vending_keys(session: Session) -> dict[tuple[str, int], str]:
    """(SGC, KRN) -> DKGA of every supply group the system holds a key for (a short list)."""
    return {(sgc, krn): dkga for sgc, krn, dkga in session.execute(select(VendingKey.sgc, VendingKey.krn, VendingKey.dkga))}


def key_problem(keys: dict, values: dict) -> dict[str, str] | None:
    dkga = keys.get((values["sgc"], values["krn"]))
    if dkga is None:
        return {"sgc": f"The system holds no vending key for supply group {values['sgc']} KRN {values['krn']}; "
                       "add it under Supply Groups first."}
    if dkga != values["dkga"]:
        return {"dkga": f"Supply group {values['sgc']} KRN {values['krn']} uses DKGA{dkga}, not DKGA{values['dkga']}."}
    return None


LIBRARY = register(Meters())


# ---------------------------------------------------------------- batch input


@dataclass(frozen=True)
class BatchPlan:
    first: str
    last: str
    count: int
    existing: int
    existing_sample: tuple[str, ...]

    @property
    def to_create(self) -> int:
        return self.count - self.existing


@dataclass(frozen=True)
class BatchResult:
    first: str
    last: str
    created: int
    skipped: int


def run_end(text: str, field: str) -> str:
    """One end of a batch run as a full meter number: typed with its check digit (11 or 13 digits, checked)
    or without it (10 or 12 digits, computed)."""
    digits = re.sub(r"[\s-]", "", text or "")
    if digits.isascii() and digits.isdigit() and len(digits) in (10, 12):
        return digits + tokencore.drn_check_digit(digits)
    if digits.isascii() and digits.isdigit() and len(digits) not in (11, 13):
        raise ValidationError(f"Type the serial without its check digit (10 or 12 digits) or the whole meter "
                              f"number (11 or 13 digits); {digits} has {len(digits)}.", field=field)
    return meter_number(text, field)


def batch_numbers(first: str, last: str) -> tuple[str, str, int, int, int]:
    """Check a run's ends; returns (first, last, width, first serial, last serial)."""
    first = run_end(first, "first")
    last = run_end(last, "last")
    if len(first) != len(last):
        raise ValidationError("The first and last meter numbers must have the same number of digits.", field="last")
    start, end = int(first[:-1]), int(last[:-1])
    if end < start:
        raise ValidationError("The last meter number comes before the first.", field="last")
    if end - start + 1 > MAX_BATCH:
        raise ValidationError(f"A batch has at most {MAX_BATCH:,} meters.", field="last")
    return first, last, len(first) - 1, start, end


def numbers_in_run(width: int, start: int, end: int):
    """Each serial of the run with its computed check digit."""
    for serial in range(start, end + 1):
        partial = str(serial).zfill(width)
        yield partial + tokencore.drn_check_digit(partial)


def _existing_in_run(session: Session, first: str, last: str):
    return (
        select(Meter.meter_number)
        .where(Meter.meter_number >= first, Meter.meter_number <= last,
               func.length(Meter.meter_number) == len(first))
    )


def plan_batch(ctx: AppContext, actor: Actor, first: str, last: str) -> BatchPlan:
    """How many meters a run holds and which of them already exist (nothing is changed)."""
    actor.require(LIBRARY.permission)
    first, last, _, start, end = batch_numbers(first, last)
    with ctx.db.read_session() as session:
        query = _existing_in_run(session, first, last)
        existing = session.scalar(select(func.count()).select_from(query.subquery()))
        sample = tuple(session.scalars(query.order_by(Meter.meter_number).limit(20)))
    return BatchPlan(first, last, end - start + 1, existing, sample)


def create_batch(ctx: AppContext, actor: Actor, first: str, last: str, shared: dict,
                 progress: Callable[[int, int], None] | None = None) -> BatchResult:
    """Create every meter of the run that does not exist yet, in one transaction.

    `shared` holds the attributes all meters share (type, utility, status, key
    data). `progress(done, total)` is called per chunk and may raise
    ExportCancelled to stop: then nothing is created.
    """
    actor.require(LIBRARY.permission)
    first, last, width, start, end = batch_numbers(first, last)
    raw = dict(shared) | {"meter_number": first}
    values = LIBRARY.parse(raw)
    now = utcnow()
    template = LIBRARY.columns(values) | installed(values) | {"created_at": now, "updated_at": now}
    total = end - start + 1
    with ctx.db.session() as session:
        problem = key_problem(vending_keys(session), values)
        if problem:
            field = next(iter(problem))
            raise ValidationError(problem[field], field=field)
        existing = set(session.scalars(_existing_in_run(session, first, last)))
        created = 0
        batch: list[dict] = []
        done = 0
        for number in numbers_in_run(width, start, end):
            done += 1
            if number in existing:
                continue
            row = dict(template)
            row["meter_number"] = number
            batch.append(row)
            if len(batch) >= BATCH_CHUNK:
                session.execute(insert(Meter), batch)
                start_meter_activity_by_number(session, [row["meter_number"] for row in batch])
                created += len(batch)
                batch = []
                if progress:
                    progress(done, total)
        if batch:
            session.execute(insert(Meter), batch)
            start_meter_activity_by_number(session, [row["meter_number"] for row in batch])
            created += len(batch)
        if progress:
            progress(total, total)
        shown = {name: values[name] for name in ("meter_type", "utility", "status", *KEY_FIELDS)}
        audit.record(session, actor, "meters.batch_create", entity="meter", entity_id=first,
                     summary=f"batch input of meters {first} to {last}: {created} created, {len(existing)} existed",
                     detail={"first": first, "last": last, "created": created, "skipped": len(existing)} | shown)
    return BatchResult(first, last, created, len(existing))


__all__ = ["LIBRARY", "BatchPlan", "BatchResult", "plan_batch", "create_batch", "numbers_in_run",
           "METER_TYPES", "UTILITIES", "STATUSES", "ExportCancelled"]
