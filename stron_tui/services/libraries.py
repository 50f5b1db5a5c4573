"""The Base Data libraries: one engine for add, edit, remove, search, export and import.

Each library (districts, stations, customers, tariffs, meters, accounts) is a
`Library` subclass that says what its fields are, how a field's raw text is
parsed (the same parsing for a form and for an Excel row), which references
it resolves, how it is searched and what stops a removal. The engine here
does the rest the same way for all six: permission first, one transaction,
an audit entry with before/after, frozen results, keyset pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator, Mapping, Sequence

from sqlalchemy import Select, func, insert, select
from sqlalchemy import delete as sql_delete
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from stron_tui.db.queries import chunked, for_update, keyset_page, prefix_match
from stron_tui.errors import Conflict, NotFound, ValidationError
from stron_tui.services import audit
from stron_tui.domain.clock import utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.domain.text import clean, fold

PAGE_SIZE = 50
YES = {"y", "yes", "true", "1", "on", "active"}
NO = {"n", "no", "false", "0", "off", "inactive", ""}
# name@example.com: no spaces, no leading, trailing or doubled dots, a domain of dotted labels ending in letters.
EMAIL = re.compile(r"^(?!\.)(?!.*\.\.)[\w.!#$%&'*+/=?^`{|}~-]+(?<!\.)"
                   r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$")
PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def e164(text: str) -> str:
    """A phone number in E.164 (+ country code and number, 8 to 15 digits), from how people write it:
    spaces, dashes, dots and brackets are dropped, 00 stands for +. Raises ValueError with the reason."""
    compact = PHONE_SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    digits = compact.removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{text} is not a phone number: use digits, spaces and a leading +, e.g. +234 803 555 0100.")
    if digits.startswith("0"):
        raise ValueError(f"Write {text} with its country code, e.g. +234 803 555 0100 (not 0803 555 0100).")
    if not 8 <= len(digits) <= 15:
        raise ValueError(f"{text} has {len(digits)} digits; a phone number with its country code has 8 to 15.")
    return "+" + digits


# ---------------------------------------------------------------- descriptions


@dataclass(frozen=True)
class Field:
    """One field of a library record: a form input and an Excel column at once."""

    name: str
    label: str
    kind: str = "text"  # text | int | decimal | percent | bool | choice | email | phone
    required: bool = False
    max_length: int = 100
    choices: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # words for each choice, same order (a choice is also found by its label)
    example: str = ""
    note: str = ""
    width: int = 14
    default: Any = None

    @property
    def header(self) -> str:
        return self.label

    def hint(self) -> str:
        if self.choices:
            return f"{self.label} ({', '.join(self.choices)})"
        if self.kind == "bool":
            return f"{self.label} (y/n)"
        return self.label + (" *" if self.required else "")


@dataclass(frozen=True)
class ListColumn:
    title: str
    name: str  # a field name, or an extra value the list query adds
    width: int = 14


@dataclass(frozen=True)
class Record:
    """One library record as plain data: its id and its values by field name."""

    id: int
    values: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


@dataclass(frozen=True)
class Page:
    rows: list[Record]
    next_after: tuple | None  # pass back as `after` for the next page
    mode: str = ""  # which search served it: "all", "prefix" or "contains"
    first_key: tuple | None = None  # the first row's key: `after` for paging backwards from here
    last_key: tuple | None = None  # the last row's key: `after` for paging forwards from here

    @property
    def has_more(self) -> bool:
        return self.next_after is not None


@dataclass(frozen=True)
class SearchPlan:
    """Conditions tried in order: the first that finds anything serves the search."""

    steps: tuple[tuple[str, Any], ...]


# ---------------------------------------------------------------- parsing helpers


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, datetime):
        raw = raw.isoformat(sep=" ")
    elif isinstance(raw, date):
        raw = raw.isoformat()
    return clean(str(raw))


def parse_field(spec: Field, raw: Any) -> Any:
    """Turn raw input (form text or an Excel cell) into the field's value, or raise ValidationError."""
    text = _text(raw)
    if not text:
        if spec.required:
            label = spec.label if spec.label.isupper() else spec.label.lower()
            raise ValidationError(f"Enter the {label}.", field=spec.name)
        if spec.default is not None:
            return spec.default
        if spec.kind in ("int", "decimal", "percent"):
            return None
        if spec.kind == "bool":
            return False
        return ""
    if spec.kind == "text" or spec.kind == "email":
        if len(text) > spec.max_length:
            raise ValidationError(f"{spec.label} has at most {spec.max_length} characters.", field=spec.name)
        if spec.kind == "email" and not EMAIL.match(text):
            raise ValidationError(f"{text} is not an e-mail address like name@example.com.", field=spec.name)
        return text
    if spec.kind == "phone":
        try:
            return e164(text)
        except ValueError as error:
            raise ValidationError(str(error), field=spec.name) from None
    if spec.kind == "choice":
        folded = fold(text)
        for choice, label in zip(spec.choices, spec.labels or spec.choices):
            if folded in (fold(choice), fold(label)):
                return choice
        raise ValidationError(f"{spec.label} must be one of: {', '.join(spec.choices)}.", field=spec.name)
    if spec.kind == "bool":
        folded = fold(text)
        if folded in YES:
            return True
        if folded in NO:
            return False
        raise ValidationError(f"{spec.label} must be y or n.", field=spec.name)
    if spec.kind == "int":
        if isinstance(raw, bool) or not re.fullmatch(r"[0-9]+", text):
            raise ValidationError(f"{spec.label} must be a whole number.", field=spec.name)
        return int(text)
    if spec.kind in ("decimal", "percent"):
        try:
            number = Decimal(text.replace(",", "")) if not isinstance(raw, (int, float)) else Decimal(str(raw))
        except InvalidOperation:
            raise ValidationError(f"{spec.label} must be a number.", field=spec.name) from None
        if not number.is_finite() or number < 0:
            raise ValidationError(f"{spec.label} must be a number of 0 or more.", field=spec.name)
        if spec.kind == "percent":
            if number > 100:
                raise ValidationError(f"{spec.label} is a percentage from 0 to 100.", field=spec.name)
            number = number / 100
        return _plain_decimal(number)
    raise AssertionError(spec.kind)


def _plain_decimal(number: Decimal) -> Decimal:
    """The same number with trailing zeros gone, so 15, 15.0 and 15.000000 compare equal."""
    normal = number.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal


def parse_values(fields: Sequence[Field], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parse every field; all problems are reported at once (field -> message)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in fields:
        try:
            values[spec.name] = parse_field(spec, raw.get(spec.name))
        except ValidationError as error:
            errors[spec.name] = error.message
    if errors:
        first = next(iter(errors))
        raise ValidationError(errors[first], field=first, errors=errors)
    return values


def display(spec: Field, value: Any) -> Any:
    """A stored value as the form and the Excel file show it (percent as percent)."""
    if value is None:
        return None
    if spec.kind == "percent":
        return _plain_decimal(Decimal(value) * 100)
    if spec.kind == "decimal":
        return _plain_decimal(Decimal(value))
    return value


def as_text(spec: Field, value: Any) -> str:
    value = display(spec, value)
    if value is None:
        return ""
    if spec.kind == "bool":
        return "y" if value else "n"
    return str(value)


def comparable(spec: Field, value: Any) -> Any:
    if spec.kind in ("decimal", "percent") and value is not None:
        return _plain_decimal(Decimal(value))
    return value


# ---------------------------------------------------------------- the library base


class Library:
    """A library's description; subclasses fill in the class attributes and hooks."""

    name: str = ""
    title: str = ""
    entity: str = ""
    permission: str = ""
    model: Any = None
    key_field: str = ""  # the natural key: code, meter number, tariff name, account number
    fields: tuple[Field, ...] = ()
    list_columns: tuple[ListColumn, ...] = ()
    sorts: dict[str, tuple[str, Any]] = {}
    default_sort: str = ""

    # -- hooks
    def values_query(self) -> Select:
        """Columns labelled with the field names, plus `id`."""
        raise NotImplementedError

    def key_column(self):
        raise NotImplementedError

    def fold_key(self, value: str) -> str:
        return fold(value)

    def parse(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return parse_values(self.fields, raw)

    def resolve(self, session: Session, records: list[dict]) -> dict[int, dict[str, str]]:
        """Look up referenced records for a batch (adds their ids); index -> {field: message}."""
        return {}

    def check(self, session: Session, values: dict, record_id: int | None) -> None:
        """Rules that need the database beyond references (raise ValidationError)."""

    def columns(self, values: dict) -> dict[str, Any]:
        """Model column values to write for these parsed and resolved values."""
        raise NotImplementedError

    def on_create(self, values: dict) -> dict[str, Any]:
        return {}

    def after_create(self, session: Session, records: Sequence[Mapping[str, Any]]) -> None:
        """Rows other tables keep for every new record (its inserted column values), same transaction."""

    def suggest(self, session: Session) -> dict[str, str]:
        """Values offered in a new record's form (e.g. the next free code); the operator may change them."""
        return {}

    def delete_refusal(self, session: Session, record_id: int) -> str | None:
        return None

    def before_delete(self, session: Session, record_id: int) -> None:
        """Remove rows that belong to the record (delete_refusal has already allowed it)."""

    def search_plan(self, text: str) -> SearchPlan:
        raise NotImplementedError

    def describe(self, values: Mapping[str, Any]) -> str:
        return f"{self.entity} {values.get(self.key_field, '')}"

    # -- helpers
    @property
    def fields_by_name(self) -> dict[str, Field]:
        return {spec.name: spec for spec in self.fields}

    def export_values(self, mapping: Mapping[str, Any]) -> list[Any]:
        return [display(spec, mapping[spec.name]) for spec in self.fields]

    def export_rows(self, keys: Sequence[str], rows) -> Iterator[tuple]:
        """Result rows as Excel rows in field order; only numbers shown as percent or decimal are converted."""
        positions = [list(keys).index(spec.name) for spec in self.fields]
        converted = [(index, spec) for index, spec in enumerate(self.fields) if spec.kind in ("decimal", "percent")]
        for row in rows:
            cells = [row[position] for position in positions]
            for index, spec in converted:
                cells[index] = display(spec, cells[index])
            yield cells

    def record(self, mapping: Mapping[str, Any]) -> Record:
        values = {key: mapping[key] for key in mapping.keys() if key not in ("id", "_sort")}
        return Record(id=mapping["id"], values=values)


REGISTRY: dict[str, Library] = {}


def register(library: Library) -> Library:
    REGISTRY[library.name] = library
    return library


def library(name: str) -> Library:
    if len(REGISTRY) < 6:
        load_libraries()
    try:
        return REGISTRY[name]
    except KeyError:
        raise NotFound(f"There is no library named {name}; choose one of {', '.join(sorted(REGISTRY))}.") from None


def load_libraries() -> dict[str, Library]:
    from stron_tui.services import accounts, customers, districts, meters, stations, tariffs  # noqa: F401

    return REGISTRY


# ---------------------------------------------------------------- reading


def _sort_column(lib: Library, sort: str | None):
    key = sort or lib.default_sort
    if key not in lib.sorts:
        raise ValidationError(f"{lib.title} cannot be sorted by {key}.", field="sort")
    return lib.sorts[key][1]


def _plan_steps(lib: Library, text: str) -> tuple[tuple[str, Any], ...]:
    text = clean(text)
    if not text:
        return (("all", None),)
    return lib.search_plan(text).steps


def search(ctx: AppContext, actor: Actor, name: str, text: str = "", *, sort: str | None = None,
           descending: bool = False, after: tuple | None = None, limit: int = PAGE_SIZE,
           backwards: bool = False) -> Page:
    """One page of the library, matching `text`, in keyset order (never a whole table).

    `backwards` walks the other way from `after` (PageUp; with no `after`, the
    last page); rows still come in list order and `next_after` then points
    further back.
    """
    actor.require("basedata.view")
    lib = library(name)
    limit = max(1, min(limit, 500))
    sort_column = _sort_column(lib, sort)
    steps = _plan_steps(lib, text)
    direction = descending != backwards
    with ctx.db.read_session() as session:
        if after is not None:
            step_index, *key = after
            return _page(session, lib, steps, int(step_index), sort_column, direction, tuple(key), limit, backwards)
        for step_index in range(len(steps)):
            page = _page(session, lib, steps, step_index, sort_column, direction, None, limit, backwards)
            if page.rows or step_index == len(steps) - 1:
                return page
    raise AssertionError("unreachable")


def _page(session, lib, steps, step_index, sort_column, descending, after, limit, backwards=False) -> Page:
    mode, condition = steps[step_index]
    query = lib.values_query().add_columns(sort_column.label("_sort"))
    if condition is not None:
        query = query.where(condition)
    query, to_page = keyset_page(query, [sort_column, lib.model.id], after=after, limit=limit,
                                 descending=descending, key_of=lambda row: (row._sort, row.id))
    page = to_page(list(session.execute(query)))
    fetched = list(reversed(page.rows)) if backwards else page.rows
    rows = [lib.record(row._mapping) for row in fetched]
    next_after = (step_index, *page.next_key) if page.next_key else None
    first_key = (step_index, fetched[0]._sort, fetched[0].id) if fetched else None
    last_key = (step_index, fetched[-1]._sort, fetched[-1].id) if fetched else None
    return Page(rows, next_after, mode, first_key, last_key)


def get(ctx: AppContext, actor: Actor, name: str, record_id: int) -> Record:
    actor.require("basedata.view")
    lib = library(name)
    with ctx.db.read_session() as session:
        return _get(session, lib, record_id)


def _get(session: Session, lib: Library, record_id: int) -> Record:
    row = session.execute(lib.values_query().where(lib.model.id == record_id)).first()
    if row is None:
        raise NotFound(f"That {lib.entity} no longer exists.")
    return lib.record(row._mapping)


def find(ctx: AppContext, actor: Actor, name: str, key: str) -> Record | None:
    """The record with this code / number / name, or None."""
    actor.require("basedata.view")
    lib = library(name)
    with ctx.db.read_session() as session:
        row = session.execute(lib.values_query().where(lib.key_column() == lib.fold_key(key))).first()
        return lib.record(row._mapping) if row else None


def count(ctx: AppContext, actor: Actor, name: str) -> int:
    actor.require("basedata.view")
    lib = library(name)
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(lib.model))


SEARCH_COUNT_LIMIT = 1000  # matches a search counts before it says "more than"


def count_matches(ctx: AppContext, actor: Actor, name: str, text: str, *, up_to: int = SEARCH_COUNT_LIMIT) -> int:
    """How many records the search `text` finds (the same condition that serves its pages), counting at
    most `up_to` + 1: a count above `up_to` means "more than up_to" (a contains search over a million
    rows is not counted to the end on every keystroke)."""
    actor.require("basedata.view")
    lib = library(name)
    with ctx.db.read_session() as session:
        for _mode, condition in _plan_steps(lib, text):
            query = lib.values_query().with_only_columns(lib.model.id)
            if condition is not None:
                query = query.where(condition)
            found = session.scalar(select(func.count()).select_from(query.limit(up_to + 1).subquery()))
            if found:
                return found
    return 0


# ---------------------------------------------------------------- changing


def _audit_values(lib: Library, values: Mapping[str, Any]) -> dict:
    return {spec.name: values.get(spec.name) for spec in lib.fields}


def _raise_row_errors(errors: dict[int, dict[str, str]]) -> None:
    if errors:
        problems = errors[min(errors)]
        first = next(iter(problems))
        raise ValidationError(problems[first], field=first, errors=problems)


def create(ctx: AppContext, actor: Actor, name: str, raw: Mapping[str, Any]) -> Record:
    lib = library(name)
    actor.require(lib.permission)
    values = lib.parse(raw)
    with ctx.db.session() as session:
        _raise_row_errors(lib.resolve(session, [values]))
        key = values.get(lib.key_field)
        if key and session.scalar(select(lib.model.id).where(lib.key_column() == lib.fold_key(key))) is not None:
            spec = lib.fields_by_name[lib.key_field]
            raise ValidationError(f"A {lib.entity} with {spec.label.lower()} {key} already exists.",
                                  field=lib.key_field)
        lib.check(session, values, None)
        now = utcnow()
        columns = lib.columns(values) | lib.on_create(values)
        if hasattr(lib.model, "created_at"):
            columns["created_at"] = now
        if hasattr(lib.model, "updated_at"):
            columns["updated_at"] = now
        obj = lib.model(**columns)
        session.add(obj)
        session.flush()
        lib.after_create(session, [columns])
        result = _get(session, lib, obj.id)
        audit.record(session, actor, f"{lib.name}.create", entity=lib.entity, entity_id=obj.id,
                     summary=f"created {lib.describe(result.values)}",
                     detail={"after": _audit_values(lib, result.values)})
        return result


def update(ctx: AppContext, actor: Actor, name: str, record_id: int, raw: Mapping[str, Any]) -> Record:
    lib = library(name)
    actor.require(lib.permission)
    values = lib.parse(raw)
    with ctx.db.session() as session:
        locked = session.scalar(for_update(select(lib.model).where(lib.model.id == record_id), lib.model))
        if locked is None:
            raise NotFound(f"That {lib.entity} no longer exists.")
        before = _get(session, lib, record_id)
        _raise_row_errors(lib.resolve(session, [values]))
        key = values.get(lib.key_field)
        if key:
            other = session.scalar(select(lib.model.id).where(lib.key_column() == lib.fold_key(key)))
            if other is not None and other != record_id:
                spec = lib.fields_by_name[lib.key_field]
                raise ValidationError(f"Another {lib.entity} has {spec.label.lower()} {key}.", field=lib.key_field)
        lib.check(session, values, record_id)
        changes = field_changes(lib, before.values, values)
        if not changes:
            return before
        columns = lib.columns(values)
        if hasattr(lib.model, "updated_at"):
            columns["updated_at"] = utcnow()
        session.execute(sql_update(lib.model).where(lib.model.id == record_id).values(**columns))
        result = _get(session, lib, record_id)
        audit.record(session, actor, f"{lib.name}.update", entity=lib.entity, entity_id=record_id,
                     summary=f"changed {lib.describe(result.values)}: {', '.join(changes)}",
                     detail=changes)
        return result


def field_changes(lib: Library, before: Mapping[str, Any], after: Mapping[str, Any]) -> dict:
    """The fields a change alters, as the audit trail records them (values compared as the form shows them)."""
    changed = {}
    for spec in lib.fields:
        old, new = comparable(spec, before.get(spec.name)), comparable(spec, after.get(spec.name))
        if old != new:
            changed[spec.name] = [old, new]
    return audit.changes({k: v[0] for k, v in changed.items()}, {k: v[1] for k, v in changed.items()})


def remove(ctx: AppContext, actor: Actor, name: str, record_id: int) -> Record:
    lib = library(name)
    actor.require(lib.permission)
    with ctx.db.session() as session:
        locked = session.scalar(for_update(select(lib.model).where(lib.model.id == record_id), lib.model))
        if locked is None:
            raise NotFound(f"That {lib.entity} no longer exists.")
        before = _get(session, lib, record_id)
        reason = lib.delete_refusal(session, record_id)
        if reason:
            described = lib.describe(before.values)
            raise Conflict(f"{described[:1].upper()}{described[1:]} cannot be removed: {reason}")
        lib.before_delete(session, record_id)
        session.execute(sql_delete(lib.model).where(lib.model.id == record_id))
        audit.record(session, actor, f"{lib.name}.delete", entity=lib.entity, entity_id=record_id,
                     summary=f"removed {lib.describe(before.values)}",
                     detail={"before": _audit_values(lib, before.values)})
        return before


# ---------------------------------------------------------------- streaming


def stream_values(session: Session, lib: Library, text: str = "", sort: str | None = None,
                  descending: bool = False, raw_rows: bool = False) -> Iterator[Any]:
    """Every record matching the search, in list order, streamed from the server in chunks.

    With `raw_rows` the first item is the list of column names, then plain rows (faster for exports).
    """
    sort_column = _sort_column(lib, sort)
    steps = _plan_steps(lib, text)
    chosen = steps[-1]
    for step in steps:
        probe = lib.values_query().with_only_columns(lib.model.id).limit(1)
        if step[1] is not None:
            probe = probe.where(step[1])
        if session.execute(probe).first() is not None:
            chosen = step
            break
    query = lib.values_query()
    if chosen[1] is not None:
        query = query.where(chosen[1])
    order = [sort_column.desc(), lib.model.id.desc()] if descending else [sort_column, lib.model.id]
    result = session.execute(query.order_by(*order).execution_options(yield_per=2000))
    if raw_rows:
        yield list(result.keys())
        yield from result
        return
    for row in result:
        yield row._mapping


def existing_by_key(session: Session, lib: Library, keys: Sequence[str]) -> dict[str, Record]:
    """Existing records for these folded natural keys, looked up in chunks."""
    found: dict[str, Record] = {}
    for chunk in chunked(keys):
        query = lib.values_query().add_columns(lib.key_column().label("_key")).where(lib.key_column().in_(chunk))
        for row in session.execute(query):
            mapping = dict(row._mapping)
            key = mapping.pop("_key")
            found[key] = lib.record(mapping)
    return found


def bulk_write(session: Session, lib: Library, inserts: list[dict], updates: list[dict]) -> None:
    """Inserts and by-id updates as executemany batches (fast on every backend)."""
    if inserts:
        session.execute(insert(lib.model), inserts)
        lib.after_create(session, inserts)
    if updates:
        session.execute(sql_update(lib.model), updates)


def blank_form(lib: Library) -> dict[str, str]:
    return {spec.name: as_text(spec, spec.default) if spec.default is not None else "" for spec in lib.fields}


def new_form(ctx: AppContext, actor: Actor, name: str) -> dict[str, str]:
    """A new record's form: defaults, and the library's suggestions (the next free customer ID, say)."""
    lib = library(name)
    actor.require(lib.permission)
    with ctx.db.read_session() as session:
        return blank_form(lib) | lib.suggest(session)


_CODE_PATTERN = re.compile(r"^(\D*)(\d+)$")


def next_free_code(session: Session, lib: Library, default: str) -> str:
    """The next free code in the library's pattern: the newest record's letters and zero-padded number
    (C000041 after C000040), or `default`'s pattern when the newest code has none. Index look-ups only."""
    key_column, shown = lib.key_column(), getattr(lib.model, lib.key_field)
    newest = session.scalar(select(shown).order_by(lib.model.id.desc()).limit(1))
    match = _CODE_PATTERN.match(newest or "") or _CODE_PATTERN.match(default)
    prefix, width = match.group(1), len(match.group(2))
    same_shape = session.scalars(
        select(shown).where(prefix_match(key_column, lib.fold_key(prefix)),
                            func.length(key_column) == len(prefix) + width)
        .order_by(key_column.desc()).limit(50))
    numbered = [(int(code[len(prefix):]), code[:len(prefix)]) for code in same_shape if code[len(prefix):].isdigit()]
    highest, prefix = max(numbered, default=(0, prefix))  # the highest code's letters as it writes them
    number = highest + 1
    while True:
        code = f"{prefix}{number:0{width}d}"
        if session.scalar(select(lib.model.id).where(key_column == lib.fold_key(code))) is None:
            return code
        number += 1


def form_text(lib: Library, record: Record) -> dict[str, str]:
    return {spec.name: as_text(spec, record.get(spec.name)) for spec in lib.fields}


__all__ = [
    "Field", "ListColumn", "Library", "Page", "Record", "SearchPlan", "create", "update", "remove", "search",
    "get", "find", "count", "library", "load_libraries", "register", "stream_values", "existing_by_key",
    "bulk_write", "blank_form", "form_text", "new_form", "next_free_code", "e164", "parse_field",
    "parse_values", "display", "as_text", "comparable", "PAGE_SIZE",
]
