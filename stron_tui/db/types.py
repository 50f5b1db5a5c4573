"""Column types that behave the same on SQLite, PostgreSQL and SQL Server."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Integer, Numeric, Unicode, types

# SQLite only auto-increments an INTEGER PRIMARY KEY, so big ids are INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(types.TypeDecorator):
    """A UTC instant: stored without zone (DATETIME2 on SQL Server), read back aware."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "mssql":
            from sqlalchemy.dialects import mssql  # only then: keeps start-up light

            return dialect.type_descriptor(mssql.DATETIME2(precision=6))
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class Money(types.TypeDecorator):
    """Money as Decimal with four places (enough for every ISO minor unit)."""

    impl = Numeric(18, 4)
    cache_ok = True

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


class Rate(types.TypeDecorator):
    """A rate or price per unit with six places."""

    impl = Numeric(18, 6)
    cache_ok = True

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


class Units(types.TypeDecorator):
    """Token units (kWh, m3, ...): 0.1 resolution as STS transfers them."""

    impl = Numeric(14, 1)
    cache_ok = True

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


# SQL Server's binary collation: ordered by code point like PostgreSQL's "C".
MSSQL_BINARY_COLLATION = "Latin1_General_100_BIN2"


def SearchKey(length: int) -> types.TypeEngine:
    """A folded search column compared byte-wise, so prefix ranges use the index.

    PostgreSQL's and SQL Server's default collations are linguistic (and SQL
    Server's usually case-insensitive); "C" and Latin1_General_100_BIN2 order
    by code point, which makes `col >= 'abc' AND col < 'abd'` exactly a prefix
    match the index answers. Folding happens in the application.
    """
    return (Unicode(length)
            .with_variant(Unicode(length, collation="C"), "postgresql")
            .with_variant(Unicode(length, collation=MSSQL_BINARY_COLLATION), "mssql"))
