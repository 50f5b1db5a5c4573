"""The app shell end to end: log in by keys, the menu follows the role, lockout, forced first change."""

from __future__ import annotations


import pytest
from textual.widgets import OptionList, Static

from screens.login import LoginScreen
from screens.menu import MainMenuScreen
from screens.system.password import ChangePasswordScreen
from stron_tui.app import StronApp
from stron_tui.errors import PermissionDenied
from stron_tui.services import auth, roles, users
from stron_tui.services.permissions import MODULES
from tests.screens.keyboard import enter, settle



async def log_in(app, pilot, user_code, password):
    assert isinstance(app.screen, LoginScreen)
    await pilot.press(*user_code, "enter", *password, "enter")
    await settle(app, pilot)


def menu_titles(screen):
    options = screen.query_one("#modules", OptionList)
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


def make_cashier(ctx, admin, user_code="cashier", password="Cashier-pw-1"):
    users.create_user(ctx, admin, user_code=user_code, role="OnlyVending")
    actor = auth.authenticate(ctx, user_code, "123456")
    auth.replace_temporary_passwords(ctx, actor, "123456", new_login=password, new_payment="Pay-" + password)


async def test_admin_logs_in_and_sees_every_module(ctx, admin):
    app = StronApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await log_in(app, pilot, "Admin", "AdminPass1")
        assert isinstance(app.screen, MainMenuScreen)
        assert menu_titles(app.screen) == [module.key for module in MODULES]
        assert app.actor.user_code == "Admin"


async def test_only_vending_sees_only_top_up_and_services_refuse_the_rest(ctx, admin):
    make_cashier(ctx, admin)
    app = StronApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await log_in(app, pilot, "cashier", "Cashier-pw-1")
        assert isinstance(app.screen, MainMenuScreen)
        assert menu_titles(app.screen) == ["topup"]
        await pilot.press("f6")  # System Management is not theirs
        await settle(app, pilot)
        assert isinstance(app.screen, MainMenuScreen)
        cashier = app.actor
    with pytest.raises(PermissionDenied, match="cashier may not manage users"):
        users.create_user(ctx, cashier, user_code="friend", role="Administrator")
    with pytest.raises(PermissionDenied, match="cashier may not manage roles"):
        roles.create_role(ctx, cashier, name="Mine", permissions=["system.users"])


async def test_five_wrong_passwords_block_the_user_id_here_and_the_screen_says_until_when(ctx, admin):
    make_cashier(ctx, admin)
    users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
    app = StronApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await log_in(app, pilot, "cashier", "wrong-1")
        said = str(app.screen.query_one("#login-message", Static).render())
        assert said == "Wrong user ID or password, or this user may not log in now."
        for _ in range(4):
            await enter(pilot, "password", "wrong-2")
            await settle(app, pilot)
        await enter(pilot, "password", "Cashier-pw-1")  # the right password waits too
        await settle(app, pilot)
        said = str(app.screen.query_one("#login-message", Static).render())
        assert said.startswith("Too many failed logins for this user ID from here; try again after ")
        assert " on 20" in said  # "after 14:05 on 2025-03-01"
        assert isinstance(app.screen, LoginScreen)
        assert app.actor is None
        await enter(pilot, "user", "clerk")  # another user at the same console is not blocked
        await enter(pilot, "password", "123456")
        await settle(app, pilot)
        assert app.actor is not None and app.actor.user_code == "clerk"
    # The block holds at this console only: the cashier still logs in from elsewhere.
    assert auth.authenticate(ctx, "cashier", "Cashier-pw-1", source="ssh", remote="198.51.100.7")


async def test_new_user_must_change_123456_before_seeing_the_menu(ctx, admin):
    users.create_user(ctx, admin, user_code="newbie", role="OnlyVending")
    app = StronApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await log_in(app, pilot, "newbie", "123456")
        assert isinstance(app.screen, ChangePasswordScreen) and app.screen.forced
        await pilot.press("escape")  # asks before logging out
        await settle(app, pilot)
        assert "Log out without choosing your own password?" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("n", "f2")
        app.open_entry("topup.amount")
        await settle(app, pilot)
        assert isinstance(app.screen, ChangePasswordScreen)
        await pilot.press(*"123456", "enter", *"123456", "enter", *"123456", "enter",
                          *"Pay-2468", "enter", *"Pay-2468", "enter")  # typed, once
        await settle(app, pilot)
        assert "can't be the temporary password 123456" in str(app.screen.query_one("#field-new .field-error", Static).render())
        await enter(pilot, "old", "123456")
        await enter(pilot, "new", "Newbie-pw-7")
        await enter(pilot, "repeat", "Newbie-pw-7")
        await enter(pilot, "pay-new", "Pay-2468")
        await enter(pilot, "pay-repeat", "Pay-2468")
        await settle(app, pilot)
        assert isinstance(app.screen, MainMenuScreen)
        assert not app.actor.must_change_password
    assert not auth.authenticate(ctx, "newbie", "Newbie-pw-7").must_change_password


async def test_the_login_screen_says_the_same_for_unknown_disabled_and_wrong(ctx, admin):
    make_cashier(ctx, admin)
    gone = users.create_user(ctx, admin, user_code="gone", role="OnlyVending")
    users.set_enabled(ctx, admin, gone.id, False)
    app = StronApp(ctx)
    said = []
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        for user_code, password in (("nobody", "123456"), ("gone", "123456"), ("cashier", "wrong-1")):
            await enter(pilot, "user", user_code)
            await enter(pilot, "password", password)
            await settle(app, pilot)
            said.append(str(app.screen.query_one("#login-message", Static).render()))
        assert app.actor is None
    assert said == ["Wrong user ID or password, or this user may not log in now."] * 3


async def test_guesses_at_a_login_screen_reached_through_openssh_count_against_the_client_address(
        ctx, admin, monkeypatch):
    from sqlalchemy import select

    from stron_tui.db.models import LoginThrottle

    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.5 50022 10.0.0.1 22")  # as sshd sets it for ForceCommand
    app = StronApp(ctx, source="ssh")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        for _ in range(5):
            await enter(pilot, "user", "Admin")
            await enter(pilot, "password", "guess")
            await settle(app, pilot)
        assert app.actor is None
    with ctx.db.read_session() as session:
        blocked = {row.source for row in session.scalars(select(LoginThrottle)) if row.blocked_until is not None}
    assert blocked == {"203.0.113.5"}
    assert auth.authenticate(ctx, "Admin", "AdminPass1").user_code == "Admin"  # the console is not blocked


async def test_after_a_logout_the_next_login_here_counts_against_the_same_address(ctx, admin):
    from dataclasses import replace

    from sqlalchemy import select

    from stron_tui.db.models import LoginThrottle

    app = StronApp(ctx, source="ssh", actor=replace(admin, source="ssh", remote="192.0.2.44"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("f10")
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen)
        await enter(pilot, "user", "Admin")
        await enter(pilot, "password", "guess")
        await settle(app, pilot)
    with ctx.db.read_session() as session:
        assert {row.source for row in session.scalars(select(LoginThrottle))} == {"192.0.2.44"}


async def test_the_status_line_names_the_cashiers_station_after_login(ctx, admin):
    from widgets.status_line import StatusLine
    from tests.factories import build_world

    world = build_world(ctx)
    users.create_user(ctx, admin, user_code="till", role="OnlyVending", station_id=world.station_id)
    first = auth.authenticate(ctx, "till", "123456")
    auth.replace_temporary_passwords(ctx, first, "123456", new_login="Till-login-1", new_payment="Till-pay-1")
    app = StronApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await log_in(app, pilot, "till", "Till-login-1")
        assert isinstance(app.screen, MainMenuScreen)
        status = str(app.screen.query_one(StatusLine).render())
        assert "Operator: till" in status and f"Station: {world.station_code} " in status
