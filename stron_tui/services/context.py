"""The application context: settings, the database and the key vault, opened once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from stron_tui.db.engine import Database
from stron_tui.errors import ConfigurationError, DatabaseUnavailable, StronError
from stron_tui.settings import Settings, ensure_directory, load_settings


@dataclass
class AppContext:
    settings: Settings
    db: Database
    _master_key: bytes | None = field(default=None, repr=False)
    _in_use_lock: int | None = field(default=None, repr=False)  # db/backup.py: no restore while we are open

    @cached_property
    def vault(self):
        from stron_tui.keystore import VendingKeyVault, load_master_key

        if self._master_key is None:
            self._master_key = load_master_key(self.settings, self.db)
        return VendingKeyVault(self._master_key)

    def close(self) -> None:
        self.db.dispose()
        if self._in_use_lock is not None:
            os.close(self._in_use_lock)
            self._in_use_lock = None


def configured_master_key(ctx: AppContext) -> bytes:
    """The master key as configured now (STRON_MASTER_KEY or the key file), checked against the database:
    the SSH server reads it at its start and hands it to every session."""
    from stron_tui.keystore import load_master_key

    return load_master_key(ctx.settings, ctx.db)


def preload_database_layer() -> None:
    """Import the database drivers and set up the ORM's mappers now (otherwise done by each session at its
    first query): the SSH server's session template does this once for every forked session."""
    import sqlalchemy.dialects.postgresql  # noqa: F401 - the dialects a session's engine uses
    import sqlalchemy.dialects.sqlite  # noqa: F401
    from sqlalchemy.orm import configure_mappers

    import stron_tui.db.backup  # noqa: F401 - the master key check and the sessions' status
    import stron_tui.db.models  # noqa: F401
    import stron_tui.keystore  # noqa: F401
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pass
    configure_mappers()


def schema_revision(db: Database) -> str | None:
    """The migration the database is at, or None for an empty database."""
    try:
        with db.engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError) as error:
        if db.backend == "sqlite" and "no such table" not in str(error):
            raise DatabaseUnavailable(f"Cannot read the database at {db.display_url}: {error.orig}") from None
        return None
    except DBAPIError:
        return None


def readiness_problem(db: Database) -> str | None:
    """None when the database answers at the schema this program needs, else one sentence on what is wrong
    (the HTTP API's /readyz)."""
    from stron_tui.db.revision import SCHEMA_HEAD

    try:
        db.check_connection()
        revision = schema_revision(db)
    except StronError as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - a probe answers; it never raises
        return f"Cannot read the database at {db.display_url}: {type(error).__name__}."
    if revision != SCHEMA_HEAD:
        return (f"The database at {db.display_url} is at schema {revision or 'none'}, this program needs "
                f"{SCHEMA_HEAD}; run: stron-tui db upgrade")
    return None


def open_context(
    settings: Settings | None = None,
    *,
    migrate: bool | None = None,
    seed: bool = True,
    check_master_key: bool = True,
    master_key: bytes | None = None,
    idle_connections: bool = True,
    pool_size: int = 5,
) -> AppContext:
    """Open the configured database ready for use, or raise one clear sentence.

    The embedded SQLite database is created and migrated on first start; a
    server database must be migrated on purpose with `stron-tui db upgrade`.
    `master_key`: a key already read and checked by a parent process (an SSH session's app is handed the
    server's), used instead of reading STRON_MASTER_KEY or the key file.
    `idle_connections=False`: a server database is connected only while a unit of work runs (SSH session
    processes: hundreds of idle stations must not hold hundreds of server connections). Otherwise at most
    `pool_size` connections stay open, and as many more while work overflows it.
    """
    from stron_tui.db.revision import SCHEMA_HEAD

    settings = settings or load_settings()
    ensure_directory(settings.data_dir, "data directory")
    db = Database(settings.database_url, keep_idle_connections=idle_connections, pool_size=pool_size)
    in_use_lock = None
    try:
        if db.backend == "sqlite" and db.url.database not in (None, "", ":memory:"):
            from stron_tui.db.backup import hold_in_use_lock
            from stron_tui.private_files import refuse_shared_database

            in_use_lock = hold_in_use_lock(Path(db.url.database).expanduser().resolve())
            refuse_shared_database(Path(db.url.database).expanduser())
        db.check_connection()
        revision = schema_revision(db)
        if migrate is None:
            migrate = db.backend == "sqlite"
        if revision != SCHEMA_HEAD:
            if migrate:
                from stron_tui.db import migrate as migrations

                migrations.upgrade(db)
            elif revision is None:
                raise ConfigurationError(
                    f"The database at {db.display_url} has no stron-tui schema yet; run: stron-tui db upgrade"
                )
            else:
                raise ConfigurationError(
                    f"The database at {db.display_url} is at schema {revision}, this program needs "
                    f"{SCHEMA_HEAD}; run: stron-tui db upgrade"
                )
        if seed:
            from stron_tui.services.bootstrap import ensure_reference_data

            ensure_reference_data(db, settings)
        ctx = AppContext(settings=settings, db=db, _master_key=master_key, _in_use_lock=in_use_lock)
        if check_master_key:
            ctx.vault  # noqa: B018 - fail now, not mid-sale, on a missing or wrong key
        return ctx
    except BaseException:
        db.dispose()
        if in_use_lock is not None:
            os.close(in_use_lock)
        raise
