"""Stored text is shown exactly as stored: Rich markup in a name is not interpreted, and control characters
planted in the database (past the door's cleaning) reach the terminal only as '?'."""

from __future__ import annotations

from sqlalchemy import update

from stron_tui.app import StronApp
from stron_tui.db.models import Customer
from stron_tui.services import libraries
from tests.screens.keyboard import settle
from tests.screens.test_basedata_screens import open_library
from widgets.paged_table import PagedTable


async def test_a_customer_list_shows_markup_and_escapes_literally(ctx, admin):
    plain = libraries.create(ctx, admin, "customers", {"code": "MK1", "name": "placeholder"})
    planted = libraries.create(ctx, admin, "customers", {"code": "MK2", "name": "placeholder"})
    with ctx.db.session() as session:
        session.execute(update(Customer).where(Customer.id == plain.id).values(name="[/]Ada [bold]Obi[/bold]"))
        session.execute(update(Customer).where(Customer.id == planted.id).values(name="Eve\x1b]0;owned\x07\x1b[2J"))
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(110, 40)) as pilot:
        await open_library(app, pilot, "customers")
        table = app.screen.query_one(PagedTable).data_table
        await settle(app, pilot)
        lines = [table.render_line(y).text for y in range(table.size.height)]
        shown = "\n".join(lines)
        assert "[/]Ada [bold]Obi[/bold]" in shown
        assert "Eve?]0;owned??[2J" in shown
        assert not any(ord(ch) < 32 for ch in shown.replace("\n", ""))


async def test_a_form_error_quoting_markup_shows_it_literally(ctx, admin):
    from tests.screens.test_basedata_screens import new_record
    from widgets.fields import LabeledField

    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(110, 40)) as pilot:
        await open_library(app, pilot, "customers")
        await new_record(app, pilot, {"code": "MK3", "name": "Ada", "email": "[/]x[b]"})
        error = app.screen.query_one("#field-email", LabeledField).query_one(".field-error")
        assert "[/]x[b] is not an e-mail address" in str(error.render())


async def test_an_audit_entry_planted_with_escapes_shows_without_them(ctx, admin):
    from sqlalchemy import insert
    from textual.widgets import Static

    from screens.system.audit import AuditLogScreen
    from stron_tui.db.models import AuditEntry
    from stron_tui.domain.clock import utcnow

    with ctx.db.session() as session:  # written past the audit service, as an old version might have
        session.execute(insert(AuditEntry).values(
            occurred_at=utcnow(), source="ssh", user_code="ghost\x1b]2;owned\x07", action="login_failed",
            entity="", entity_id="", remote="", summary="unknown user ID \x1b[2J", detail='{"x": "\x9b2J"}'))
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(110, 30)) as pilot:
        app.open_entry("system.audit")
        await settle(app, pilot)
        assert isinstance(app.screen, AuditLogScreen)
        shown = str(app.screen.query_one("#audit-detail", Static).render())
        assert "unknown user ID ?[2J" in shown and "ghost?]2;owned?" in shown
        assert not any(ord(ch) < 32 and ch != "\n" or 0x7f <= ord(ch) <= 0x9f for ch in shown)
