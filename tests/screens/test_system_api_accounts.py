"""System Management > API Accounts, driven by keys: create (key shown once), rotate, disable."""

from __future__ import annotations


import pytest
from textual.widgets import Input, OptionList, Static

from screens.system.api_accounts import ApiAccountsScreen
from widgets.confirm import ConfirmScreen
from stron_tui.app import StronApp
from stron_tui.errors import AuthenticationFailed
from stron_tui.services import api_accounts
from tests.screens.keyboard import settle


def shown_key(screen) -> str:
    return str(screen.query_one("#new-key", Static).render()).split("\n")[-1].strip()


async def test_admin_creates_rotates_and_disables_an_api_account(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f6", "4")  # System Management, fourth entry: API Accounts
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ApiAccountsScreen)
        assert "No API accounts yet" in str(screen.query_one("#accounts-message", Static).render())

        screen.query_one("#name", Input).value = "Mobile Money"
        screen.query_one("#role", Input).value = "Nobody"
        await pilot.press("f2")
        await settle(app, pilot)
        assert "no role named 'Nobody'" in str(screen.query_one("#field-role .field-error", Static).render())

        screen.query_one("#role", Input).value = "OnlyVending"
        await pilot.press("f2")
        await settle(app, pilot)
        first_key = shown_key(screen)
        assert first_key.startswith("stron_")
        assert api_accounts.authenticate(ctx, first_key).name == "Mobile Money"
        options = screen.query_one("#accounts", OptionList)
        assert options.option_count == 1 and "Mobile Money" in str(options.get_option_at_index(0).prompt)

        options.focus()
        options.highlighted = 0
        await pilot.press("f5")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        new_key = shown_key(screen)
        assert new_key != first_key
        with pytest.raises(AuthenticationFailed):
            api_accounts.authenticate(ctx, first_key)

        await pilot.press("f6")
        await settle(app, pilot)
        assert "disabled" in str(screen.query_one("#accounts-message", Static).render())
        with pytest.raises(AuthenticationFailed):
            api_accounts.authenticate(ctx, new_key)
        assert "disabled" in str(options.get_option_at_index(0).prompt)
