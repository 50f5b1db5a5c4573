"""Exception Handling by keyboard: a clear tamper token from the main menu to the receipt, then its record."""

from __future__ import annotations

from sqlalchemy import func, select
from textual.widgets import DataTable, Static

from stron_tui.app import StronApp
from stron_tui.db.models import ManagementToken
from tests.screens.keyboard import burst, settle
from tests.factories import add_meter, build_world


async def test_clear_tamper_by_keyboard_then_the_record_lists_it(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4400000001")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f4", "1")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ClearTamperScreen"
        await pilot.press(*meter, "enter")
        await settle(app, pilot)
        facts = str(app.screen.query_one("#facts", Static).render())
        assert "Customer C4400000001" in facts and "Account A4400000001" in facts and "Tariff Home" in facts
        assert "SGC 600100" in facts
        # An empty reason: the error shows beside the field and nothing is issued.
        await pilot.press("enter", *"AdminPass1", "enter")
        await settle(app, pilot)
        assert "reason" in str(app.screen.query_one("#field-reason .field-error", Static).render()).lower()
        await pilot.press(*"seal broken", "enter", *"AdminPass1", "enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReceiptScreen"
        with ctx.db.read_session() as session:
            rows = session.scalars(select(ManagementToken)).all()
        assert len(rows) == 1 and rows[0].reason == "seal broken"
        grouped = " ".join(rows[0].token[i:i + 4] for i in range(0, 20, 4))
        assert grouped in str(app.screen.query_one("#token-line", Static).render())
        keypad = world.meter_simulator(meter)
        keypad.set_tamper(True)
        assert keypad.enter(rows[0].token).accepted and keypad.tamper is False
        # Back to an empty form, then to the menu and the record.
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "ClearTamperScreen"
        assert app.screen.query_one("#meter").value == ""
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f4", "2")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ClearTamperRecordScreen"
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        cells = [str(cell) for cell in table.get_row_at(0)]
        assert cells[:3] == ["C4400000001", meter, "Admin"] and cells[3] == grouped and cells[5] == "seal broken"
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReceiptScreen"
        assert rows[0].receipt_number in str(app.screen.query_one(".screen-title", Static).render())
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count(ManagementToken.id))) == 1


async def test_power_limit_rejects_bad_watts_beside_the_field(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4400000002")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f4", "5")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PowerLimitScreen"
        await pilot.press(*meter, "enter")
        await settle(app, pilot)
        await pilot.press(*"lots", "enter", "enter", *"AdminPass1", "enter")
        await settle(app, pilot)
        assert "watts" in str(app.screen.query_one("#field-watts .field-error", Static).render())
        watts = app.screen.query_one("#watts")
        watts.value = ""
        await pilot.press(*"4000", "enter", "enter", *"AdminPass1", "enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReceiptScreen"
    keypad = world.meter_simulator(meter)
    with ctx.db.read_session() as session:
        token = session.scalar(select(ManagementToken.token))
    assert keypad.enter(token).accepted and keypad.power_limit == 4000


async def test_a_token_needs_the_payment_password_and_a_meter_type_that_takes_it(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4400000003")  # single-phase
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4", "1")
        await settle(app, pilot)
        await pilot.press(*meter, "enter", *"seal broken", "enter", *"AdminPass1x", "enter")
        await settle(app, pilot)
        screen = app.screen
        assert type(screen).__name__ == "ClearTamperScreen"
        assert "Wrong payment password" in str(screen.query_one("#field-pin .field-error", Static).render())
        assert screen.query_one("#pin").value == "" and screen.focused.id == "pin"
        await pilot.press("escape", "y", "escape")  # Esc asks before it drops the meter and reason typed
        await settle(app, pilot)
        await pilot.press("f4", "6")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PhaseUnbalanceScreen"
        await pilot.press(*meter, "enter")
        await settle(app, pilot)
        error = str(app.screen.query_one("#field-meter .field-error", Static).render())
        assert "three-phase electricity meters only" in error
        assert app.screen.facts is None and app.screen.focused.id == "meter"
        await pilot.press("enter", *"1200", "enter", "enter", *"AdminPass1", "enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PhaseUnbalanceScreen"
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count(ManagementToken.id))) == 0


async def test_a_management_token_typed_in_one_burst_issues_what_was_typed(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4400000009")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4", "1")
        await settle(app, pilot)
        # The reason arrives before the meter's look-up has answered (a slow link delivers it all at once).
        await burst(pilot, *meter, "enter", *"seal broken", "enter", *"AdminPass1", "enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReceiptScreen"
    with ctx.db.read_session() as session:
        row = session.scalar(select(ManagementToken))
    assert row.reason == "seal broken"
