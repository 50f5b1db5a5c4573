"""Change Password: any operator, login and payment password, policy, lockout on wrong old passwords."""

from __future__ import annotations


from sqlalchemy import select
from textual.widgets import Static

from screens.login import LoginScreen
from screens.menu import MainMenuScreen
from screens.system.password import ChangePasswordScreen
from stron_tui.app import StronApp
from stron_tui.db.models import AuditEntry, User
from stron_tui.services import auth, users
from stron_tui.services.passwords import verify_password
from tests.screens.keyboard import enter, settle



def cashier_actor(ctx, admin):
    users.create_user(ctx, admin, user_code="cashier", role="OnlyVending")
    actor = auth.authenticate(ctx, "cashier", "123456")
    auth.replace_temporary_passwords(ctx, actor, "123456", new_login="Cashier-pw-1", new_payment="Pay-1357")
    return auth.authenticate(ctx, "cashier", "Cashier-pw-1")


async def change(pilot, old, new, repeat):
    await enter(pilot, "old", old)
    await enter(pilot, "new", new)
    await enter(pilot, "repeat", repeat)


def error_of(screen, field):
    return str(screen.query_one(f"#field-{field} .field-error", Static).render())


def stored(ctx):
    with ctx.db.read_session() as session:
        return session.scalar(select(User).where(User.user_key == "cashier"))


async def test_only_vending_operator_changes_login_then_payment_password(ctx, admin):
    app = StronApp(ctx, actor=cashier_actor(ctx, admin))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ChangePasswordScreen) and screen.kind == "login"
        await pilot.press(*"not-mine", "enter", *"Better-pw2", "enter", *"Better-pw2", "enter")  # typed, once
        await settle(app, pilot)
        assert error_of(screen, "old") == "! Wrong password."
        await change(pilot, "Cashier-pw-1", "cashier", "cashier")
        await settle(app, pilot)
        assert error_of(screen, "new").startswith("! The new password")
        await change(pilot, "Cashier-pw-1", "Better-pw-2", "Better-pw-3")
        await settle(app, pilot)
        assert error_of(screen, "repeat") == "! The two new passwords differ."
        await change(pilot, "Cashier-pw-1", "Better-pw-2", "Better-pw-2")
        await settle(app, pilot)
        assert isinstance(app.screen, MainMenuScreen)
        await pilot.press("p", "f8")
        await settle(app, pilot)
        screen = app.screen
        assert screen.kind == "payment"
        assert "payment password" in str(screen.query_one("#kind-title", Static).render())
        assert "Current payment password" in str(screen.query_one("#field-old Label").render())
        await change(pilot, "Pay-1357", "Pay-2468", "Pay-2468")
        await settle(app, pilot)
        assert isinstance(app.screen, MainMenuScreen)
    user = stored(ctx)
    assert verify_password(user.password_hash, "Better-pw-2")
    assert verify_password(user.payment_password_hash, "Pay-2468") and not user.must_change_payment_password
    with ctx.db.read_session() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(user.id))))
    assert "password_changed" in actions and "payment_password_changed" in actions
    assert "password_failed" in actions


async def test_wrong_current_passwords_lock_out_and_log_out(ctx, admin):
    app = StronApp(ctx, actor=cashier_actor(ctx, admin))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("p")
        await settle(app, pilot)
        for _ in range(5):
            await change(pilot, "guess", "Better-pw-2", "Better-pw-2")
            await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.actor is None
        assert "locked after too many wrong passwords until" in str(
            app.screen.query_one("#login-message", Static).render())
    assert stored(ctx).locked_until is not None


async def test_first_start_puts_the_cursor_back_on_a_refused_password(ctx):
    from textual.widgets import Input

    from stron_tui.app import StronApp
    from tests.screens.keyboard import settle

    app = StronApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert type(app.screen).__name__ == "FirstStartScreen"
        await pilot.press(*"short", "enter", *"short", "enter")
        await settle(app, pilot)
        assert "at least 8 characters" in app.screen.query_one("#field-new").error
        assert app.focused.id == "new"  # what is typed next replaces the refused password, not the repeat
        await pilot.press(*"AdminPass1", "tab", *"AdminPass1", "enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LoginScreen"
        assert app.screen.query_one("#user", Input).value == "Admin"
