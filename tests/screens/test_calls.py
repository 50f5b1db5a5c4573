"""One way to call a service from a screen: off the UI thread, failures shown by error type and field."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import StronScreen
from screens.calls import call_service
from stron_tui.app import StronApp
from tests.screens.keyboard import settle
from widgets.fields import LabeledField, TextInput


class PinScreen(StronScreen):
    """A meter field, a payment password field and a message line: where each failure should go."""

    MESSAGE_ID = "message"

    def compose_body(self) -> ComposeResult:
        yield LabeledField("Meter", TextInput(id="meter"), id="field-meter")
        yield LabeledField("Payment password", TextInput(id="pin", password=True), id="field-pin")
        yield Static("", id="message", markup=False)


def error_of(screen, name: str) -> str:
    return screen.query_one(f"#field-{name}", LabeledField).error


async def _on_pin_screen(app, pilot) -> PinScreen:
    await settle(app, pilot)
    screen = PinScreen()
    await app.push_screen(screen)
    return screen


async def test_a_wrong_payment_password_shows_beside_the_password_by_its_field(ctx, admin):
    from stron_tui.services import auth

    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _on_pin_screen(app, pilot)
        call_service(screen, auth.verify_own_password, "not-it", kind="payment", fields={"payment_password": "pin"},
                     busy="Checking...")
        assert screen.said == "Checking..."
        await settle(app, pilot)
        assert "Wrong payment password" in error_of(screen, "pin")
        assert app.focused is screen.query_one("#pin")
        assert error_of(screen, "meter") == ""
        assert "Wrong payment password" in screen.said  # and on the message line, in place of "Checking..."


async def test_each_error_goes_where_its_field_says_and_a_result_reaches_the_screen(ctx, admin):
    from stron_tui.services import receipts, vending

    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _on_pin_screen(app, pilot)
        call_service(screen, vending.load_target, "4299999999")  # about the meter: beside the meter field
        await settle(app, pilot)
        assert "4299999999" in error_of(screen, "meter") and error_of(screen, "pin") == ""
        call_service(screen, receipts.reprint_receipt, "R-NONE-1")  # about no field: on the message line only
        await settle(app, pilot)
        assert "R-NONE-1" in screen.said.upper() and "4299999999" in error_of(screen, "meter")
        assert "R-NONE-1" in str(screen.query_one("#message", Static).render()).upper()
        got = []
        call_service(screen, vending.currencies, app.ctx, with_actor=False, on_success=got.append)
        await settle(app, pilot)
        assert got == [vending.currencies(ctx)]


async def test_the_guard_fails_a_screen_that_reads_the_database_on_the_ui_thread(ctx, admin,
                                                                                no_database_on_the_event_loop):
    from stron_tui.services import auth

    class ReadsOnMount(PinScreen):
        def on_mount(self) -> None:
            super().on_mount()
            try:
                auth.password_state(self.app.ctx, self.app.actor)  # the mistake the guard is there for
            except AssertionError:
                pass

    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await app.push_screen(ReadsOnMount())
        await settle(app, pilot)
    offences = no_database_on_the_event_loop
    assert offences and "password_state" in offences[0]
    offences.clear()  # seen: the test passes
