"""Portable query building blocks: row locks, keyset pages, prefix search, chunking.

Written once here so every library, report and the vending path behave the
same on SQLite, PostgreSQL and SQL Server.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Any, Iterable, Iterator, Sequence, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.sql import ColumnElement

T = TypeVar("T")

# SQL Server allows 2,100 parameters per statement; stay well under it.
MAX_IN_LIST = 1000
MSSQL_ROW_LOCK = "WITH (UPDLOCK, ROWLOCK)"


def for_update(query: Select, entity) -> Select:
    """Lock the selected rows until commit, on every backend.

    PostgreSQL takes FOR UPDATE; SQL Server ignores FOR UPDATE and needs the
    table hint; SQLite has neither and relies on BEGIN IMMEDIATE (see engine).
    Only `entity`'s rows are locked when the query joins other tables.
    """
    return query.with_for_update(of=entity).with_hint(entity, MSSQL_ROW_LOCK, dialect_name="mssql")


def prefix_match(column, prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix`, as a range the column's index can serve.

    Search columns are folded and compared by code point (see SearchKey), so
    [prefix, prefix + U+10FFFF) holds exactly the strings with that prefix;
    no LIKE, hence no wildcard escaping and no collation surprises.
    """
    return and_(column >= prefix, column < prefix + "\U0010ffff")


def contains_match(column, fragment: str) -> ColumnElement[bool]:
    """`column` contains `fragment` literally (% and _ are escaped)."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def after_key(columns: Sequence, values: Sequence[Any], descending: bool = False) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `columns` (keyset pagination).

    Expanded to (a > x) OR (a = x AND b > y) ... because SQL Server has no row
    value comparison.
    """
    clauses = []
    for index, column in enumerate(columns):
        equal_prefix = [columns[i] == values[i] for i in range(index)]
        step = column < values[index] if descending else column > values[index]
        clauses.append(and_(*equal_prefix, step))
    return or_(*clauses)


@dataclass(frozen=True)
class Page:
    rows: list
    next_key: tuple | None  # pass back as `after` for the next page; None on the last page

    @property
    def has_more(self) -> bool:
        return self.next_key is not None


def keyset_page(
    query: Select,
    order_columns: Sequence,
    *,
    after: Sequence[Any] | None,
    limit: int,
    descending: bool = False,
    key_of,
) -> tuple[Select, Any]:
    """Build the page query (one row more than asked, to know if more follow).

    Returns the query and a function turning the fetched rows into a Page.
    `key_of(row)` gives the row's values for `order_columns`.
    """
    if after is not None:
        query = query.where(after_key(order_columns, list(after), descending))
    ordering = [column.desc() if descending else column.asc() for column in order_columns]
    query = query.order_by(*ordering).limit(limit + 1)

    def to_page(rows: list) -> Page:
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(rows, tuple(key_of(rows[-1])) if more and rows else None)

    return query, to_page


def chunked(items: Iterable[T], size: int = MAX_IN_LIST) -> Iterator[list[T]]:
    """Split an IN list so no statement passes SQL Server's parameter limit."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
