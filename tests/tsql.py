"""T-SQL checks without a SQL Server: compile for SQL Server 2022 and parse with sqlglot (tsql).

`StatementCheck` watches every statement the application executes during a
test (services, reports, API, SSH all reach the database through SQLAlchemy
engines), compiles each distinct one for SQL Server and parses the T-SQL;
tests/conftest.py fails the test that ran a statement SQL Server would not
accept. `parse_script` does the same for Alembic's offline T-SQL.
"""

from __future__ import annotations

import re
import threading

import sqlglot
from sqlalchemy import Delete, Engine, Insert, Select, Update, event
from sqlalchemy.dialects.mssql.pyodbc import MSDialect_pyodbc
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.util import find_tables
from sqlglot import exp
from sqlglot.tokens import TokenType

_POSTCOMPILE = re.compile(r"__\[POSTCOMPILE_\w+\]")
# Words sqlglot reads in any dialect but SQL Server rejects.
_NOT_TSQL_WORDS = {"NULLS", "LIMIT", "RETURNING", "ILIKE"}
_COMPARISONS = (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.EQ, exp.NEQ)
_BATCH_SEPARATOR = re.compile(r"^GO$", re.MULTILINE)


def sql_server_2022():
    """The mssql dialect configured as production runs it (a bare one renders pre-2012 SQL)."""
    dialect = MSDialect_pyodbc(deprecate_large_types=True)  # qmark placeholders, as pyodbc sends them
    dialect.server_version_info = (16, 0)
    dialect._supports_offset_fetch = True
    return dialect


class TSqlError(AssertionError):
    pass


def parse_tsql(sql: str) -> list[exp.Expression]:
    """Parse T-SQL or raise TSqlError; a statement sqlglot only keeps as raw text counts as unparsed."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="tsql", error_level=sqlglot.ErrorLevel.RAISE) if s]
    except sqlglot.errors.SqlglotError as error:
        raise TSqlError(f"T-SQL does not parse: {error}\n{sql}") from None
    for statement in statements:
        if isinstance(statement, exp.Command):
            raise TSqlError(f"T-SQL not understood (kept as raw text): {statement.sql()[:200]}")
        for comparison in statement.find_all(*_COMPARISONS):
            if isinstance(comparison.left, exp.Tuple) or isinstance(comparison.right, exp.Tuple):
                raise TSqlError(f"SQL Server has no row-value comparison: {comparison.sql()}\n{sql}")
    for token in sqlglot.tokenize(sql, read="tsql"):
        if token.token_type not in (TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.IDENTIFIER) \
                and token.text.upper() in _NOT_TSQL_WORDS:
            raise TSqlError(f"{token.text.upper()} is not T-SQL\n{sql}")
    if not statements:
        raise TSqlError(f"no T-SQL statement in {sql!r}")
    return statements


# Alembic drops a column's default constraint on SQL Server with dynamic SQL: the name is looked
# up, then run through EXEC('...' + @const_name). sqlglot reads no dynamic EXEC, so the batch is
# parsed as its three statements, the EXEC as the statement it builds.
_DYNAMIC_DROP = re.compile(r"\A(declare @(\w+) [^\n]+)\n(select @\2 = .*?)\nexec\('([^']*)' \+ @\2\);?\Z",
                           re.IGNORECASE | re.DOTALL)


def _batch_statements(body: str) -> list[str]:
    start = body.lower().find("declare @")
    if start > 0:  # the script's first batch: BEGIN TRANSACTION before a migration that starts with a drop
        head = body[:start].strip()
        return ([head] if head else []) + _batch_statements(body[start:])
    dynamic = _DYNAMIC_DROP.match(body)
    if dynamic:
        declare, name, lookup, built = dynamic.groups()
        return [declare, lookup, built + f"[{name}]"]
    return [body]


def parse_script(script: str) -> int:
    """Parse every batch of an offline migration script (batches split on GO); returns the statement count."""
    count = 0
    for batch in _BATCH_SEPARATOR.split(script):
        body = "\n".join(line for line in batch.splitlines() if not line.lstrip().startswith("--")).strip()
        for statement in _batch_statements(body) if body else ():
            count += len(parse_tsql(statement))
    return count


def compile_tsql(statement) -> str:
    """The T-SQL text SQL Server would receive (pyodbc `?` placeholders)."""
    sql = str(statement.compile(dialect=sql_server_2022()))
    return _POSTCOMPILE.sub("?", sql)  # expanding IN lists become one placeholder here


def _ours(statement) -> bool:
    from stron_tui.db.models import Base

    tables = find_tables(statement, include_crud=True, include_joins=True)
    ours = set(Base.metadata.tables) | {"alembic_version"}
    return all(table.name in ours and getattr(table, "schema", None) is None for table in tables)


class StatementCheck:
    """Collects T-SQL failures of statements executed on any engine in this process."""

    CHECKED = (Select, Insert, Update, Delete)

    def __init__(self) -> None:
        self._seen: dict[object, str | None] = {}
        self._lock = threading.Lock()
        self.failures: list[str] = []
        self.checked = 0
        self.statements: list[str] = []  # the T-SQL of each distinct statement checked

    def install(self) -> None:
        event.listen(Engine, "before_execute", self._before_execute)

    def remove(self) -> None:
        event.remove(Engine, "before_execute", self._before_execute)

    def _before_execute(self, conn, clauseelement, multiparams, params, execution_options):
        if not isinstance(clauseelement, self.CHECKED) or not isinstance(clauseelement, Executable):
            return
        if not _ours(clauseelement):
            return  # a database's own catalogue queries (reflection on PostgreSQL uses arrays) are not ours
        cache_key = clauseelement._generate_cache_key()
        key = cache_key.key if cache_key is not None else None  # the structure, not the values
        with self._lock:
            if key is not None and key in self._seen:
                failure = self._seen[key]
            else:  # a statement SQLAlchemy cannot cache is checked every time
                failure = self._check(clauseelement)
                if key is not None:
                    self._seen[key] = failure
                self.checked += 1
            if failure:
                self.failures.append(failure)

    def _check(self, statement) -> str | None:
        try:
            sql = compile_tsql(statement)
            self.statements.append(sql)
            parse_tsql(sql)
        except TSqlError as error:
            return str(error)
        except Exception as error:  # noqa: BLE001 - a statement that cannot even compile for mssql
            return f"does not compile for SQL Server: {type(error).__name__}: {error}"
        return None

    def take_failures(self) -> list[str]:
        with self._lock:
            failures, self.failures = self.failures, []
        return failures
