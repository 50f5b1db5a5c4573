"""The asyncssh private parts the server's wire tunings patch: still there, and still patched.

When asyncssh renames or drops one of them these tests fail, before a station pays for it in bytes (or the
server fails at the first packet). Run them before widening the asyncssh pin in pyproject.toml.
"""

from __future__ import annotations

import importlib
from importlib.metadata import version

import pytest
from asyncssh.compression import _ZLibCompress

from stron_tui.ssh.wire import (
    PATCHED_CHANNEL_ATTRIBUTES,
    PATCHED_CONNECTION_ATTRIBUTES,
    PATCHED_MODULE_NAMES,
    BestDeflate,
)
from tests.ssh.conftest import Terminal


@pytest.mark.parametrize(("module", "name"), PATCHED_MODULE_NAMES)
def test_every_private_asyncssh_name_the_tunings_use_exists(module, name):
    found = importlib.import_module(module)
    for part in name.split("."):
        assert hasattr(found, part), f"asyncssh {version('asyncssh')} has no {module}.{name}"
        found = getattr(found, part)


def test_the_installed_asyncssh_is_inside_the_pinned_range():
    from packaging.specifiers import SpecifierSet

    pin = next(line for line in _dependencies() if line.startswith("asyncssh"))
    assert version("asyncssh") in SpecifierSet(pin.removeprefix("asyncssh")), pin


def _dependencies() -> list[str]:
    import tomllib
    from pathlib import Path

    document = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    return [entry.replace(" ", "") for entry in document["project"]["dependencies"]]


async def test_a_live_connection_sends_without_padding_packets_and_with_the_best_deflate(station):
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        session = next(iter(station.hub.sessions))
        server_conn = session.channel.get_extra_info("connection")
        for name in PATCHED_CONNECTION_ATTRIBUTES:
            assert hasattr(server_conn, name), f"asyncssh's connection has no {name} any more"
        for name in PATCHED_CHANNEL_ATTRIBUTES:
            assert hasattr(session.channel, name), f"asyncssh's server channel has no {name} any more"
        # The compressor asyncssh made after the login was swapped before its first packet.
        assert isinstance(server_conn._compressor, BestDeflate)
        assert not isinstance(server_conn._compressor, _ZLibCompress)
        # And the send hook drops the empty IGNORE packet (the one asyncssh sends before each packet).
        from asyncssh.constants import MSG_IGNORE
        from asyncssh.packet import String

        sent_before = server_conn._send_seq
        server_conn.send_packet(MSG_IGNORE, String(b""))
        assert server_conn._send_seq == sent_before
        await terminal.press("f10")
        await terminal.wait_for(r"Logged out")

