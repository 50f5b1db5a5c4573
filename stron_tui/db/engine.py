"""Engines and sessions for SQLite, PostgreSQL and SQL Server behind one interface."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from stron_tui.errors import ConfigurationError, DatabaseUnavailable
from stron_tui.private_files import create_private_file

SUPPORTED_BACKENDS = {"sqlite", "postgresql", "mssql"}
SCHEME_HINT = "use sqlite:///PATH, postgresql+psycopg://USER@HOST/DB or mssql+pyodbc://USER@DSN"


def parse_database_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(f"The database URL {url!r} is not a valid URL; {SCHEME_HINT}.") from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ConfigurationError(
            f"Unknown database URL scheme {parsed.drivername!r}; {SCHEME_HINT}."
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() not in ("psycopg", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def display_url(url: str | URL) -> str:
    """The URL without its password, for status lines and messages."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return parsed.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (reports) run while a cashier vends; NORMAL is durable in WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # Writers take the write lock at BEGIN so two of them queue (busy_timeout)
    # instead of failing on a lock upgrade; readers begin deferred and never
    # wait for a writer under WAL. The driver's own BEGIN handling is off.
    if connection.get_execution_options().get("stron_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _connection_lost() -> DatabaseUnavailable:
    # The server ended the connection mid-work (restart, failover, terminated backend): a clear
    # StronError that screens show and the API answers with 503, not a crash with SQL in it.
    # The pool re-connects on the next checkout (pre-ping).
    return DatabaseUnavailable("The connection to the database was lost before this finished; try again.")


def _database_busy(error: OperationalError) -> DatabaseUnavailable:
    # The database refused or timed out (SQLite: another writer held the lock past the busy timeout; a
    # server: no connection slot left, a statement or lock timeout): the unit of work rolled back whole.
    # A StronError, so a screen says so and the API answers 503, instead of the cashier's app crashing.
    reason = str(getattr(error, "orig", error)).strip().splitlines()[0] if str(error) else "no answer"
    return DatabaseUnavailable(f"The database is too busy to answer now ({reason[:120]}); nothing was recorded. "
                               "Try again in a moment.")


class Database:
    """One configured database: an engine plus short transactions on it."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 5, keep_idle_connections: bool = True):
        """`keep_idle_connections=False`: a server database (PostgreSQL, SQL Server) is connected for each
        unit of work and disconnected after it (NullPool), so an idle process holds no server connection;
        an SSH station's app between sales. With PgBouncer in transaction mode in front (docs/operations.md)
        the connect is a local round trip. The embedded SQLite file keeps its pool: it is a file, not a
        server's connection slot."""
        self.url = parse_database_url(url)
        self.backend = self.url.get_backend_name()
        self.keeps_idle_connections = keep_idle_connections or self.backend == "sqlite"
        kwargs: dict = {"echo": echo, "future": True}
        if not self.keeps_idle_connections:
            kwargs["poolclass"] = NullPool
        if self.backend == "sqlite":
            database = self.url.database or ""
            if database and database != ":memory:":
                directory = Path(database).expanduser().resolve().parent
                if not directory.exists():
                    raise ConfigurationError(f"The database directory {directory} does not exist.")
                # A new database is private from its first byte; SQLite gives -wal and -shm the same mode.
                try:
                    create_private_file(Path(database).expanduser())
                except OSError as error:
                    raise ConfigurationError(f"Cannot create the database file {database}: {error.strerror}.") from None
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30, "isolation_level": None}
        elif self.backend == "postgresql":
            # pre-ping: a connection the server dropped (restart, failover, killed backend) is replaced
            # at checkout, unseen, instead of failing the next sale once per process.
            if self.keeps_idle_connections:
                kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
            kwargs["connect_args"] = {"connect_timeout": 5, "application_name": "stron-tui"}
        elif self.backend == "mssql":
            kwargs["fast_executemany"] = True
            if self.keeps_idle_connections:
                kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except ModuleNotFoundError as error:
            raise ConfigurationError(
                f"The database driver {error.name!r} for {self.url.drivername} is not installed."
            ) from None
        if self.backend == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(stron_read_only=True), expire_on_commit=False, autoflush=False
        )
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    @property
    def short_label(self) -> str:
        """A few words for the status line: which kind of database, and which one."""
        if self.backend == "sqlite":
            return f"SQLite {Path(self.url.database or 'memory').name}"
        name = {"postgresql": "PostgreSQL", "mssql": "SQL Server"}[self.backend]
        return f"{name} {self.url.host or ''}/{self.url.database or ''}".strip()

    def check_connection(self) -> None:
        """Fail early with one sentence if the database can't be reached."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except (OperationalError, DBAPIError) as error:
            reason = str(getattr(error, "orig", error)).strip().splitlines()[0] if str(error) else "no answer"
            raise DatabaseUnavailable(f"Cannot reach the database at {self.display_url}: {reason}") from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read/write unit of work: commits on success, rolls back on any error."""
        with self._unit_of_work(self._sessions) as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A unit of work that only reads (lists, reports): never waits for writers."""
        with self._unit_of_work(self._read_sessions) as session:
            yield session

    def read_rows(self, statement, parameters: dict | None = None) -> list:
        """The rows of one statement, read outside a transaction where the server allows it.

        No BEGIN and COMMIT round trips around the SELECT (a single statement
        sees one consistent snapshot anyway); for look-ups made on every
        request, such as an API key. SQLite reads in a read session.
        """
        if self.backend == "sqlite":
            with self.read_session() as session:
                return list(session.execute(statement, parameters))
        try:
            with self._autocommit.connect() as connection:
                return list(connection.execute(statement, parameters))
        except DBAPIError as error:
            if error.connection_invalidated:
                raise _connection_lost() from error
            if isinstance(error, OperationalError):
                raise _database_busy(error) from error
            raise

    @staticmethod
    @contextmanager
    def _unit_of_work(factory) -> Iterator[Session]:
        session = factory()
        try:
            yield session
            session.commit()
        except DBAPIError as error:
            session.rollback()
            if error.connection_invalidated:
                raise _connection_lost() from error
            if isinstance(error, OperationalError):
                raise _database_busy(error) from error
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
