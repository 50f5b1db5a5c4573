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
