"""Audit Log screen: filters typed by keys, keyset pages newest first, export to Excel."""

from __future__ import annotations


from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from textual.widgets import DataTable, Static

from screens.system.audit import AuditLogScreen
from stron_tui.app import StronApp
from stron_tui.db.models import AuditEntry
from stron_tui.services import audit
from tests.screens.keyboard import settle


def add_entries(ctx, count, user_code="clerk", action="vend", source="tui"):
    start = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
    with ctx.db.session() as session:
        for number in range(count):
            entry = audit.record(session, None, action, user_code=user_code, source=source,
                                 summary=f"{action} {number}")
            entry.occurred_at = start + timedelta(minutes=number)


def summaries(screen):
    table = screen.query_one("#audit", DataTable)
    return [table.get_row_at(i)[4] for i in range(table.row_count)]


async def test_filter_by_user_and_page_through_newest_first(ctx, admin):
    add_entries(ctx, 55)
    add_entries(ctx, 3, user_code="other", action="login", source="ssh")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(110, 30)) as pilot:
        app.open_entry("system.audit")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, AuditLogScreen)
        await pilot.press("slash", *"CLERK", "enter")
        await settle(app, pilot)
        first = summaries(screen)
        assert len(first) == 50 and first[0] == "vend 54" and first[-1] == "vend 5"
        assert "] older" in str(screen.query_one("#audit-page", Static).render())
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert summaries(screen) == ["vend 4", "vend 3", "vend 2", "vend 1", "vend 0"]
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert summaries(screen)[0] == "vend 54"
        await pilot.press("slash", "backspace", "tab", "tab", *"ssh", "enter")  # focus selects all
        await settle(app, pilot)
        assert summaries(screen) == ["login 2", "login 1", "login 0"]
        assert "via SSH" in str(screen.query_one("#audit-detail", Static).render())


async def test_bad_filter_is_explained_beside_the_field(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(110, 30)) as pilot:
        app.open_entry("system.audit")
        await settle(app, pilot)
        screen = app.screen
        screen.query_one("#filter-date_from").focus()
        await pilot.press(*"31/01/2025", "enter")
        await settle(app, pilot)
        assert "YYYY-MM-DD" in str(screen.query_one("#field-date_from .field-error", Static).render())


async def test_export_writes_excel_and_is_audited(ctx, admin):
    add_entries(ctx, 4)
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(110, 30)) as pilot:
        app.open_entry("system.audit")
        await settle(app, pilot)
        screen = app.screen
        screen.query_one("#filter-action").focus()
        await pilot.press(*"vend", "enter")
        await settle(app, pilot)
        await pilot.press("x")
        await settle(app, pilot)
        said = str(screen.query_one("#audit-message", Static).render())
    assert said.startswith("Exported 4 entries to ") and said.endswith(".xlsx")
    assert (ctx.settings.export_dir / f"u{admin.user_id}").is_dir()
    assert list((ctx.settings.export_dir / f"u{admin.user_id}").glob("audit-log-*.xlsx"))
    with ctx.db.read_session() as session:
        exported = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.export")).one()
    assert exported.user_code == "Admin" and "action=vend" in exported.detail
