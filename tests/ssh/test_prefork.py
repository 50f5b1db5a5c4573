"""Pre-forked sessions: each session is forked from a warm template that holds no database connection,
no thread and no open file but its control socket; a crash ends one station only; the template is
replaced if it dies; a session started after the database restarted works."""

from __future__ import annotations

import asyncio
import os
import signal

from sqlalchemy import text

from tests.ssh.conftest import Terminal


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("PPid:")).split()[1])


def descriptor_targets(pid: int) -> list[str]:
    directory = f"/proc/{pid}/fd"
    targets = []
    for name in os.listdir(directory):
        try:
            targets.append(os.readlink(f"{directory}/{name}"))
        except OSError:
            pass
    return targets


def threads_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


async def test_the_template_holds_no_connection_thread_or_file(station, ctx):
    template = station.hub.template
    assert template is not None and template.ready
    assert template.info["warm"]  # it ran the app once, on a scratch database, and kept nothing of it open
    assert template.info["threads"] == 1 and threads_of(template.pid) == 1
    targets = descriptor_targets(template.pid)
    sockets = [t for t in targets if t.startswith("socket:")]
    assert len(sockets) == 1, targets  # its control socket only: no database connection
    files = [t for t in targets if t.startswith("/") and t != "/dev/null"]
    assert not [t for t in files if "sqlite" in t or t.endswith(".key") or "/data" in t], files
    assert not any(t.startswith("/dev/pts") for t in targets)  # no station's terminal lingers in it


async def test_sessions_are_forked_from_the_template_and_inherit_nothing_of_it(station, ctx):
    template = station.hub.template
    control = [t for t in descriptor_targets(template.pid) if t.startswith("socket:")]
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        (pid,) = station.hub.children
        assert parent_of(pid) == template.pid
        assert os.getpgid(pid) == pid  # a session leader on its own terminal
        inherited = descriptor_targets(pid)
        assert not set(control) & set(inherited)  # the template's control socket was closed first
        for fd in (0, 1, 2):
            assert os.readlink(f"/proc/{pid}/fd/{fd}").startswith("/dev/pts/")
        mark = terminal.mark()
        await terminal.press("f2")
        await terminal.wait_for(r"Find a meter to begin", since=mark)


async def test_a_crashed_session_ends_that_station_only(station, ctx):
    async with await station.connect() as first, await station.connect() as second:
        one = await Terminal.open(first)
        two = await Terminal.open(second)
        await one.wait_for(r"Main menu")
        await two.wait_for(r"Main menu")
        pids = sorted(station.hub.children)
        assert len(pids) == 2
        doomed = next(pid for pid in pids if parent_of(pid) == station.hub.template.pid)
        os.kill(doomed, signal.SIGKILL)
        for _ in range(200):
            if doomed not in station.hub.children:
                break
            await asyncio.sleep(0.05)
        assert doomed not in station.hub.children
        survivor = one if not one.closed.is_set() else two
        assert (one.closed.is_set(), two.closed.is_set()).count(True) == 1
        mark = survivor.mark()
        await survivor.press("f2")
        await survivor.wait_for(r"Find a meter to begin", since=mark)
        async with await station.connect() as third:  # and new stations still log in
            await (await Terminal.open(third)).wait_for(r"Main menu")


async def kill_template(station):
    """Kill the server's session template; the template it was, once the server has noticed."""
    old = station.hub.template
    os.kill(old.pid, signal.SIGKILL)
    for _ in range(100):
        if not old.ready:
            break
        await asyncio.sleep(0.05)
    return old


async def test_a_dead_template_is_replaced_and_stations_still_log_in(station, ctx):
    old = await kill_template(station)
    assert not old.ready
    async with await station.connect() as conn:  # started the slow way meanwhile
        await (await Terminal.open(conn)).wait_for(r"Main menu")
    for _ in range(400):
        if station.hub.template is not old and station.hub.template.ready:
            break
        await asyncio.sleep(0.05)
    assert station.hub.template is not old and station.hub.template.ready
    for _ in range(200):  # the session started the slow way has ended
        if not station.hub.children:
            break
        await asyncio.sleep(0.05)
    async with await station.connect() as conn:
        await (await Terminal.open(conn)).wait_for(r"Main menu")
        assert [parent_of(pid) for pid in station.hub.children] == [station.hub.template.pid]


async def test_a_session_started_after_the_database_restarted_works(station, ctx, database):
    async with await station.connect() as conn:
        await (await Terminal.open(conn)).wait_for(r"Main menu")
    if database.backend == "postgresql":
        # What a restart does to every open connection: the server ends them all.
        with database.engine.connect() as connection:
            ended = connection.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
            connection.commit()
        assert ended >= 0
        database.engine.dispose()
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        mark = terminal.mark()
        await terminal.press("f2")
        await terminal.wait_for(r"Find a meter to begin", since=mark)


def templates_started_by_us() -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                command = handle.read()
            if b"stron_tui.ssh.prefork" in command and parent_of(int(name)) == os.getpid():
                found.append(int(name))
        except (OSError, StopIteration):
            pass
    return found


async def test_logins_while_the_template_is_replaced_start_one_new_template(station, ctx):
    alive_before = set(templates_started_by_us())
    old = await kill_template(station)
    async with await station.connect() as one, await station.connect() as two:
        first, second = await asyncio.gather(Terminal.open(one), Terminal.open(two))
        await asyncio.gather(first.wait_for(r"Main menu", timeout=60), second.wait_for(r"Main menu", timeout=60))
        for _ in range(600):
            if station.hub.template is not old and station.hub.template.ready:
                break
            await asyncio.sleep(0.05)
        started = [pid for pid in templates_started_by_us() if pid not in alive_before]
        assert started == [station.hub.template.pid]


async def wait_gone(pid: int) -> bool:
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if pid not in templates_started_by_us():  # ended, waiting to be reaped
            return True
        await asyncio.sleep(0.05)
    return False


async def test_closing_the_server_leaves_no_template_behind(ctx, admin):
    from stron_tui.ssh.server import ServerOptions, close_server, start_server

    acceptor, hub = await start_server(ctx, "127.0.0.1", 0, ServerOptions(keepalive_interval=0))
    pid = hub.template.pid
    await close_server(acceptor, hub)
    assert await wait_gone(pid)


async def test_closing_the_server_while_a_template_starts_leaves_none_behind(ctx, admin):
    from stron_tui.ssh.server import ServerOptions, bound_port, close_server, start_server
    from tests.ssh.conftest import Station

    acceptor, hub = await start_server(ctx, "127.0.0.1", 0, ServerOptions(keepalive_interval=0, hangup_grace=1.0))
    station = Station(bound_port(acceptor), hub)
    alive_before = set(templates_started_by_us())
    old = await kill_template(station)
    async with await station.connect() as conn:  # this login starts the replacement in the background
        await (await Terminal.open(conn)).wait_for(r"Main menu", timeout=60)
        await close_server(acceptor, hub)
    assert old.pid not in templates_started_by_us()
    for pid in set(templates_started_by_us()) - alive_before:
        assert await wait_gone(pid), f"template {pid} outlived its server"
