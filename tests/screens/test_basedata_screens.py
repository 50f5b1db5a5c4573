"""Base Data screens driven by the keyboard only; each test checks the database afterwards."""

from __future__ import annotations

from sqlalchemy import func, select

from stron_tui.app import StronApp
from stron_tui.db.models import Account, Customer, District, Meter, SalesStation, Tariff, VendingKey
from stron_tui.services import libraries as L
from tests.services.basedata_helpers import drn, seed
from widgets.fields import LabeledField
from widgets.paged_table import PagedTable
from tests.screens.keyboard import fill, settle, type_text

SIZE = (110, 40)
MENU = {"meters": "1", "tariffs": "2", "customers": "3", "districts": "4", "stations": "5", "accounts": "6",
        "keys": "7"}


async def open_library(app, pilot, name):
    await pilot.press("f3", MENU[name])
    await settle(app, pilot)


def table_rows(app):
    table = app.screen.query_one(PagedTable).data_table
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


async def search(app, pilot, text):
    await pilot.press("slash")
    await type_text(pilot, text)
    await pilot.press("enter")
    await settle(app, pilot)


def count(ctx, model):
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model))


async def test_district_keyboard_flow(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_library(app, pilot, "districts")
        await pilot.press("n")
        await settle(app, pilot)
        await fill(app, pilot, {"code": "N1", "name": "North Zone", "kind": "industrial"})
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert table_rows(app)[0][:3] == ["N1", "North Zone", "industrial"]
        await pilot.press("e")
        await settle(app, pilot)
        await fill(app, pilot, {"kind": "nowhere"})
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        error = app.screen.query_one("#field-kind", LabeledField).query_one(".field-error")
        assert "must be one of" in str(error.render())
        await fill(app, pilot, {"kind": "rural", "description": "Farms"})
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        with ctx.db.read_session() as session:
            district = session.scalar(select(District))
            assert (district.code, district.kind, district.description) == ("N1", "rural", "Farms")
        await search(app, pilot, "nor")
        assert [row[0] for row in table_rows(app)] == ["N1"]
        await pilot.press("d")
        await settle(app, pilot)
        assert "Remove district N1?" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("y")
        await settle(app, pilot)
        assert count(ctx, District) == 0


async def new_record(app, pilot, values):
    await pilot.press("n")
    await settle(app, pilot)
    await fill(app, pilot, values)
    await pilot.press("ctrl+s")
    await settle(app, pilot)


async def edit_current(app, pilot, values):
    await pilot.press("e")
    await settle(app, pilot)
    await fill(app, pilot, values)
    await pilot.press("ctrl+s")
    await settle(app, pilot)


async def delete_current(app, pilot):
    await pilot.press("d")
    await settle(app, pilot)
    await pilot.press("y")
    await settle(app, pilot)


async def test_meter_keyboard_flow_and_batch_input(ctx, admin):
    seed(ctx, admin, meters=0)
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_library(app, pilot, "meters")
        await new_record(app, pilot, {"meter_number": "01234567890", "sgc": "600727"})
        error = app.screen.query_one("#field-meter_number", LabeledField).query_one(".field-error")
        assert "check digit" in str(error.render())
        await fill(app, pilot, {"meter_number": drn(500)})
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert table_rows(app)[0][0] == drn(500)
        await edit_current(app, pilot, {"status": "faulty"})
        await pilot.press("b")
        await settle(app, pilot)
        await fill(app, pilot, {"first": drn(498), "last": drn(510), "sgc": "600727"})
        await pilot.press("f8")
        await settle(app, pilot)
        plan = str(app.screen.query_one("#batch-plan").render())
        assert "13 meters" in plan and "12 will be created" in plan and drn(500) in plan
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "Created 12 meters" in str(app.screen.query_one("#batch-plan").render())
        await pilot.press("escape")
        await settle(app, pilot)
        assert count(ctx, Meter) == 13
        await search(app, pilot, drn(510)[:10])
        assert [row[0] for row in table_rows(app)] == [drn(510)]
        await delete_current(app, pilot)
        with ctx.db.read_session() as session:
            assert session.scalar(select(Meter.status).where(Meter.meter_number == drn(500))) == "faulty"
            assert session.scalar(select(Meter.id).where(Meter.meter_number == drn(510))) is None


async def test_tariff_keyboard_flow_and_refused_delete(ctx, admin):
    data = seed(ctx, admin, meters=1)
    L.create(ctx, admin, "accounts", {"customer_code": "C1", "meter_number": data["meters"][0]["meter_number"],
                                      "station_code": "ST1", "tariff_name": "Home"})
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_library(app, pilot, "tariffs")
        await new_record(app, pilot, {"name": "Business", "price_per_unit": "0.40", "currency_code": "usd",
                                      "vat_rate": "15"})
        await search(app, pilot, "busi")
        assert table_rows(app)[0][:4] == ["Business", "electricity", "kWh", "0.4"]
        await edit_current(app, pilot, {"price_per_unit": "0.45"})
        await delete_current(app, pilot)
        await search(app, pilot, "home")
        await delete_current(app, pilot)
        message = str(app.screen.query_one("#library-message").render())
        assert "Tariff Home cannot be removed: accounts use it" in message
    with ctx.db.read_session() as session:
        assert list(session.scalars(select(Tariff.name))) == ["Home"]


async def test_customer_keyboard_flow_with_non_ascii_search(ctx, admin):
    seed(ctx, admin, meters=0)
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_library(app, pilot, "customers")
        await new_record(app, pilot, {"code": "C2", "name": "Zoë 李", "email": "bad"})
        error = app.screen.query_one("#field-email", LabeledField).query_one(".field-error")
        assert "not an e-mail address" in str(error.render())
        await fill(app, pilot, {"email": "zoe@example.com", "district_code": "D1"})
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await search(app, pilot, "zoë")
        assert [row[:2] for row in table_rows(app)] == [["C2", "Zoë 李"]]
        await edit_current(app, pilot, {"phone": "+234 803 000 1111"})
        await delete_current(app, pilot)
    with ctx.db.read_session() as session:
        assert list(session.scalars(select(Customer.code))) == ["C1"]


async def test_station_keyboard_flow(ctx, admin):
    seed(ctx, admin, meters=0)
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_library(app, pilot, "stations")
        await new_record(app, pilot, {"code": "ST2", "name": "Market kiosk", "district_code": "D1",
                                      "receipt_width": "80"})
        await search(app, pilot, "market")
        assert table_rows(app)[0][:3] == ["ST2", "Market kiosk", "D1"]
        await edit_current(app, pilot, {"active": "n"})
        with ctx.db.read_session() as session:
            station = session.scalar(select(SalesStation).where(SalesStation.code == "ST2"))
            assert (station.receipt_width, station.active) == (80, False)
        await delete_current(app, pilot)
    assert count(ctx, SalesStation) == 1


async def test_account_keyboard_flow_with_view(ctx, admin):
    data = seed(ctx, admin, meters=1)
    number = data["meters"][0]["meter_number"]
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_library(app, pilot, "accounts")
        await new_record(app, pilot, {"customer_code": "C1", "meter_number": number, "station_code": "ST1",
                                      "tariff_name": "Home"})
        assert table_rows(app)[0][0] == "A0000001"  # the number the new form offered
        await pilot.press("enter")
        await settle(app, pilot)
        body = str(app.screen.query_one("#account-body").render())
        assert "Ngozi Ọkọnkwọ" in body and "SGC 600727" in body and "Home" in body
        await pilot.press("escape")
        await settle(app, pilot)
        await new_record(app, pilot, {"customer_code": "C1", "meter_number": number, "station_code": "ST1",
                                      "tariff_name": "Home"})
        error = app.screen.query_one("#field-meter_number", LabeledField).query_one(".field-error")
        assert "already has open account" in str(error.render())
        await pilot.press("escape", "y")  # Esc asks before it drops what was typed
        await settle(app, pilot)
        await edit_current(app, pilot, {"status": "closed"})
        await search(app, pilot, number[:6])
        await delete_current(app, pilot)
    assert count(ctx, Account) == 0


async def test_supply_group_screen_adds_a_generated_key(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_library(app, pilot, "keys")
        await pilot.press("n")
        await fill(app, pilot, {"sgc": "123456", "krn": "2", "dkga": "02", "label": "East", "key": "12",
                                "generate": "n"})
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "16 hexadecimal digits" in str(app.screen.query_one("#group-message").render())
        await fill(app, pilot, {"key": "", "generate": "y"})
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        table = app.screen.query_one("#groups")
        assert [str(cell) for cell in table.get_row_at(0)][:4] == ["123456", "2", "02", "East"]
    assert count(ctx, VendingKey) == 1


async def test_paging_keys_walk_database_pages(ctx, admin):
    from stron_tui.services.meters import create_batch
    from tests.services.basedata_helpers import meter_values

    seed(ctx, admin, meters=0)
    create_batch(ctx, admin, drn(1), drn(80), meter_values(drn(1)))
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(110, 24)) as pilot:
        await open_library(app, pilot, "meters")
        first_page = table_rows(app)
        assert first_page[0][0] == drn(1) and len(first_page) < 80
        await pilot.press("pagedown")
        await settle(app, pilot)
        assert table_rows(app)[0][0] == drn(len(first_page) + 1)
        await pilot.press("end")
        await settle(app, pilot)
        assert table_rows(app)[-1][0] == drn(80)
        await pilot.press("pageup")
        await settle(app, pilot)
        assert table_rows(app)[-1][0] < drn(80)
        await pilot.press("home")
        await settle(app, pilot)
        assert table_rows(app) == first_page
        pages = -(-80 // len(first_page))
        assert info_line(app) == f"page 1 of {pages}, 80 meters"
        # A search says how many it found in all, not only the page shown.
        await search(app, pilot, drn(10)[:-2])
        found = [meter for meter in (drn(n) for n in range(1, 81)) if meter.startswith(drn(10)[:-2])]
        assert 1 < len(found) < 80
        assert info_line(app).startswith(f"page 1 of {-(-len(found) // len(first_page))}, {len(found)} meters found")
    assert L.count_matches(ctx, admin, "meters", drn(10)[:-2]) == len(found)
    assert L.count_matches(ctx, admin, "meters", "", up_to=10) == 11  # counted to 10: "more than 10"


def info_line(app) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one("#paged-info", Static).render())


async def test_export_and_import_through_the_keyboard(ctx, admin, tmp_path):
    import xlsxwriter

    seed(ctx, admin, meters=0)
    bad = tmp_path / "districts.xlsx"
    workbook = xlsxwriter.Workbook(str(bad))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["Code", "Name", "Kind"])
    sheet.write_row(1, 0, ["E1", "East", "rural"])
    sheet.write_row(2, 0, ["E2", "", "rural"])
    workbook.close()
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_library(app, pilot, "districts")
        await pilot.press("x")
        await settle(app, pilot)
        message = str(app.screen.query_one("#library-message").render())
        assert "Exported 1 rows to " in message and "districts-" in message and str(ctx.settings.export_dir) in message
        await pilot.press("i")
        await settle(app, pilot)
        await type_text(pilot, str(bad))
        await pilot.press("enter")
        await settle(app, pilot)
        assert "Nothing was imported: 1 problem" in str(app.screen.query_one("#import-result").render())
        errors = app.screen.query_one("#import-errors")
        assert [str(cell) for cell in errors.get_row_at(0)] == ["3", "Name", "Enter the name."]
    assert count(ctx, District) == 1


async def test_new_customer_and_account_forms_come_with_the_next_free_number(ctx, admin):
    seed(ctx, admin, meters=0)
    L.create(ctx, admin, "customers", {"code": "C000041", "name": "Amina Bello"})
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=SIZE) as pilot:
        await open_library(app, pilot, "customers")
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen.query_one("#input-code").value == "C000042"
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        await open_library(app, pilot, "accounts")
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen.query_one("#input-account_number").value == "A0000001"


async def test_esc_on_a_form_with_typed_text_asks_before_it_drops_it(ctx, admin):
    app = StronApp(ctx, actor=admin)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_library(app, pilot, "districts")
        await pilot.press("n")
        await settle(app, pilot)
        form = app.screen
        await fill(app, pilot, {"code": "N1", "name": "North Zone"})
        await pilot.press("escape")
        await settle(app, pilot)
        assert "drop what you typed" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("n")  # back to the form, as typed
        await settle(app, pilot)
        assert app.screen is form and form.value("name") == "North Zone"
        await pilot.press("escape", "y")
        await settle(app, pilot)
        assert isinstance(app.screen.query_one(PagedTable), PagedTable)
        # Nothing typed: Esc leaves at once.
        await pilot.press("n")
        await settle(app, pilot)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.screen.query(PagedTable)
    assert count(ctx, District) == 0
