"""Alembic environment: runs against the configured database, or offline (--sql)."""

from __future__ import annotations

from alembic import context

from stron_tui.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=False,
        dialect_opts={"paramstyle": "named"},
    )
    dialect = context.get_context().dialect
    if dialect.name == "mssql":
        # Offline there is no server to ask its version; without one, DATE renders as DATETIME.
        # The production target is SQL Server 2022.
        dialect.server_version_info = (16, 0)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
