"""Data scoping at the keyboard: a cashier's reprint and recent receipts hold only their station's."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select
from textual.widgets import Static

from stron_tui.app import StronApp
from stron_tui.db.models import ReceiptPrint
from tests.scoping import build_scoped


async def _reprint_by_keyboard(app, pilot, number: str) -> None:
    app.open_entry("topup.reprint")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.press(*number, "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()


def _error_shown(app) -> str:
    return str(app.screen.query_one("#field-number").query_one(".field-error", Static).render())


async def test_reprint_of_another_stations_receipt_is_no_receipt_and_shows_no_token(ctx, admin):
    scoped = build_scoped(ctx, admin)
    cashier = replace(scoped.cashier2, must_change_password=False)
    app = StronApp(ctx, actor=cashier)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _reprint_by_keyboard(app, pilot, scoped.s1_sale.receipt_number)
        assert _error_shown(app) == (f"! There is no receipt or transaction numbered {scoped.s1_sale.receipt_number}"
                                     ", and none of your last receipts here holds it.")
        assert type(app.screen).__name__ == "ReprintScreen"
        shown = str(app.screen.query_one("#recent", Static).render())
        assert shown == f"None of your last receipts here holds '{scoped.s1_sale.receipt_number}'."
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count(ReceiptPrint.id))) == 0
    # The control: the cashier of S1 reprints it.
    app = StronApp(ctx, actor=replace(scoped.cashier1, must_change_password=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _reprint_by_keyboard(app, pilot, scoped.s1_sale.receipt_number)
        assert type(app.screen).__name__ == "ReceiptScreen"
        text = str(app.screen.query_one("#receipt-text", Static).render())
        assert "*** REPRINT ***" in text and scoped.s1_sale.token[:4] in text
