"""A cashier's day at 80x24, keyboard only: no sale lost or added without a word.

Each test drives the app with the Pilot and checks both what the screen says
and what the database holds (the number of sales before and after).
"""

from __future__ import annotations

from sqlalchemy import func, select
from textual import events
from textual.widgets import Input, OptionList, Select, Static

from screens.login import LoginScreen
from screens.menu import MainMenuScreen
from screens.system.password import ChangePasswordScreen
from screens.topup.receipt import ReceiptScreen, ReprintScreen
from screens.topup.topup import TopUpScreen
from stron_tui.app import StronApp
from stron_tui.db.models import Customer, ReceiptPrint, SalesStation, Vend
from stron_tui.services import auth, users
from stron_tui.domain.text import fold
from tests.factories import add_meter, build_world
from tests.screens.keyboard import settle

SIZE = (80, 24)
ADMIN_PAY = "AdminPass1"


def sales(ctx) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count(Vend.id)))


def text_of(screen, selector) -> str:
    return str(screen.query_one(selector, Static).render())


def error_of(screen, field) -> str:
    return text_of(screen, f"#field-{field} .field-error")


def rename(ctx, meter_number_serial: str, name: str) -> None:
    with ctx.db.session() as session:
        customer = session.scalar(select(Customer).where(Customer.code == f"C{meter_number_serial}"))
        customer.name, customer.name_key = name, fold(name)


def cashier(ctx, admin, world, user_code="till1"):
    """A cashier at the world's station who has chosen both own passwords."""
    users.create_user(ctx, admin, user_code=user_code, role="OnlyVending", station_id=world.station_id)
    first = auth.authenticate(ctx, user_code, "123456")
    auth.replace_temporary_passwords(ctx, first, "123456", new_login="Till-login-1", new_payment="Till-pay-1")
    return auth.authenticate(ctx, user_code, "Till-login-1")


async def open_topup(app, pilot):
    await settle(app, pilot)
    await pilot.press("f2")
    await settle(app, pilot)
    assert isinstance(app.screen, TopUpScreen)
    return app.screen


async def find(app, pilot, text):
    await pilot.press(*text)
    await pilot.pause(0.4)  # the type-ahead waits for a pause in typing
    await settle(app, pilot)


async def choose_meter(app, pilot, meter):
    await find(app, pilot, meter)
    await pilot.press("enter")
    await settle(app, pilot)
    assert app.screen.target is not None and app.screen.target.meter_number == meter


async def preview(app, pilot, amount):
    await pilot.press(*amount, "enter")
    await settle(app, pilot)


async def pick_payment_type(app, pilot, steps_down: int):
    """Open the payment type dropdown from the keyboard and pick the option `steps_down` below."""
    app.screen.query_one("#payment-type", Select).focus()
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(*["down"] * steps_down, "enter")
    await settle(app, pilot)


# 1. Nothing clears a sale but F9 --------------------------------------------------------------------


async def test_changing_the_payment_type_keeps_the_sale_and_tab_enter_drop_nothing(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4300000001")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_topup(app, pilot)
        await choose_meter(app, pilot, meter)
        await preview(app, pilot, "10")
        assert "PREVIEW" in text_of(screen, "#preview")
        await pick_payment_type(app, pilot, 1)
        # The sale is all there; the breakdown was made again; the focus went on to the password, once.
        assert screen.query_one("#find", Input).value == meter
        assert screen.query_one("#value", Input).value == "10"
        assert screen.query_one("#payment-type", Select).value != "cash"
        assert "PREVIEW" in text_of(screen, "#preview")
        assert screen.focused.id == "pin"
        for key in ("tab", "enter", "tab", "enter", "shift+tab", "enter", "tab", "tab", "enter"):
            await pilot.press(key)
            await settle(app, pilot)
            assert screen.query_one("#find", Input).value == meter, key
            assert screen.query_one("#value", Input).value == "10", key
            assert isinstance(app.screen, TopUpScreen)
        assert sales(ctx) == 0
        # F9 is the one key that clears, and it says so; the footer names it.
        assert "f9" in {key for key, b in screen.active_bindings.items() if b.binding.show}
        await pilot.press("f9")
        await settle(app, pilot)
        assert screen.query_one("#find", Input).value == "" and screen.query_one("#value", Input).value == ""
        assert "previous entries were cleared; nothing was sold" in text_of(screen, "#topup-message")
    assert sales(ctx) == 0


async def test_an_amount_changed_after_the_preview_is_never_sold_unseen(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4300000002")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_topup(app, pilot)
        await choose_meter(app, pilot, meter)
        await preview(app, pilot, "10")
        value = screen.query_one("#value", Input)
        value.focus()
        await pilot.press("end", "0")  # 100 now, the preview said 10
        await settle(app, pilot)
        assert text_of(screen, "#preview") == ""
        assert "Amount changed" in text_of(screen, "#topup-message")
        screen.query_one("#pin", Input).focus()
        await pilot.press(*ADMIN_PAY, "enter")
        await settle(app, pilot)
        assert "Preview the sale first" in text_of(screen, "#topup-message")
        assert sales(ctx) == 0
        await pilot.press("enter")  # the focus went back to the amount: Enter previews 100
        await settle(app, pilot)
        assert "100.00 USD" in text_of(screen, "#preview")
        await pilot.press(*ADMIN_PAY, "enter")
        await settle(app, pilot)
    with ctx.db.read_session() as session:
        assert [str(v.paid_amount.normalize()) for v in session.scalars(select(Vend))] == ["1E+2"]


# 2. The payment type starts from the default for each customer ---------------------------------------


async def test_the_payment_type_resets_to_the_default_for_each_new_sale_and_customer(ctx, admin):
    world = build_world(ctx)
    first, second = add_meter(world, "4300000003"), add_meter(world, "4300000004")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_topup(app, pilot)
        default = screen.query_one("#payment-type", Select).value
        await choose_meter(app, pilot, first)
        await preview(app, pilot, "10")
        await pick_payment_type(app, pilot, 1)
        chosen = screen.query_one("#payment-type", Select).value
        assert chosen != default
        await pilot.press(*ADMIN_PAY, "enter")
        await settle(app, pilot)
        assert screen.receipt is not None
        await pilot.press("enter")  # next sale
        await settle(app, pilot)
        assert screen.query_one("#payment-type", Select).value == default
        await pick_payment_type(app, pilot, 1)
        screen.query_one("#find", Input).focus()
        await choose_meter(app, pilot, second)  # another customer: the default again
        assert screen.query_one("#payment-type", Select).value == default
    with ctx.db.read_session() as session:
        assert list(session.scalars(select(Vend.payment_type))) == [chosen]


# 3. The first login sets both passwords; the first sale goes through ------------------------------------


async def test_a_new_cashier_sets_both_passwords_once_and_the_first_sale_goes_through(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4300000005")
    users.create_user(ctx, admin, user_code="newbie", role="OnlyVending", station_id=world.station_id)
    app = StronApp(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*"newbie", "enter", *"123456", "enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ChangePasswordScreen) and screen.forced
        labels = [str(label.render()) for label in screen.query("LabeledField > Label")]
        assert labels[0].startswith("Current login password")
        assert any(label.startswith("New login password") for label in labels)
        assert any(label.startswith("New payment password") for label in labels)
        assert not any("if you have none" in label for label in labels)
        await pilot.press(*"123456", "enter", *"Newbie-pw-7", "enter", *"Newbie-pw-7", "enter",
                          *"Pay-2468", "enter", *"Pay-2469", "enter")
        await settle(app, pilot)
        assert error_of(screen, "pay-repeat") == "! The two new payment passwords differ."
        screen.query_one("#pay-repeat", Input).value = ""
        await pilot.press(*"Pay-2468", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MainMenuScreen)
        await open_topup(app, pilot)
        await choose_meter(app, pilot, meter)
        await preview(app, pilot, "10")
        await pilot.press(*"Pay-2468", "enter")
        await settle(app, pilot)
        assert app.screen.receipt is not None
        assert "Sold: receipt" in text_of(app.screen, "#topup-message")
    assert sales(ctx) == 1


# 4. Errors go when their cause goes ----------------------------------------------------------------------


async def test_errors_disappear_when_the_field_another_meter_or_a_new_sale_changes_their_cause(ctx, admin):
    world = build_world(ctx)
    first, second = add_meter(world, "4300000006"), add_meter(world, "4300000007")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_topup(app, pilot)
        await choose_meter(app, pilot, first)
        await preview(app, pilot, "abc")
        assert "not a number" in error_of(screen, "value") or "must be a number" in error_of(screen, "value")
        await pilot.press("backspace")  # the cashier corrects the amount: the message goes
        await settle(app, pilot)
        assert error_of(screen, "value") == ""
        await preview(app, pilot, "x")
        assert error_of(screen, "value") != ""
        screen.query_one("#find", Input).focus()
        screen.query_one("#find", Input).value = ""
        await choose_meter(app, pilot, second)  # another meter: the message about the first goes
        assert error_of(screen, "value") == ""
        screen.query_one("#value", Input).value = ""
        await preview(app, pilot, "5")
        await pilot.press(*"wrong-pay", "enter")
        await settle(app, pilot)
        assert "Wrong payment password" in error_of(screen, "pin")
        await pilot.press("f9")
        await settle(app, pilot)
        assert error_of(screen, "pin") == "" and error_of(screen, "value") == ""
        assert "Wrong" not in text_of(screen, "#topup-message")
    assert sales(ctx) == 0


# 5. Esc asks before it leaves a sale, logs out or quits; the footer says what it does ----------------------


def esc_in_footer(screen) -> str:
    binding = screen.active_bindings.get("escape")
    assert binding is not None and binding.binding.show and binding.enabled
    return binding.binding.description


async def test_esc_asks_before_dropping_a_sale_logging_out_or_quitting(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4300000008")
    app = StronApp(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen)
        assert "Quit" in esc_in_footer(app.screen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert "Quit stron-tui?" in text_of(app.screen, "#confirm-question")
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen) and app.is_running
        await pilot.press(*"Admin", "enter", *"AdminPass1", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MainMenuScreen)
        assert "Log out" in esc_in_footer(app.screen)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("escape")  # Esc on the question answers no
        await settle(app, pilot)
        assert isinstance(app.screen, MainMenuScreen) and app.actor is not None
        screen = await open_topup(app, pilot)
        assert esc_in_footer(screen) == "Back"
        await choose_meter(app, pilot, meter)
        await pilot.press(*"12")
        await pilot.press("escape")
        await settle(app, pilot)
        assert "drop the sale in progress" in text_of(app.screen, "#confirm-question")
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen is screen and screen.query_one("#value", Input).value == "12"
        await pilot.press("f10")  # logging out with a sale open asks too
        await settle(app, pilot)
        assert "Log out and drop the sale in progress?" in text_of(app.screen, "#confirm-question")
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen is screen and app.actor is not None
        await pilot.press("ctrl+q")  # and quitting
        await settle(app, pilot)
        assert "Quit and drop the sale in progress?" in text_of(app.screen, "#confirm-question")
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen is screen and app.is_running
        await pilot.press("escape", "y")
        await settle(app, pilot)
        assert isinstance(app.screen, MainMenuScreen)
        await pilot.press("escape", "y")
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen) and app.actor is None
    assert sales(ctx) == 0


# 6. Type-ahead: any word, account, customer ID; accents and case aside; the cashier chooses -----------------


async def test_type_ahead_finds_words_accounts_and_ids_and_lets_the_cashier_choose(ctx, admin):
    world = build_world(ctx)
    zoe, juma, ada = (add_meter(world, s) for s in ("4300000009", "4300000010", "4300000011"))
    rename(ctx, "4300000009", "Zoë Kamau")
    rename(ctx, "4300000010", "Juma Kamau")
    rename(ctx, "4300000011", "Adaeze Ọkọnkwọ")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_topup(app, pilot)
        await find(app, pilot, "kamau")
        options = screen.query_one("#matches", OptionList)
        assert options.display and options.option_count == 2 and options.highlighted is None
        await pilot.press("enter")  # two match: nothing is taken
        await settle(app, pilot)
        assert screen.target is None
        assert "2 accounts match" in text_of(screen, "#topup-message")
        await pilot.press("down", "down", "enter")
        await settle(app, pilot)
        assert screen.target.customer_name == "Zoë Kamau" or screen.target.customer_name == "Juma Kamau"
        chosen = screen.target.meter_number
        assert chosen == sorted([zoe, juma])[1]
        for typed, expected in (("okonkwo", ada), ("ADAEZE", ada), ("zoe", zoe),
                                (world.accounts[juma], juma), ("c4300000011", ada)):
            await pilot.press("f9")
            await settle(app, pilot)
            await find(app, pilot, typed)
            await pilot.press("enter")  # one match: Enter takes it
            await settle(app, pilot)
            assert screen.target is not None and screen.target.meter_number == expected, typed
        await pilot.press("f9")
        await find(app, pilot, "nobody")
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.target is None and "No open account matches 'nobody'" in error_of(screen, "find")
    assert sales(ctx) == 0


# 7. Paste ---------------------------------------------------------------------------------------------------


async def test_pasted_text_goes_in_whole_or_is_refused_as_too_long(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4300000012")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_topup(app, pilot)
        find_field = screen.query_one("#find", Input)
        find_field.post_message(events.Paste(f"  {meter}\r\n"))  # a copied cell, with its line end
        await pilot.pause(0.4)
        await settle(app, pilot)
        assert find_field.value == meter
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.target.meter_number == meter
        value = screen.query_one("#value", Input)
        value.post_message(events.Paste("12345678901234567890"))  # 20 characters into a 16-character field
        await settle(app, pilot)
        assert value.value == ""
        assert "Too long" in error_of(screen, "value") and "not a number" not in error_of(screen, "value")
        value.post_message(events.Paste("250.50"))
        await settle(app, pilot)
        assert value.value == "250.50" and error_of(screen, "value") == ""
        await pilot.press(*"1234567890123")  # typed past the end: said, not swallowed
        await settle(app, pilot)
        assert "Too long" in error_of(screen, "value")
    assert sales(ctx) == 0


# 8. The menu's last receipts, reprint by Enter or a part of the number ----------------------------------------


async def test_last_receipts_are_this_operators_at_this_station_refresh_and_reprint(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4300000013")
    till = cashier(ctx, admin, world)
    with ctx.db.session() as session:  # a second station where the same cashier once sold
        other = SalesStation(code="S9", code_key="s9", name="Other", name_key="other",
                             district_id=world.district_id, receipt_width=40, created_at=session.get(
                                 SalesStation, world.station_id).created_at,
                             updated_at=session.get(SalesStation, world.station_id).updated_at)
        session.add(other)
    app = StronApp(ctx, actor=till)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        menu = app.screen
        assert menu.query_one("#last-receipts", OptionList).option_count == 0
        await open_topup(app, pilot)
        await choose_meter(app, pilot, meter)
        await preview(app, pilot, "10")
        await pilot.press(*"Till-pay-1", "enter")
        await settle(app, pilot)
        sold = app.screen.receipt.receipt_number
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen is menu
        listed = menu.query_one("#last-receipts", OptionList)
        assert [listed.get_option_at_index(i).id for i in range(listed.option_count)] == [sold]
        listed.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ReceiptScreen) and app.screen.receipt.reprint
        assert app.screen.receipt.receipt_number == sold
        await pilot.press("escape")
        await settle(app, pilot)
        # Reprint with a part of the number: the matches are offered, the only one is printed.
        await pilot.press("f2")
        await settle(app, pilot)
        await pilot.press("f8")
        await settle(app, pilot)
        assert isinstance(app.screen, ReprintScreen)
        await pilot.press(*sold[-4:], "enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert isinstance(app.screen, ReceiptScreen) and app.screen.receipt.receipt_number == sold
        await pilot.press("escape")
        await settle(app, pilot)
        screen = app.screen
        screen.query_one("#number", Input).value = "ZZZ"
        await pilot.press("enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert "none of your last receipts here holds it" in error_of(screen, "number")
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count(Vend.id))) == 1
        assert list(session.scalars(select(ReceiptPrint.receipt_number))) == [sold, sold]


async def test_another_operator_at_the_idle_lock_does_not_drop_an_open_sale_without_a_yes(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4300000014")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_topup(app, pilot)
        await choose_meter(app, pilot, meter)
        await pilot.press(*"15")
        app.lock_session()
        await settle(app, pilot)
        await pilot.press("f9")
        await settle(app, pilot)
        assert "Let another operator log in and drop the sale in progress?" in text_of(
            app.screen, "#confirm-question")
        await pilot.press("n")
        await settle(app, pilot)
        assert app.session_locked and app.actor is not None
        await pilot.press(*"AdminPass1", "enter")
        await settle(app, pilot)
        assert app.screen is screen and screen.query_one("#value", Input).value == "15"
    assert sales(ctx) == 0


async def test_payment_type_by_letters_then_enter_goes_to_the_password_and_sells_that_type(ctx, admin):
    world = build_world(ctx)
    meter = add_meter(world, "4300000031")
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_topup(app, pilot)
        await choose_meter(app, pilot, meter)
        await preview(app, pilot, "10")
        picker = screen.query_one("#payment-type", Select)
        picker.focus()
        await pilot.press("c")  # Cash is chosen: "c" goes on to the next starting with c
        await settle(app, pilot)
        assert picker.value == "cheque" and screen.focused is picker  # still choosing: the focus stays
        assert "PREVIEW" in text_of(screen, "#preview")
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.focused.id == "pin"
        await pilot.press(*ADMIN_PAY, "enter")
        await settle(app, pilot)
        assert screen.receipt is not None
    with ctx.db.read_session() as session:
        assert list(session.scalars(select(Vend.payment_type))) == ["cheque"]
