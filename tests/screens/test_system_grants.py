"""The screen doors that hand out credentials refuse what the service refuses, say why, and change nothing."""

from __future__ import annotations

import asyncssh
from sqlalchemy import func, select
from textual.widgets import Input, OptionList, Static

from screens.system.api_accounts import ApiAccountsScreen
from widgets.confirm import ConfirmScreen
from screens.system.public_keys import PublicKeysScreen
from stron_tui.app import StronApp
from stron_tui.db.models import ApiAccount, UserPublicKey
from stron_tui.services import api_accounts, auth, public_keys, roles, users
from tests.screens.keyboard import settle


def manager(ctx, admin, user_code, permission):
    roles.create_role(ctx, admin, name=f"{user_code} role", permissions=[permission, "topup.vend", "topup.reprint"])
    users.create_user(ctx, admin, user_code=user_code, role=f"{user_code} role")
    with ctx.db.session() as session:
        first = auth.actor_for(session, auth.find_user(session, user_code), "tui")
    # Past the first login's forced change of both passwords.
    auth.replace_temporary_passwords(ctx, first, "123456", new_login="Manager-Pass1", new_payment="Manager-Pay1")
    with ctx.db.session() as session:
        return auth.actor_for(session, auth.find_user(session, user_code), "tui")


def api_rows(ctx):
    with ctx.db.read_session() as session:
        return [(row.name, row.role_id, row.key_hash) for row in session.scalars(select(ApiAccount))]


async def test_an_api_account_manager_cannot_create_or_rotate_an_administrator_account_on_screen(ctx, admin):
    apimgr = manager(ctx, admin, "apimgr", "system.api_accounts")
    api_accounts.create_account(ctx, admin, name="Back Office", role="Administrator")
    before = api_rows(ctx)
    app = StronApp(ctx, actor=apimgr)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.open_entry("system.api_accounts")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ApiAccountsScreen)
        screen.query_one("#name", Input).value = "Climber"
        screen.query_one("#role", Input).value = "Administrator"
        await pilot.press("f2")
        await settle(app, pilot)
        said = str(screen.query_one("#accounts-message", Static).render())
        assert said.startswith("Only Admin may create an API account with the role Administrator")
        options = screen.query_one("#accounts", OptionList)
        options.focus()
        options.highlighted = 0
        await pilot.press("f5")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        said = str(screen.query_one("#accounts-message", Static).render())
        assert said.startswith("Only Admin may rotate the key of the API account Back Office")
    assert api_rows(ctx) == before


async def test_a_user_manager_cannot_reach_the_keys_of_admin_on_screen(ctx, admin):
    usermgr = manager(ctx, admin, "usermgr", "system.users")
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    public_keys.add_key(ctx, admin, "admin", key, "Admin's laptop")
    app = StronApp(ctx, actor=usermgr)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.open_entry("system.ssh_keys")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, PublicKeysScreen)
        field = screen.query_one("#user", Input)
        field.focus()
        field.value = "admin"
        await pilot.press("enter")
        await settle(app, pilot)
        said = str(screen.query_one("#field-user .field-error", Static).render())
        assert said.endswith("Only Admin may list the SSH keys of the built-in Admin.")
        assert screen.query_one("#keys", OptionList).option_count == 0
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(UserPublicKey)) == 1
