"""Odd terminal requests: absurd window sizes are clamped, hostile TERM names refused, no descriptor leaks.

Counted at the server's own door: the server runs in this process, so /proc/self/fd and the resident
size are the server's (plus the test client's sockets, all closed before counting).
"""

from __future__ import annotations

import asyncio
import os

import asyncssh
import pytest

from stron_tui.ssh.station import MAX_COLUMNS, MAX_ROWS, client_environment
from tests.ssh.conftest import Terminal


def _open_descriptors() -> set[str]:
    """Sockets, pipes and pty ends open in this process, but for the database pool's connections: they come and
    go with the pool (one a login's thread returns just after the pool was disposed waits for the collector)."""
    database = _database_sockets()
    return {fd for fd in os.listdir("/proc/self/fd")
            if _target(fd).startswith(LINK_KINDS) and _target(fd) not in database}


def _database_sockets(port: int = 5432) -> set[str]:
    """"socket:[inode]" of this machine's TCP connections to the database server's port."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    if int(fields[2].rsplit(":", 1)[1], 16) == port:
                        found.add(f"socket:[{fields[9]}]")
        except OSError:
            pass
    return found


LINK_KINDS = ("socket:", "pipe:", "/dev/ptmx", "/dev/pts/", "anon_inode:")


def _resident_megabytes() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _sessions_gone(station, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if not station.hub.children and not station.hub.sessions and station.hub.startups.count == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("sessions or app processes were left behind")


async def test_an_absurd_window_is_clamped_before_anything_is_allocated_for_it(station):
    async with await station.connect() as conn:
        process = await conn.create_process(term_type="xterm-256color", term_size=(3000, 3000), encoding=None)
        terminal = Terminal(process, size=(MAX_COLUMNS + 20, MAX_ROWS + 20))
        await terminal.wait_for(r"Main menu")
        lines = terminal.screen.display
        assert lines[MAX_ROWS - 1].strip(), "the app draws its last line on the clamped last row"
        assert not any(line.strip() for line in lines[MAX_ROWS:])
        assert not any(line[MAX_COLUMNS:].strip() for line in lines)
        resident = _resident_megabytes()
        for width, height in ((3000, 3000), (70000, 70000), (2**32 - 1, 2**32 - 1), (0, 0), (80, 24)):
            process.change_terminal_size(width, height)
            await asyncio.sleep(0.2)
        assert _resident_megabytes() - resident < 50  # 3000x3000 once cost the server 620 MB
        mark = terminal.mark()
        await terminal.press("f10")  # the session is still alive and answering
        await terminal.wait_for(r"Logged out", since=mark)


async def test_a_term_name_with_control_characters_is_refused_and_the_server_goes_on(station):
    async with await station.connect() as conn:
        for hostile in ("xterm\x1b]0;owned\x07", "xterm\nPATH=/tmp", "x" * 200, ""):
            with pytest.raises((asyncssh.ChannelOpenError, asyncssh.ProcessError)):
                await conn.create_process(term_type=hostile, term_size=(80, 24), encoding=None, request_pty="force")
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")


async def test_client_variables_with_control_characters_are_left_out(station):
    env = {"LANG": "C.UTF-8\x1b[2J", "STRON_ASCII": "1"}
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn, env=env)
        await terminal.wait_for(r"Main menu")
        assert "─" not in terminal.text  # STRON_ASCII, a clean value, still reaches the app
    assert client_environment(env) == {"STRON_ASCII": "1"}  # the LANG with an escape in it does not


async def test_thousands_of_client_variables_are_dropped_on_arrival(station):
    value = "x" * 30_000  # one object on the client's side: the server would keep 2000 copies, 60 MB
    flood = {f"JUNK_{number}": value for number in range(2000)}
    flood["STRON_ASCII"] = "1"
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn, env=flood)
        await terminal.wait_for(r"Main menu")
        session = next(iter(station.hub.sessions))
        # What the server keeps of them (the packets in flight are the client's, in this same process).
        assert set(session.channel._env) <= {b"STRON_ASCII", "STRON_ASCII"}
        assert "─" not in terminal.text  # the one variable the app honours still arrived


async def test_a_batch_of_odd_requests_leaves_no_descriptor_open(station):
    async with await station.connect() as conn:  # warm up: first thread started, first session run
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
    await _sessions_gone(station)
    station.hub.ctx.db.dispose()  # the database pool's connections (sockets on PostgreSQL) are not the server's
    before = _open_descriptors()

    async def odd_connection(number: int) -> None:
        try:
            async with await station.connect() as conn:
                kind = number % 6
                if kind == 0:  # a hostile TERM
                    await conn.create_process(term_type="vt\x1b100", term_size=(80, 24), encoding=None)
                elif kind == 1:  # a command
                    await conn.run("cat /etc/passwd", check=False)
                elif kind == 2:  # a subsystem that does not exist
                    await conn.create_process(subsystem="nope", encoding=None)
                elif kind == 3:  # widths past 65535, then gone at once
                    process = await conn.create_process(term_type="xterm", term_size=(70000, 70000),
                                                        encoding=None)
                    process.change_terminal_size(2**32 - 1, 1)
                elif kind == 4:  # a terminal opened and dropped before the app has drawn anything
                    process = await conn.create_process(term_type="xterm", term_size=(80, 24), encoding=None)
                    process.close()
                else:  # no terminal at all
                    await conn.run(term_type=None)
        except (asyncssh.Error, OSError):
            pass

    for start in range(0, 24, 6):
        await asyncio.gather(*(odd_connection(number) for number in range(start, start + 6)))
    await _sessions_gone(station)
    # A session's pty and its sockets close in the server's loop just after its child is reaped: a leak is
    # what is still open once that has had time, not what is open the moment the last child went.
    for _ in range(100):
        station.hub.ctx.db.dispose()
        leaked = _open_descriptors() - before
        if not leaked:
            break
        await asyncio.sleep(0.1)
    assert not leaked, {fd: _target(fd) for fd in leaked}
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")


def _target(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "?"
