"""User Management screens, driven by keys as an administrator would."""

from __future__ import annotations


from sqlalchemy import select
from textual.widgets import DataTable, Select, Static

from screens.system.users import UserFormScreen, UserListScreen
from stron_tui.app import StronApp
from stron_tui.db.models import AuditEntry, User
from stron_tui.services import auth, users
from stron_tui.services.passwords import verify_password
from tests.screens.keyboard import settle


def text_of(screen, selector):
    return str(screen.query_one(selector, Static).render())


def stored_user(ctx, user_code):
    with ctx.db.read_session() as session:
        return session.scalar(select(User).where(User.user_key == user_code.casefold()))


def audited(ctx, action):
    with ctx.db.read_session() as session:
        return list(session.scalars(select(AuditEntry.summary).where(AuditEntry.action == action)))


async def open_users(app, pilot):
    await pilot.press("f6", "2")  # System Management, second entry: User Management
    await settle(app, pilot)
    assert isinstance(app.screen, UserListScreen)
    return app.screen


def move_to(screen, user_code):
    table = screen.query_one("#users", DataTable)
    row = [user.user_code for user in screen._rows].index(user_code)
    table.move_cursor(row=row)


async def test_admin_creates_a_sub_account_and_is_reminded_of_123456(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_users(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, UserFormScreen)
        assert "123456" in " ".join(str(s.render()) for s in form.query(".warning"))
        await pilot.press(*"frontdesk1", "enter", *"Ada Obi", "enter", *"0803", "enter")
        assert form.focused is form.query_one("#role", Select)
        await pilot.press("o")  # type-ahead on the closed role picker, as on the station field
        assert form.query_one("#role", Select).value == "OnlyVending"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen
        assert "created with the temporary password 123456" in text_of(screen, "#users-message")
        table = screen.query_one("#users", DataTable)
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == ["Admin", "frontdesk1"]
        assert table.get_row_at(1)[5] == "temp password"
    user = stored_user(ctx, "frontdesk1")
    assert (user.name, user.phone, user.must_change_password) == ("Ada Obi", "0803", True)
    assert verify_password(user.password_hash, "123456")
    assert audited(ctx, "user.create") == ["created user frontdesk1 with role OnlyVending"]


async def test_form_shows_what_is_wrong_and_saves_nothing(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_users(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        await pilot.press(*"bad id", "ctrl+s")
        await settle(app, pilot)
        assert "letters, digits" in str(app.screen.query_one("#field-user_code .field-error", Static).render())
        await pilot.press("escape", "y")  # Esc asks before it drops what was typed
        await settle(app, pilot)
        assert isinstance(app.screen, UserListScreen)
    assert stored_user(ctx, "bad id") is None


async def test_admin_edits_disables_resets_and_unlocks(ctx, admin):
    clerk = users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
    for _ in range(5):
        try:
            auth.authenticate(ctx, "clerk", "wrong-password")
        except Exception:
            pass
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_users(app, pilot)
        move_to(screen, "clerk")
        assert screen.query_one("#users", DataTable).get_row_at(1)[5] == "locked"
        await pilot.press("u")
        await settle(app, pilot)
        assert "clerk unlocked" in text_of(screen, "#users-message")
        move_to(screen, "clerk")
        await pilot.press("e")
        await settle(app, pilot)
        await pilot.press(*" Senior")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "clerk saved" in text_of(screen, "#users-message")
        move_to(screen, "clerk")
        await pilot.press("d")
        await settle(app, pilot)
        assert "Disable clerk?" in str(app.screen.query_one("#confirm-detail", Static).render())
        await pilot.press("y")
        await settle(app, pilot)
        assert screen.query_one("#users", DataTable).get_row_at(1)[5] == "disabled"
        move_to(screen, "clerk")
        await pilot.press("r", "y")
        await settle(app, pilot)
        assert "is now 123456" in text_of(screen, "#users-message")
        move_to(screen, "clerk")
        await pilot.press("d")  # enabling needs no confirmation
        await settle(app, pilot)
    user = stored_user(ctx, "clerk")
    assert user.enabled and user.must_change_password and user.locked_until is None
    assert user.name == "Senior"  # trimmed
    assert audited(ctx, "user.unlock") == ["unlocked user clerk"]
    assert audited(ctx, "user.disable") == ["disabled user clerk"]
    assert audited(ctx, "user.enable") == ["enabled user clerk"]
    assert audited(ctx, "user.password_reset") == ["reset the password of clerk to the temporary one"]
    assert clerk.id == user.id


async def test_builtin_admin_refusals_are_shown(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_users(app, pilot)
        move_to(screen, "Admin")
        await pilot.press("d", "y")
        await settle(app, pilot)
        assert "built-in Admin can't be disabled" in text_of(screen, "#users-message")
        await pilot.press("delete", "y")
        await settle(app, pilot)
        assert "can't be deleted" in text_of(screen, "#users-message")
        await pilot.press("e")
        await settle(app, pilot)
        assert app.screen.query_one("#role", Select).disabled  # no demotion from the form
        assert app.screen.query_one("#role", Select).value == "Administrator"
    assert stored_user(ctx, "Admin").enabled


async def test_operator_without_the_right_cannot_reach_user_management(ctx, admin):
    users.create_user(ctx, admin, user_code="cashier", role="OnlyVending")
    cashier = auth.authenticate(ctx, "cashier", "123456")
    auth.replace_temporary_passwords(ctx, cashier, "123456", new_login="Cashier-pw-1", new_payment="Cashier-pay-1")
    cashier = auth.authenticate(ctx, "cashier", "Cashier-pw-1")
    app = StronApp(ctx, actor=cashier)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        before = len(app.screen_stack)
        app.open_entry("system.users")
        app.open_entry("system.roles")
        app.open_entry("system.audit")
        await settle(app, pilot)
        assert len(app.screen_stack) == before
        assert not isinstance(app.screen, UserListScreen)
        assert any("You may not open User Management" in str(n.message) for n in app._notifications)
