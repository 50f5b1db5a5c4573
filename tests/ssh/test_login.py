"""Logging in over SSH: password, key, lockout, rate limits, and what the server refuses."""

from __future__ import annotations

import asyncssh
import pytest
from sqlalchemy import select

from stron_tui.db.models import AuditEntry, User
from stron_tui.services import auth, public_keys
from stron_tui.services.permissions import SYSTEM_ACTOR
from tests.ssh.conftest import Terminal


async def test_password_login_opens_the_main_menu_already_logged_in(station, ctx):
    async with await station.connect() as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
        await terminal.wait_for(r"Operator: Admin")
        raw = terminal.raw.decode("utf-8", "replace")
        assert "\x1b[?1000h" not in raw and "\x1b[?1003h" not in raw  # no mouse tracking in low-bandwidth mode
        await terminal.press("f10")
        await terminal.wait_for(r"Logged out")
    with ctx.db.read_session() as session:
        actions = [(row.action, row.source, row.remote) for row in session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(["login", "logout"])).order_by(AuditEntry.id))]
    assert actions[:2] == [("login", "ssh", "127.0.0.1"), ("logout", "ssh", "127.0.0.1")]


async def test_a_registered_public_key_logs_in_and_an_unknown_key_does_not(station, ctx, admin):
    key = asyncssh.generate_private_key("ssh-ed25519")
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    public_keys.add_key(ctx, admin, "admin", key.export_public_key().decode(), "front desk")
    with pytest.raises(asyncssh.PermissionDenied):
        await station.connect(password=None, client_keys=[stranger])
    async with await station.connect(password=None, client_keys=[key]) as conn:
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
    with ctx.db.read_session() as session:
        login = session.scalars(select(AuditEntry).where(AuditEntry.action == "login")).all()[-1]
    assert login.source == "ssh" and "SSH key" in login.summary


async def test_five_wrong_passwords_block_that_user_from_that_address_only(station, ctx):
    key = asyncssh.generate_private_key("ssh-ed25519")
    public_keys.add_key(ctx, SYSTEM_ACTOR, "admin", key.export_public_key().decode(), "station PC")
    with ctx.db.read_session() as session:
        admin_id = session.scalar(select(User.id).where(User.builtin_admin.is_(True)))
    for _ in range(5):
        with pytest.raises(asyncssh.PermissionDenied):
            await station.connect(password="wrong password")
    with pytest.raises(asyncssh.PermissionDenied):  # blocked here: even the right password is refused now
        await station.connect(password="AdminPass1")
    async with await station.connect(password=None, client_keys=[key]) as conn:  # the key login still works
        terminal = await Terminal.open(conn)
        await terminal.wait_for(r"Main menu")
    with ctx.db.read_session() as session:
        admin_row = session.get(User, admin_id)
        lockouts = session.scalars(select(AuditEntry).where(AuditEntry.action == "lockout")).all()
    assert admin_row.locked_until is None  # the user is not locked: the console and other addresses log in
    assert [(row.source, row.remote) for row in lockouts] == [("ssh", "127.0.0.1")]
    assert auth.authenticate(ctx, "Admin", "AdminPass1").user_code == "Admin"  # the console


async def test_too_many_failures_from_one_address_block_it_without_locking_anyone(station, ctx):
    station.hub.limiter.limit = 3
    for name in ("nobody", "guest", "root"):
        with pytest.raises(asyncssh.PermissionDenied):
            await station.connect(name, password="guess")
    with pytest.raises(asyncssh.PermissionDenied):
        await station.connect(password="AdminPass1")
    with ctx.db.read_session() as session:
        assert session.scalar(select(User.failed_logins).where(User.builtin_admin.is_(True))) == 0


async def test_exec_port_forwarding_and_terminal_less_sessions_are_refused(station, tmp_path):
    marker = tmp_path / "ran"
    async with await station.connect() as conn:
        with pytest.raises((asyncssh.ChannelOpenError, asyncssh.ProcessError)):
            await conn.run(f"touch {marker}", check=True)
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_connection(asyncssh.SSHTCPSession, "127.0.0.1", station.port)
        with pytest.raises(asyncssh.ChannelListenError):
            await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", station.port)
        result = await conn.run(term_type=None)  # a shell without a terminal: told why, nothing runs
        assert result.exit_status == 1 and "needs a terminal" in result.stderr
    assert not marker.exists()

