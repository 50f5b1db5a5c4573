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
    auth.change_own_password(ctx, actor, "123456", password)


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


async def test_five_wrong_passwords_lock_and_the_screen_says_until_when(ctx, admin):
    make_cashier(ctx, admin)
    app = StronApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await log_in(app, pilot, "cashier", "wrong-1")
        said = str(app.screen.query_one("#login-message", Static).render())
        assert said == "Wrong user ID or password."
        for _ in range(4):
            await enter(pilot, "password", "wrong-2")
            await settle(app, pilot)
        said = str(app.screen.query_one("#login-message", Static).render())
        assert said.startswith("User cashier is locked after too many wrong passwords until ")
        assert " on 20" in said  # "until 14:05 on 2025-03-01"
        await enter(pilot, "password", "Cashier-pw-1")  # the right password waits too
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.actor is None


async def test_new_user_must_change_123456_before_seeing_the_menu(ctx, admin):
    users.create_user(ctx, admin, user_code="newbie", role="OnlyVending")
    app = StronApp(ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await log_in(app, pilot, "newbie", "123456")
        assert isinstance(app.screen, ChangePasswordScreen) and app.screen.forced
        await pilot.press("escape", "f2")
        app.open_entry("topup.amount")
        await settle(app, pilot)
        assert isinstance(app.screen, ChangePasswordScreen)
        await pilot.press(*"123456", "enter", *"123456", "enter", *"123456", "enter")  # typed, once
        await settle(app, pilot)
        assert "can't be the temporary password 123456" in str(app.screen.query_one("#field-new .field-error", Static).render())
        await enter(pilot, "old", "123456")
        await enter(pilot, "new", "Newbie-pw-7")
        await enter(pilot, "repeat", "Newbie-pw-7")
        await settle(app, pilot)
        assert isinstance(app.screen, MainMenuScreen)
        assert not app.actor.must_change_password
    assert not auth.authenticate(ctx, "newbie", "Newbie-pw-7").must_change_password
