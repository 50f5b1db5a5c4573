"""What a weak link carries: a short, modern key exchange and, in low-bandwidth mode, only what changed."""

from __future__ import annotations

import asyncio

import asyncssh
import pytest

from stron_tui.ssh.wire import ENCRYPTION
from tests.ssh.conftest import Terminal


async def _settled(terminal: Terminal, quiet: float = 0.5) -> None:
    """Until the app has written nothing for `quiet` seconds."""
    seen = -1
    while seen != len(terminal.raw):
        seen = len(terminal.raw)
        await asyncio.sleep(quiet)


async def test_a_client_with_asyncssh_defaults_gets_in_with_a_modern_set(station):
    async with asyncssh.connect("127.0.0.1", station.port, username="Admin", password="AdminPass1",
                                known_hosts=None, agent_path=None, client_keys=None) as conn:
        assert conn.get_server_host_key().get_algorithm() == "ssh-ed25519"
        assert conn.get_extra_info("send_cipher") in ENCRYPTION
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")


async def test_a_client_asking_for_compression_as_ssh_c_does_gets_it_after_login(station):
    async with asyncssh.connect("127.0.0.1", station.port, username="Admin", password="AdminPass1",
                                known_hosts=None, agent_path=None, client_keys=None,
                                compression_algs=["zlib@openssh.com", "zlib", "none"]) as conn:
        assert conn.get_extra_info("recv_compression") == "zlib@openssh.com"
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")  # the server's partial-flush zlib stream reads fine


@pytest.mark.parametrize(("kex", "cipher"), [("curve25519-sha256@libssh.org", "aes128-gcm@openssh.com"),
                                             ("curve25519-sha256", "chacha20-poly1305@openssh.com")])
async def test_older_and_newer_clients_find_a_common_set(station, kex, cipher):
    async with asyncssh.connect("127.0.0.1", station.port, username="Admin", password="AdminPass1",
                                known_hosts=None, agent_path=None, client_keys=None,
                                kex_algs=[kex], encryption_algs=[cipher]) as conn:
        assert conn.get_extra_info("recv_cipher") == cipher


async def test_cbc_ciphers_are_not_offered(station):
    with pytest.raises(asyncssh.KeyExchangeFailed):
        await asyncssh.connect("127.0.0.1", station.port, username="Admin", password="AdminPass1",
                               known_hosts=None, agent_path=None, client_keys=None, encryption_algs=["aes128-cbc"])


async def _to_top_up_and_back(station, env: dict[str, str]) -> Terminal:
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn, env=env)
        await terminal.wait_for(r"Operator: Admin")
        await _settled(terminal)
        mark = terminal.mark()
        await terminal.press("f2")
        await terminal.wait_for(r"Find a meter to begin", since=mark)
        await _settled(terminal)
        mark = terminal.mark()
        await terminal.press("escape")
        await terminal.wait_for(r"Main menu", since=mark)
        await _settled(terminal)
        return terminal


async def test_low_bandwidth_mode_sends_short_colour_codes_and_a_fraction_of_the_bytes(station):
    low = await _to_top_up_and_back(station, {"STRON_LOW_BANDWIDTH": "1"})
    full = await _to_top_up_and_back(station, {"STRON_LOW_BANDWIDTH": "0"})
    assert "38;2;" not in low.raw.decode() and "48;2;" not in low.raw.decode()  # no 24-bit colour
    assert "Main menu" in low.text and "F2  Top-up Center" in low.text
    assert len(low.raw) < len(full.raw) / 4
