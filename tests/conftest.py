"""Shared fixtures: a fresh database per test on SQLite, and on PostgreSQL too when
STRON_TEST_PG_URL is set (CI sets it; there an unreachable server fails the run),
and on SQL Server when STRON_TEST_MSSQL_URL is set (.github/workflows/mssql.yml:
a SQL Server 2022 container on a hosted runner; none can run on these machines).

Fixtures that take `database` run once per configured backend. Every statement a
test executes is also compiled for SQL Server and parsed as T-SQL (tests/tsql.py).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from stron_tui.db import migrate
from stron_tui.db.engine import Database
from stron_tui.db.models import Base, User
from stron_tui.services.bootstrap import ensure_reference_data
from stron_tui.services.context import AppContext
from stron_tui.settings import Settings
from tests.tsql import StatementCheck

PG_URL = os.environ.get("STRON_TEST_PG_URL", "")
# e.g. mssql+pyodbc://sa:<password>@127.0.0.1:1433/master?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes
MSSQL_URL = os.environ.get("STRON_TEST_MSSQL_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else []) + (["mssql"] if MSSQL_URL else [])
TEST_MASTER_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def pytest_report_header(config):
    return f"stron-tui test databases: {', '.join(BACKENDS)}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """One migrated SQLite file; each test gets a copy (much faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    ensure_reference_data(db)
    raw = db.engine.raw_connection()  # outside any transaction: fold the WAL into the file
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    if not PG_URL:
        pytest.skip("STRON_TEST_PG_URL is not set")
    base = make_url(PG_URL)
    name = f"stron_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # an unreachable server must fail, never skip
        admin.dispose()
        pytest.fail(f"PostgreSQL at {base.render_as_string(hide_password=True)} is not usable: {error}")
    url = base.set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def mssql_database_url():
    """A fresh SQL Server database for this test session (snapshot reads on), dropped at the end."""
    if not MSSQL_URL:
        pytest.skip("STRON_TEST_MSSQL_URL is not set")
    base = make_url(MSSQL_URL)
    name = f"stron_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base.set(database="master"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE [{name}]"))
            connection.execute(text(f"ALTER DATABASE [{name}] SET READ_COMMITTED_SNAPSHOT ON"))
    except Exception as error:  # an unreachable server must fail, never skip
        admin.dispose()
        pytest.fail(f"SQL Server at {base.render_as_string(hide_password=True)} is not usable: {error}")
    url = base.set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f"ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE"))
        connection.execute(text(f"DROP DATABASE [{name}]"))
    admin.dispose()


def _empty_mssql(db: Database) -> None:
    # SQL Server has no TRUNCATE ... CASCADE: delete children first, then restart identities.
    with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        for table in Base.metadata.sorted_tables:
            if any(column.identity is not None for column in table.columns):
                # Only a table that has had rows: on a never-used one RESEED 0 would make the next id 0.
                connection.execute(text(
                    f"IF EXISTS (SELECT 1 FROM sys.identity_columns WHERE object_id = OBJECT_ID('{table.name}') "
                    f"AND last_value IS NOT NULL) DBCC CHECKIDENT ('{table.name}', RESEED, 0) WITH NO_INFOMSGS"))


def _truncate_postgresql(db: Database) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "stron.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        path.chmod(0o600)  # as the app creates it: open_context refuses a database others can read
        return f"sqlite:///{path}"
    if request.param == "mssql":
        url = request.getfixturevalue("mssql_database_url")
        db = Database(url)
        _empty_mssql(db)
        ensure_reference_data(db)
        db.dispose()
        return url
    url = request.getfixturevalue("pg_database_url")
    db = Database(url)
    _truncate_postgresql(db)
    ensure_reference_data(db)
    db.dispose()
    return url


@pytest.fixture
def test_settings(tmp_path) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    key_file = data_dir / "master.key"
    key_file.write_text(TEST_MASTER_KEY + "\n")
    key_file.chmod(0o600)
    return Settings(
        data_dir=data_dir,
        database_url="sqlite:///:memory:",
        export_dir=data_dir / "exports",
        master_key_file=key_file,
        timezone="Africa/Lagos",
        currency="USD",
        # The product's default is on; tests about selling, not shifts, sell without opening one.
        # Shift tests turn it on (the `shifts_on` fixture).
        shift_required=False,
    )


@pytest.fixture
def database(database_url) -> Database:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def ctx(database, test_settings) -> AppContext:
    """An application context on a fresh database, as the app opens it."""
    settings = test_settings.with_overrides(database_url=database.url.render_as_string(hide_password=False))
    context = AppContext(settings=settings, db=database)
    context.vault  # noqa: B018 - as open_context does: the master key is checked before any work
    yield context


@pytest.fixture
def shifts_on(ctx) -> AppContext:
    """The test context with the product's default: a station's cashier sells only in an open shift."""
    ctx.settings = ctx.settings.with_overrides(shift_required=True)
    return ctx


@pytest.fixture
def admin(ctx):
    """The built-in Admin as an acting operator (password 'AdminPass1')."""
    from stron_tui.services import auth

    if auth.admin_needs_password(ctx):
        auth.set_first_admin_password(ctx, "AdminPass1")
    with ctx.db.session() as session:
        from sqlalchemy import select

        user = session.scalar(select(User).where(User.builtin_admin.is_(True)))
        return auth.actor_for(session, user, "tui")


_STATEMENT_CHECK = StatementCheck()


@pytest.fixture(scope="session", autouse=True)
def _tsql_statement_check():
    _STATEMENT_CHECK.install()
    yield _STATEMENT_CHECK
    _STATEMENT_CHECK.remove()


@pytest.fixture(autouse=True)
def _every_statement_parses_as_tsql(_tsql_statement_check):
    """Fail the test that executed a statement SQL Server would not take (compiled, then parsed by sqlglot)."""
    _tsql_statement_check.take_failures()
    yield
    failures = _tsql_statement_check.take_failures()
    if failures:
        pytest.fail("statements that are not valid T-SQL:\n" + "\n".join(dict.fromkeys(failures)), pytrace=False)
