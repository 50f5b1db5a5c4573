"""The master key (and the database URL) reach every session's app: from STRON_MASTER_KEY as from the key
file, never by its environment."""

from __future__ import annotations

from tests.conftest import TEST_MASTER_KEY
from tests.ssh.conftest import Terminal


def _environment_of(pid: int) -> bytes:
    with open(f"/proc/{pid}/environ", "rb") as handle:
        return handle.read()


async def test_a_master_key_given_in_the_environment_works_for_every_session(ctx, admin):
    from stron_tui.ssh.server import ServerOptions, bound_port, close_server, start_server
    from tests.ssh.conftest import Station

    # The key only in the master_key setting (STRON_MASTER_KEY): no key file where the settings point (each
    # session used to be handed that path and exit at once).
    ctx.settings.master_key_file.unlink()
    ctx.settings = ctx.settings.with_overrides(master_key=TEST_MASTER_KEY)
    acceptor, hub = await start_server(ctx, "127.0.0.1", 0, ServerOptions(keepalive_interval=0, hangup_grace=1.0))
    station = Station(bound_port(acceptor), hub)
    try:
        for source in ("127.0.0.1", "127.0.0.2"):
            async with await station.connect(source=source) as conn:
                terminal = await Terminal.open(conn)
                await terminal.wait_for(r"Main menu")
                for pid in hub.children:  # handed over through the pipe, never in the app's environment
                    environment = _environment_of(pid)
                    assert TEST_MASTER_KEY.encode() not in environment
                    assert b"STRON_MASTER_KEY=" not in environment
                    assert b"STRON_DATABASE_URL=" not in environment  # it may hold the database password
                await terminal.press("f10")
                await terminal.wait_for(r"Logged out")
        assert not ctx.settings.master_key_file.exists()  # no key file was made up on the way
    finally:
        await close_server(acceptor, hub)


async def test_a_server_with_a_wrong_master_key_does_not_start(ctx):
    import pytest

    from stron_tui.errors import ConfigurationError
    from stron_tui.ssh.server import ServerOptions, start_server

    ctx.settings = ctx.settings.with_overrides(master_key="11" * 32)
    with pytest.raises(ConfigurationError, match="does not belong to this database"):
        await start_server(ctx, "127.0.0.1", 0, ServerOptions())
