"""The Top-up screen sells the sale it previewed: an edit or a new price needs a new preview."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from textual.widgets import Input, Static

from stron_tui.app import StronApp
from stron_tui.db.models import Tariff, Vend
from tests.factories import add_meter, build_world


async def _preview(app, pilot, meter: str, amount: str):
    await pilot.press("f2")
    await pilot.pause()
    await pilot.press(*meter[:6])
    await pilot.pause(0.5)
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press(*amount, "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _confirm(app, pilot, password: str = "AdminPass1"):
    app.screen.query_one("#pin", Input).focus()
    await pilot.pause()
    await pilot.press(*password, "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()


def _sold(ctx) -> list[Vend]:
    with ctx.db.read_session() as session:
        return list(session.scalars(select(Vend)))


async def test_editing_the_amount_after_the_preview_sells_nothing_until_previewed_again(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4300000001")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        await _preview(app, pilot, meter, "10")
        assert app.screen.quote is not None and app.screen.quote.gross == Decimal("10.00")
        value = app.screen.query_one("#value", Input)
        value.focus()
        await pilot.press("backspace", "backspace", "2", "0")
        await pilot.pause()
        assert app.screen.quote is None and str(app.screen.query_one("#preview", Static).render()) == ""
        await _confirm(app, pilot)
        assert _sold(ctx) == []
        # Enter in the amount field previews 20; that sale is the one sold.
        value.focus()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await _confirm(app, pilot)
        [vend] = _sold(ctx)
        assert (vend.gross_amount, vend.units) == (Decimal("20.0000"), Decimal("100.0"))


async def test_a_price_change_between_preview_and_enter_is_refused_and_needs_a_new_preview(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4300000002")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(100, 30)) as pilot:
        await _preview(app, pilot, meter, "10")
        assert app.screen.quote.units == Decimal("50.0")
        with ctx.db.session() as session:
            tariff = session.get(Tariff, world.tariffs["inclusive"])
            tariff.price_per_unit = Decimal("0.25")
            tariff.updated_at = tariff.updated_at.replace(
                microsecond=(tariff.updated_at.microsecond + 1) % 1000000)
        await _confirm(app, pilot)
        with ctx.db.read_session() as session:
            assert session.scalar(select(func.count(Vend.id))) == 0
        assert app.screen.quote is None
        assert "preview again" in str(app.screen.query_one("#topup-message", Static).render())
