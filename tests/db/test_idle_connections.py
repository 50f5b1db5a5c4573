"""A station's app holds a server connection only while a unit of work runs: idle contexts (and idle SSH
stations) hold none, as pg_stat_activity sees it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from stron_tui.services import auth, users
from stron_tui.services.context import open_context
from tests.conftest import PG_URL
from tests.ssh.conftest import station  # noqa: F401 - the SSH server fixture

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (STRON_TEST_PG_URL)")


@pytest.fixture
def pg_ctx(database_url, ctx, admin):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server connections")
    return ctx


def connections_to(database_url: str) -> int:
    """Server connections to the test database, apart from the one asking."""
    watcher = create_engine(database_url, poolclass=NullPool)
    try:
        with watcher.connect() as connection:
            return connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalar()
    finally:
        watcher.dispose()


def test_idle_app_contexts_hold_no_connection(pg_ctx, admin):
    url = pg_ctx.settings.database_url
    baseline = connections_to(url)
    contexts = [open_context(pg_ctx.settings, idle_connections=False) for _ in range(6)]
    try:
        for opened in contexts:  # each does real work: a login and a list
            actor = auth.authenticate(opened, "Admin", "AdminPass1")
            assert users.list_users(opened, actor)
        assert connections_to(url) == baseline
        with contexts[0].db.session() as session:  # while a unit of work runs, it holds exactly one
            session.execute(text("SELECT 1"))
            assert connections_to(url) == baseline + 1
        assert connections_to(url) == baseline
        pooled = open_context(pg_ctx.settings)  # a pooled context (the server's, the API's) keeps its own
        try:
            auth.authenticate(pooled, "Admin", "AdminPass1")
            assert connections_to(url) == baseline + 1
        finally:
            pooled.close()
    finally:
        for opened in contexts:
            opened.close()


async def _settled_count(url: str) -> int:
    """The connection count once the apps have finished starting (two readings a moment apart agree)."""
    previous = None
    for _ in range(40):
        count = await asyncio.to_thread(connections_to, url)
        if count == previous:
            return count
        previous = count
        await asyncio.sleep(0.3)
    return previous


async def test_idle_ssh_stations_hold_no_connection(pg_ctx, station):
    from tests.ssh.conftest import Terminal

    url = pg_ctx.settings.database_url
    connections = []
    try:
        for _ in range(3):  # three stations at the menu: the most one user may hold
            conn = await station.connect()
            connections.append(conn)
            await (await Terminal.open(conn)).wait_for(r"Main menu")
        assert len(station.hub.children) == 3
        with_stations = await _settled_count(url)
    finally:
        for conn in connections:
            conn.close()
    for _ in range(200):
        if not station.hub.children:
            break
        await asyncio.sleep(0.05)
    assert not station.hub.children
    assert with_stations == await _settled_count(url)  # three idle stations cost the database nothing
