"""Each management token kind's screen is built from its row in management_kinds.KINDS."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from textual.widgets import Input, Static

from stron_tui.app import StronApp
from stron_tui.db.models import ManagementToken
from stron_tui.services.management_kinds import KINDS
from tests.factories import add_meter, build_world
from tests.screens.keyboard import settle


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_kinds_screen_asks_for_its_own_fields(ctx, admin, kind):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_entry(KINDS[kind].permission)
        await settle(app, pilot)
        assert app.screen.TITLE_TEXT == KINDS[kind].title
        assert [i.id for i in app.screen.query(Input)] == [
            "meter", *(field.name for field in KINDS[kind].fields), "reason", "pin"]


async def test_a_kinds_parsing_message_shows_beside_its_field_and_nothing_is_issued(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4400000009")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_entry("exceptions.power_limit")
        await settle(app, pilot)
        await pilot.press(*meter, "enter")
        await settle(app, pilot)
        await pilot.press(*"5 kW", "enter", "enter", *"AdminPass1", "enter")
        await settle(app, pilot)
        error = str(app.screen.query_one("#field-watts .field-error", Static).render())
        assert error == "! Enter the limit in whole watts, for example 5000."
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count(ManagementToken.id))) == 0
