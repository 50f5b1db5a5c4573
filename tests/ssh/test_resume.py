"""Resume after a dropped link: the same screen with what was typed, a sale's outcome, grace expiry, one
suspended session per user and station, and `stron-tui status` showing it suspended."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from stron_tui.db.models import Vend
from tests.factories import add_meter, build_world
from tests.ssh.conftest import Terminal
from tests.ssh.test_station_flow import _seat_admin_at, _to_payment_password

KEEP = pytest.mark.parametrize("station", [60.0], indirect=True)


async def _until(condition, timeout: float = 15.0, what: str = "") -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def _drop(conn) -> None:
    conn.abort()  # the link is gone at once, as when a modem hangs up


@KEEP
async def test_a_link_dropped_mid_typing_comes_back_to_the_same_screen_with_the_text(station, ctx):
    conn = await station.connect()
    terminal = await Terminal.open(conn)
    await terminal.wait_for(r"Main menu")
    mark = terminal.mark()
    await terminal.press("f2")
    await terminal.wait_for(r"Find a meter to begin", since=mark)
    await terminal.type("4177")
    await terminal.wait_for(r"4177")
    (pid,) = station.hub.children
    await _drop(conn)
    await _until(lambda: len(station.hub.resumable) == 1, what="the session is kept")
    assert station.hub.children == {pid}
    status = station.hub.status.snapshot().sessions
    assert [(s.user, s.suspended, s.pid) for s in status] == [("Admin", True, pid)]
    async with await station.connect(source="127.0.0.5") as again:
        back = await Terminal.open(again)
        await back.wait_for(r"was cut off .* and is still open")
        mark = back.mark()
        await back.press("enter")
        screen = await back.wait_for(r"4177", since=mark)
        assert "Find a meter" in screen or "Top-up" in screen, screen
        assert station.hub.children == {pid} and len(station.hub.resumable) == 0
        assert [s.suspended for s in station.hub.status.snapshot().sessions] == [False]
        mark = back.mark()
        await back.type("9")  # the same app, still taking keys
        await back.wait_for(r"41779", since=mark)


@KEEP
async def test_a_sale_in_flight_when_the_link_dropped_is_shown_committed_on_resume(station, ctx):
    world = build_world(ctx)
    meter = add_meter(world, "4300000011")
    _seat_admin_at(ctx, world, "none")
    conn = await station.connect()
    terminal = await Terminal.open(conn)
    await _to_payment_password(terminal, meter)
    await terminal.press("enter")  # sell ... and the line drops at once
    await _drop(conn)
    await _until(lambda: len(station.hub.resumable) == 1, what="the session is kept")
    async with await station.connect() as again:
        back = await Terminal.open(again)
        await back.wait_for(r"was cut off")
        await back.press("enter")
        screen = await back.wait_for(r"TOKEN\s+\d{4} \d{4}")
    with ctx.db.read_session() as session:
        vend = session.scalar(select(Vend))
        assert session.scalar(select(func.count()).select_from(Vend)) == 1
    assert vend.token[:4] in screen.replace(" ", "")


@pytest.mark.parametrize("station", [1.0], indirect=True)
async def test_after_the_grace_the_session_ends_and_the_next_login_starts_afresh(station, ctx):
    conn = await station.connect()
    terminal = await Terminal.open(conn)
    await terminal.wait_for(r"Main menu")
    await _drop(conn)
    await _until(lambda: not station.hub.children and not len(station.hub.resumable), what="the grace ended it")
    assert station.hub.status.snapshot().sessions == []
    async with await station.connect() as again:
        back = await Terminal.open(again)
        screen = await back.wait_for(r"Main menu")
        assert "cut off" not in screen


@KEEP
async def test_a_user_keeps_one_suspended_session_per_station(station, ctx):
    first = await station.connect()
    second = await station.connect()
    for conn in (first, second):
        await (await Terminal.open(conn)).wait_for(r"Main menu")
    pids = set(station.hub.children)
    assert len(pids) == 2
    await _drop(first)
    await _until(lambda: len(station.hub.resumable) == 1)
    await _drop(second)
    await _until(lambda: len(station.hub.children) == 1, what="the older suspended session ended")
    assert len(station.hub.resumable) == 1
    (kept,) = station.hub.children
    async with await station.connect() as again:
        back = await Terminal.open(again)
        await back.wait_for(r"was cut off")
        await back.press("n")  # a new session instead: the suspended one ends
        await back.wait_for(r"Main menu")
        await _until(lambda: kept not in station.hub.children, what="the declined session ended")
        assert len(station.hub.resumable) == 0 and len(station.hub.children) == 1


async def test_without_a_grace_a_dropped_link_ends_the_session(station, ctx):
    conn = await station.connect()
    await (await Terminal.open(conn)).wait_for(r"Main menu")
    await _drop(conn)
    await _until(lambda: not station.hub.children, what="the app ended")
    assert len(station.hub.resumable) == 0


@KEEP
async def test_a_logged_out_session_is_not_kept_when_its_link_drops(station, ctx):
    conn = await station.connect()
    terminal = await Terminal.open(conn)
    await terminal.wait_for(r"Main menu")
    await terminal.press("f10")
    await terminal.wait_for(r"Logged out")
    await _drop(conn)
    await _until(lambda: not station.hub.children, what="the logged-out app ended")
    assert len(station.hub.resumable) == 0


@KEEP
async def test_the_server_shuts_down_promptly_with_a_suspended_session(station, ctx):
    from stron_tui.ssh.prefork import process_gone
    from stron_tui.ssh.server import close_server

    conn = await station.connect()
    await (await Terminal.open(conn)).wait_for(r"Main menu")
    (pid,) = station.hub.children
    template = station.hub.template.pid
    await _drop(conn)
    await _until(lambda: len(station.hub.resumable) == 1, what="the session is kept")
    # The template reports its sessions' ends: shut down with a session kept, the server used to wait for ever.
    await asyncio.wait_for(close_server(station.acceptor, station.hub), 20)
    assert process_gone(pid) and not station.hub.children and len(station.hub.resumable) == 0
    await _until(lambda: process_gone(template), what="the template ends")


@KEEP
async def test_a_suspended_session_whose_template_died_still_ends_after_its_grace(station, ctx):
    import os
    import signal

    from stron_tui.ssh.prefork import process_gone

    conn = await station.connect()
    await (await Terminal.open(conn)).wait_for(r"Main menu")
    (pid,) = station.hub.children
    await _drop(conn)
    await _until(lambda: len(station.hub.resumable) == 1, what="the session is kept")
    os.kill(station.hub.template.pid, signal.SIGKILL)  # nobody left to report the session's end
    (suspended,) = list(station.hub.resumable._by_key.values())
    await asyncio.wait_for(station.hub.resumable.expire(suspended), 20)
    assert process_gone(pid) and pid not in station.hub.children
