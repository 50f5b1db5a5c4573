"""Idle sessions lock over the current screen and ask for the password again."""

from __future__ import annotations


from sqlalchemy import select
from textual.widgets import Static

from screens.login import LockScreen, LoginScreen
from screens.system.users import UserListScreen
from stron_tui.app import StronApp
from stron_tui.db.models import AuditEntry
from stron_tui.services import auth, users
from tests.screens.keyboard import enter, settle

IDLE = 2.0  # seconds, instead of settings.idle_lock_minutes (set once the screen under test is open)



def message(app):
    return str(app.screen.query_one("#lock-message", Static).render())


async def test_idle_session_locks_without_losing_the_screen(ctx, admin):
    app = StronApp(ctx, actor=admin)
    app.idle_lock_seconds = 600  # no lock while a busy machine opens the screens
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6", "2")
        await settle(app, pilot)
        work = app.screen
        assert isinstance(work, UserListScreen)
        app.set_idle_lock(IDLE)
        for _ in range(5):  # typing keeps the session open past the idle time
            await pilot.press("down")
            await pilot.pause(IDLE / 4)
        assert app.screen is work
        for _ in range(100):  # then it locks by itself (polled: the machine may be busy)
            await pilot.pause(0.1)
            if isinstance(app.screen, LockScreen):
                break
        assert isinstance(app.screen, LockScreen)
        assert app.screen_stack[-2] is work
        app.open_entry("system.roles")  # nothing opens behind the lock
        assert isinstance(app.screen, LockScreen) and not app.use_command_palette
        await pilot.press(*"wrong", "enter")
        await settle(app, pilot)
        assert message(app) == "Wrong password."
        await enter(pilot, "unlock-password", "AdminPass1")
        await settle(app, pilot)
        assert app.screen is work and isinstance(work, UserListScreen)
        assert not app.session_locked and app.use_command_palette
    with ctx.db.read_session() as session:
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.action == "password_failed")).all() == [
            "password_failed"]


async def test_wrong_passwords_at_the_lock_lock_out_and_log_out(ctx, admin):
    users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
    clerk = auth.authenticate(ctx, "clerk", "123456")
    auth.replace_temporary_passwords(ctx, clerk, "123456", new_login="Clerk-pw-11", new_payment="Clerk-pay-1")
    app = StronApp(ctx, actor=auth.authenticate(ctx, "clerk", "Clerk-pw-11"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.lock_session()
        await settle(app, pilot)
        for _ in range(5):
            await enter(pilot, "unlock-password", "guess")
            await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen) and app.actor is None
        assert "until" in str(app.screen.query_one("#login-message", Static).render())
        assert not app.session_locked


async def test_another_operator_may_log_in_instead(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.lock_session()
        await settle(app, pilot)
        await pilot.press("f9")
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen) and app.actor is None
        assert "Admin was logged out" in str(app.screen.query_one("#login-message", Static).render())
    with ctx.db.read_session() as session:
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.action == "logout")).all() == ["logout"]


async def test_a_user_disabled_while_away_cannot_unlock_and_is_logged_out(ctx, admin):
    users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
    clerk = auth.authenticate(ctx, "clerk", "123456")
    auth.change_own_password(ctx, clerk, "123456", "Clerk-pw-11")
    app = StronApp(ctx, actor=auth.authenticate(ctx, "clerk", "Clerk-pw-11"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.lock_session()
        await settle(app, pilot)
        users.set_enabled(ctx, admin, clerk.user_id, False)
        await enter(pilot, "unlock-password", "Clerk-pw-11")  # the right password
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen) and app.actor is None and not app.session_locked
        assert "clerk is disabled" in str(app.screen.query_one("#login-message", Static).render())
