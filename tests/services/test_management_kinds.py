"""The management token kinds table: the menu, the screens, the receipt, the records and the API read one row."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from textual.widgets import Input, Static

from screens.registry import ENTRIES_BY_KEY
from stron_tui.api.schemas import ManagementIn
from stron_tui.app import StronApp
from stron_tui.db.models import ManagementToken
from stron_tui.errors import ValidationError
from stron_tui.services import management, vending
from stron_tui.services.management import ManagementRequest
from stron_tui.services.management_kinds import KINDS, RECORD_KINDS
from tests.factories import add_meter, build_world
from tests.screens.keyboard import settle


def test_every_kind_is_in_the_menu_and_the_api():
    for kind in KINDS.values():
        entry = ENTRIES_BY_KEY[kind.permission]
        assert (entry.title, entry.description, entry.permission) == (kind.title, kind.description, kind.permission)
        if kind.has_records:
            assert ENTRIES_BY_KEY[kind.record_key].title == kind.record_title
    assert ManagementIn.model_json_schema()["properties"]["kind"]["enum"] == list(KINDS)
    assert RECORD_KINDS == ("clear_tamper", "clear_credit")
    body = ManagementIn.model_validate({"kind": "set_power_limit", "watts": 5000, "register": 2})
    assert body.kind_fields() == {"watts": 5000}  # only the fields that kind takes reach the service


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


def test_the_receipt_takes_its_title_and_detail_from_the_kind(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4400000010")
    receipt = management.issue(ctx, admin, ManagementRequest(meter, "clear_credit", vending.new_request_id(),
                                                             "reset", register=1),
                               payment_password="AdminPass1")
    assert (receipt.title, receipt.detail) == ("CLEAR CREDIT", "Credit register 1")
    record = management.records(ctx, admin, "clear_credit").rows[0]
    assert record.detail == "register 1"
    with pytest.raises(ValidationError, match="Unknown management token 'boost'"):
        management.issue(ctx, admin, ManagementRequest(meter, "boost", vending.new_request_id(), "x"),
                         payment_password="AdminPass1")
