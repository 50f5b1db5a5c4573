"""A database connection that the server ends mid-work is a clear StronError, and the next unit of work recovers."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text

from stron_tui.db.models import User
from stron_tui.errors import DatabaseUnavailable


def test_a_terminated_backend_is_a_clear_error_and_the_next_session_reconnects(ctx):
    if ctx.db.backend != "postgresql":
        pytest.skip("ending a server backend needs PostgreSQL")
    killer = create_engine(ctx.db.url, isolation_level="AUTOCOMMIT")
    try:
        with pytest.raises(DatabaseUnavailable, match="connection to the database was lost"):
            with ctx.db.read_session() as session:
                pid = session.scalar(text("SELECT pg_backend_pid()"))
                with killer.connect() as connection:
                    connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                session.scalar(select(User.user_code).limit(1))
        with ctx.db.session() as session:  # the pool replaced the dead connection
            assert session.scalar(select(User.user_code).where(User.builtin_admin.is_(True))) == "Admin"
    finally:
        killer.dispose()


def test_a_pooled_connection_that_died_is_replaced_without_an_error(ctx):
    if ctx.db.backend != "postgresql":
        pytest.skip("ending a server backend needs PostgreSQL")
    from stron_tui.db.engine import Database

    db = Database(str(ctx.db.url.render_as_string(hide_password=False)))
    killer = create_engine(ctx.db.url, isolation_level="AUTOCOMMIT")
    try:
        with db.read_session() as session:
            pid = session.scalar(text("SELECT pg_backend_pid()"))
        with killer.connect() as connection:  # the server restarts, or a firewall drops the idle link
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with db.session() as session:
            assert session.scalar(select(User.user_code).where(User.builtin_admin.is_(True))) == "Admin"
            assert session.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        killer.dispose()
        db.dispose()


def test_a_database_too_busy_to_answer_is_a_clear_error_and_nothing_is_kept(ctx):
    """SQLite: another writer holds the lock past the busy timeout; a server: a statement timed out (as when
    no connection slot is free or a lock is held too long). A StronError that says nothing was recorded,
    so a screen shows it and the API answers 503, never the cashier's app crashing on a raw driver error."""
    import sqlite3

    holder = None
    try:
        with pytest.raises(DatabaseUnavailable, match="too busy to answer now .*nothing was recorded"):
            with ctx.db.read_session() as session:
                if ctx.db.backend == "sqlite":
                    holder = sqlite3.connect(ctx.db.url.database, isolation_level=None)
                    holder.execute("BEGIN IMMEDIATE")  # another station's sale, holding the write lock
                    session.execute(text("PRAGMA busy_timeout=50"))
                else:
                    session.execute(text("SET LOCAL statement_timeout = 50"))
                    session.execute(text("SELECT pg_sleep(2)"))
                session.execute(text("UPDATE users SET name = 'changed' WHERE builtin_admin = :yes"),
                                {"yes": True})
    finally:
        if holder is not None:
            holder.rollback()
            holder.close()
    with ctx.db.read_session() as session:
        assert session.scalar(select(User.name).where(User.builtin_admin.is_(True))) != "changed"
