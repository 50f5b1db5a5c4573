"""Role Management screens: the permissions checklist, refusals, and the audit rows they leave."""

from __future__ import annotations


from sqlalchemy import select
from textual.widgets import DataTable, Input, SelectionList, Static

from screens.system.roles import RoleFormScreen, RoleListScreen
from stron_tui.app import StronApp
from stron_tui.db.models import AuditEntry
from stron_tui.services import auth, roles, users
from stron_tui.services.permissions import ALL_PERMISSIONS
from tests.screens.keyboard import enter, settle



def message(screen):
    return str(screen.query_one("#roles-message", Static).render())


async def open_roles(app, pilot):
    app.open_entry("system.roles")
    await settle(app, pilot)
    assert isinstance(app.screen, RoleListScreen)
    return app.screen


def move_to(screen, name):
    screen.query_one("#roles", DataTable).move_cursor(row=[r.name for r in screen._roles].index(name))


async def test_create_a_role_from_the_checklist_and_it_grants_only_that(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_roles(app, pilot)
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, RoleFormScreen)
        await pilot.press(*"Cashier Plus", "tab")
        await enter(pilot, "description", "Vending and records")
        checklist = app.screen.query_one("#permissions", SelectionList)
        assert checklist.has_focus
        assert str(checklist.get_option_at_index(0).prompt).startswith("Top-up Center")
        await pilot.press("space", "down", "space")  # sell credit, reprint receipts
        boxes = [checklist.render_line(row).text[:3] for row in range(3)]
        assert boxes == ["▐X▌", "▐X▌", "▐ ▌"]  # ticked or not is readable without colour
        codes = [checklist.get_option_at_index(i).value for i in range(checklist.option_count)]
        checklist.highlighted = codes.index("exceptions.records")
        await pilot.press("space", "ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen
        assert "Role Cashier Plus saved with 3 permissions" in message(screen)
    role = next(r for r in roles.list_roles(ctx, admin) if r.name == "Cashier Plus")
    assert role.permissions == ("topup.vend", "topup.reprint", "exceptions.records")
    assert role.description == "Vending and records"
    users.create_user(ctx, admin, user_code="plus", role="Cashier Plus")
    assert [m.key for m in auth.authenticate(ctx, "plus", "123456").visible_modules()] == ["topup", "exceptions"]


async def test_rename_and_change_permissions(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_roles(app, pilot)
        move_to(screen, "OnlyVending")
        await pilot.press("enter")
        await settle(app, pilot)
        name = app.screen.query_one("#name", Input)
        name.value = "Front Desk"
        app.screen.query_one("#permissions", SelectionList).deselect("topup.reprint")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "Role Front Desk saved with 2 permissions" in message(screen)  # sell, own shift
    with ctx.db.read_session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "role.update")).one()
    assert '"name": ["OnlyVending", "Front Desk"]' in entry.detail
    assert '"permissions_removed": ["topup.reprint"]' in entry.detail


async def test_role_in_use_and_administrator_are_protected(ctx, admin):
    users.create_user(ctx, admin, user_code="c1", role="OnlyVending")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_roles(app, pilot)
        move_to(screen, "OnlyVending")
        await pilot.press("delete", "y")
        await settle(app, pilot)
        assert "given to 1 user" in message(screen)
        move_to(screen, "Administrator")
        await pilot.press("delete", "y")
        await settle(app, pilot)
        assert "can't be deleted" in message(screen)
        await pilot.press("e")
        await settle(app, pilot)
        form = app.screen
        assert form.query_one("#permissions", SelectionList).disabled
        assert form.query_one("#name", Input).disabled
        assert set(form.query_one("#permissions", SelectionList).selected) == ALL_PERMISSIONS
        await pilot.press(*"Everything", "ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen
    admin_role = next(r for r in roles.list_roles(ctx, admin) if r.administrator)
    assert (admin_role.name, admin_role.description) == ("Administrator", "Everything")
    assert set(admin_role.permissions) == ALL_PERMISSIONS


async def test_empty_role_is_deleted_with_an_audit_row(ctx, admin):
    roles.create_role(ctx, admin, name="Temp", permissions=["reports.view"])
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_roles(app, pilot)
        move_to(screen, "Temp")
        await pilot.press("delete", "y")
        await settle(app, pilot)
        assert "Role Temp deleted" in message(screen)
        assert [r.name for r in screen._roles] == ["Administrator", "OnlyVending"]
    with ctx.db.read_session() as session:
        assert session.scalars(select(AuditEntry.summary).where(AuditEntry.action == "role.delete")).all() == [
            "deleted role Temp"]
