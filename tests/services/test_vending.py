"""Selling credit: hand-worked money, tokens the meter accepts, idempotency, bad input, key changes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from stron_tui.db.models import AuditEntry, ExchangeRate, Meter, Tariff, User, Vend
from stron_tui.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied, ValidationError
from stron_tui.services import vending
from stron_tui.domain.clock import utcnow
from stron_tui.services.vending import VendRequest
from tests.factories import add_meter, build_world

PAYMENT_PASSWORD = "AdminPass1"  # the admin fixture's password (also its payment password)


@pytest.fixture
def world(ctx, admin):
    return build_world(ctx)


def sell(ctx, actor, meter, value, *, mode="amount", currency=None, payment_type="cash", request_id=None):
    request = VendRequest(meter_number=meter, mode=mode, value=value, currency=currency, payment_type=payment_type,
                          request_id=request_id or vending.new_request_id())
    return vending.vend(ctx, actor, request, payment_password=PAYMENT_PASSWORD)


def vend_count(ctx) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count(Vend.id)))


def test_top_up_by_amount_with_prices_including_vat(ctx, admin, world):
    meter = add_meter(world, "4100000001")
    receipt = sell(ctx, admin, meter, "10.00")
    # Hand-worked: 10.00 / 0.20 = 50.0 kWh; VAT = 10 x 0.15 / 1.15 = 1.3043 -> 1.30;
    # net = (10.00 - 1.30) / 1.02 = 8.5294 -> 8.53; excise = 10.00 - 1.30 - 8.53 = 0.17.
    assert (receipt.gross, receipt.net, receipt.excise, receipt.vat) == (
        Decimal("10.00"), Decimal("8.53"), Decimal("0.17"), Decimal("1.30"))
    assert receipt.units == Decimal("50.0")
    assert len(receipt.token) == 20 and receipt.key_change_tokens == ()
    keypad = world.meter_simulator(meter)
    result = keypad.enter(receipt.token)
    assert result.accepted, result.message
    assert keypad.credit[0] == Decimal("50.0")
    assert keypad.enter(receipt.token).reason == "USED"
    with ctx.db.read_session() as session:
        row = session.scalar(select(Vend))
        assert row.token == receipt.token and row.receipt_number == receipt.receipt_number
        assert row.transaction_number.startswith("V") and row.tariff_name == "Home"
        assert session.scalar(select(Meter.last_tid).where(Meter.meter_number == meter)) == row.tid
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "vend")) == 1


def test_top_up_by_units_with_prices_excluding_vat(ctx, admin, world):
    meter = add_meter(world, "4100000002", tariff="exclusive")
    receipt = sell(ctx, admin, meter, "100", mode="units")
    # 100 kWh x 0.10 x 1.05 x 1.10 = 11.55 gross; VAT 11.55 x 0.1 / 1.1 = 1.05; net 10.50 / 1.05 = 10.00;
    # excise 0.50.
    assert (receipt.gross, receipt.net, receipt.excise, receipt.vat, receipt.units) == (
        Decimal("11.55"), Decimal("10.00"), Decimal("0.50"), Decimal("1.05"), Decimal("100.0"))
    keypad = world.meter_simulator(meter)
    assert keypad.enter(receipt.token).accepted and keypad.credit[0] == Decimal("100.0")


def test_top_up_by_amount_excluding_vat_rounds_units_down(ctx, admin, world):
    meter = add_meter(world, "4100000003", tariff="exclusive")
    receipt = sell(ctx, admin, meter, "20")
    # 20 / 0.1155 = 173.16.. -> 173.1 kWh; VAT = 20 x 0.1 / 1.1 = 1.8181 -> 1.82;
    # net = 18.18 / 1.05 = 17.3142 -> 17.31; excise = 20 - 1.82 - 17.31 = 0.87.
    assert (receipt.units, receipt.net, receipt.excise, receipt.vat) == (
        Decimal("173.1"), Decimal("17.31"), Decimal("0.87"), Decimal("1.82"))
    assert world.meter_simulator(meter).enter(receipt.token).amount == Decimal("173.1")


def test_second_currency_uses_the_stored_exchange_rate(ctx, admin, world):
    meter = add_meter(world, "4100000004")
    with ctx.db.session() as session:
        session.add(ExchangeRate(from_currency="EUR", to_currency="USD", rate=Decimal("1.05"),
                                 effective_at=utcnow() - timedelta(days=30)))
        session.add(ExchangeRate(from_currency="EUR", to_currency="USD", rate=Decimal("1.08"),
                                 effective_at=utcnow() - timedelta(days=1)))
    receipt = sell(ctx, admin, meter, "10.00", currency="EUR")
    # Latest rate 1.08: 10.00 EUR = 10.80 USD -> 54.0 kWh; VAT 10.80 x 0.15 / 1.15 = 1.4087 -> 1.41;
    # net 9.39 / 1.02 = 9.2059 -> 9.21; excise 0.18.
    assert (receipt.paid_amount, receipt.paid_currency, receipt.gross, receipt.currency) == (
        Decimal("10.00"), "EUR", Decimal("10.80"), "USD")
    assert (receipt.units, receipt.net, receipt.excise, receipt.vat) == (
        Decimal("54.0"), Decimal("9.21"), Decimal("0.18"), Decimal("1.41"))
    by_units = sell(ctx, admin, meter, "54", mode="units", currency="EUR")
    # 54 kWh x 0.20 = 10.80 USD = 10.00 EUR at 1.08.
    assert (by_units.gross, by_units.paid_amount) == (Decimal("10.80"), Decimal("10.00"))
    keypad = world.meter_simulator(meter)
    assert keypad.enter(receipt.token).accepted and keypad.enter(by_units.token).accepted
    assert keypad.credit[0] == Decimal("108.0")


def test_currency_without_a_rate_is_refused(ctx, admin, world):
    meter = add_meter(world, "4100000005")
    with pytest.raises(ValidationError, match="no exchange rate from KES to USD"):
        sell(ctx, admin, meter, "100", currency="KES")
    assert vend_count(ctx) == 0


def test_a_retried_request_id_returns_the_same_receipt(ctx, admin, world):
    meter = add_meter(world, "4100000006")
    first = sell(ctx, admin, meter, "5", request_id="till-7-000123")
    again = sell(ctx, admin, meter, "5", request_id="till-7-000123")
    assert again == first
    assert vend_count(ctx) == 1
    with pytest.raises(Conflict, match="already used for a different sale"):
        sell(ctx, admin, meter, "6", request_id="till-7-000123")
    assert vend_count(ctx) == 1


def test_a_retry_after_the_meter_was_deactivated_still_returns_the_first_receipt(ctx, admin, world):
    # The customer paid and the receipt exists; a retry must hand it back, not a refusal.
    meter = add_meter(world, "4100000014")
    first = sell(ctx, admin, meter, "5", request_id="till-7-000124")
    with ctx.db.session() as session:
        session.scalar(select(Meter).where(Meter.meter_number == meter)).status = "inactive"
    assert sell(ctx, admin, meter, "5", request_id="till-7-000124") == first
    with pytest.raises(ValidationError, match="is inactive; only active meters"):
        sell(ctx, admin, meter, "5", request_id="till-7-000125")
    assert vend_count(ctx) == 1


def test_tids_increase_within_one_minute(ctx, admin, world):
    meter = add_meter(world, "4100000007")
    receipts = [sell(ctx, admin, meter, "2") for _ in range(4)]
    tids = [receipt.tid for receipt in receipts]
    assert tids == sorted(set(tids)) and len(tids) == 4
    keypad = world.meter_simulator(meter)
    assert all(keypad.enter(receipt.token).accepted for receipt in receipts)


@pytest.mark.parametrize(
    ("value", "mode", "message"),
    [
        ("0", "amount", "must be more than zero"),
        ("-5", "amount", "must be more than zero"),
        ("ten", "amount", "must be a number like 125.50, not .ten."),
        ("", "amount", "Enter the amount"),
        ("0.5", "amount", r"minimum purchase on tariff Home is 1\.00 USD; this sale is 0\.50 USD\."),
        ("1000.01", "amount", r"maximum purchase on tariff Home is 1,000\.00 USD; this sale is 1,000\.01 USD\."),
        ("1.234", "amount", "USD amounts have 2 decimal places"),
        ("10.05", "units", "steps of 0.1 kWh"),
        ("NaN", "amount", "must be a number"),
    ],
)
def test_bad_amounts_record_nothing(ctx, admin, world, value, mode, message):
    meter = add_meter(world, "4100000008")
    with pytest.raises(ValidationError, match=message):
        sell(ctx, admin, meter, value, mode=mode)
    assert vend_count(ctx) == 0


def test_bad_meters_record_nothing(ctx, admin, world):
    no_account = add_meter(world, "4100000009", with_account=False)
    inactive = add_meter(world, "4100000010", status="faulty")
    retired_tariff = add_meter(world, "4100000011", tariff="exclusive")
    with ctx.db.session() as session:
        session.get(Tariff, world.tariffs["exclusive"]).active = False
    with pytest.raises(NotFound, match="no meter 41000000996"):
        sell(ctx, admin, "41000000996", "10")
    with pytest.raises(ValidationError, match="wrong check digit"):
        sell(ctx, admin, "41000000090", "10")
    with pytest.raises(ValidationError, match="has no open account"):
        sell(ctx, admin, no_account, "10")
    with pytest.raises(ValidationError, match="is faulty"):
        sell(ctx, admin, inactive, "10")
    with pytest.raises(ValidationError, match="Tariff Business of account A4100000011 is retired"):
        sell(ctx, admin, retired_tariff, "10")
    assert vend_count(ctx) == 0


def test_wrong_payment_password_counts_like_a_login_failure(ctx, admin, world):
    meter = add_meter(world, "4100000012")
    request = VendRequest(meter, "amount", "10", request_id=vending.new_request_id())
    with pytest.raises(AuthenticationFailed,
                       match=r"Wrong payment password \(not your login password; P on the main menu"):
        vending.vend(ctx, admin, request, payment_password="not-it")
    with ctx.db.read_session() as session:
        assert session.scalar(select(User.failed_logins).where(User.builtin_admin.is_(True))) == 1
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "payment_password_failed")) == 1
    assert vend_count(ctx) == 0


def test_operator_without_vend_permission_is_refused(ctx, admin, world):
    from dataclasses import replace

    meter = add_meter(world, "4100000013")
    reporter = replace(admin, builtin_admin=False, permissions=frozenset({"reports.view"}))
    with pytest.raises(PermissionDenied, match="may not sell credit"):
        sell(ctx, reporter, meter, "10")
    assert vend_count(ctx) == 0


def test_changed_key_data_issues_key_change_tokens_first(ctx, admin, world):
    meter = add_meter(world, "4100000014")
    keypad = world.meter_simulator(meter)
    assert keypad.enter(sell(ctx, admin, meter, "2").token).accepted
    with ctx.db.session() as session:
        session.scalar(select(Meter).where(Meter.meter_number == meter)).ti = 2
    receipt = sell(ctx, admin, meter, "4")
    assert len(receipt.key_change_tokens) == 2
    new_key_data = world.key_data[meter].replace(ti=2)
    for token in receipt.key_change_tokens:
        assert keypad.enter(token, new_key_data=new_key_data).accepted
    result = keypad.enter(receipt.token)
    assert result.accepted, result.message
    assert keypad.credit[0] == Decimal("30.0")
    # The meter now holds the new key: the next sale has no key change.
    assert sell(ctx, admin, meter, "2").key_change_tokens == ()


def test_meter_on_base_date_1993_rolls_over_to_2014(ctx, admin, world):
    meter = add_meter(world, "4100000015", base_date=1993)
    receipt = sell(ctx, admin, meter, "10")
    assert len(receipt.key_change_tokens) == 2
    keypad = world.meter_simulator(meter)
    new_key_data = world.key_data[meter].replace(base_date=2014)
    for token in receipt.key_change_tokens:
        assert keypad.enter(token, new_key_data=new_key_data).accepted
    assert keypad.key_data.base_date == 2014
    assert keypad.enter(receipt.token).accepted
    with ctx.db.read_session() as session:
        row = session.scalar(select(Meter).where(Meter.meter_number == meter))
        assert (row.base_date, row.installed_base_date) == (2014, 2014)


def test_dkga04_and_water_meters(ctx, admin, world):
    meter = add_meter(world, "4100000016", dkga="04", tariff="water")
    receipt = sell(ctx, admin, meter, "7")
    keypad = world.meter_simulator(meter)
    result = keypad.enter(receipt.token)
    assert result.accepted and result.subclass == 1 and keypad.credit[1] == Decimal("3.5")


def test_a_database_error_mid_vend_leaves_no_receipt_and_no_tid_change(ctx, admin, world):
    meter = add_meter(world, "4100000017")
    with ctx.db.engine.begin() as connection:
        if ctx.db.backend == "sqlite":
            connection.execute(text("CREATE TRIGGER refuse_vends BEFORE INSERT ON vends "
                                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
        else:
            connection.execute(text("CREATE FUNCTION refuse_vend() RETURNS trigger AS $$ "
                                    "BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql"))
            connection.execute(text("CREATE TRIGGER refuse_vends BEFORE INSERT ON vends "
                                    "FOR EACH ROW EXECUTE FUNCTION refuse_vend()"))
    with pytest.raises(Exception, match="disk full"):
        sell(ctx, admin, meter, "10")
    with ctx.db.read_session() as session:
        assert session.scalar(select(Meter.last_tid).where(Meter.meter_number == meter)) is None
    assert vend_count(ctx) == 0
    with ctx.db.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER refuse_vends" + ("" if ctx.db.backend == "sqlite" else " ON vends")))
    assert world.meter_simulator(meter).enter(sell(ctx, admin, meter, "10").token).accepted


def test_type_ahead_finds_accounts_by_number_and_name(ctx, admin, world):
    meter = add_meter(world, "4100000018")
    assert [m.meter_number for m in vending.find_accounts(ctx, admin, "410000001")] == [meter]
    assert [m.meter_number for m in vending.find_accounts(ctx, admin, "customer 41000000")] == [meter]
    assert vending.find_accounts(ctx, admin, "'; DROP TABLE meters; --") == []
    target = vending.load_target(ctx, admin, meter)
    assert target.customer_name == "Customer 4100000018" and target.tariff.name == "Home"
    assert target.last_vends == ()
    sell(ctx, admin, meter, "3")
    assert [v.amount for v in vending.load_target(ctx, admin, meter).last_vends] == [Decimal("3.00")]


def test_preview_shows_the_breakdown_and_records_nothing(ctx, admin, world):
    meter = add_meter(world, "4100000019")
    quote = vending.preview(ctx, admin, VendRequest(meter, "amount", "10.00"))
    assert (quote.gross, quote.net, quote.vat, quote.units) == (
        Decimal("10.00"), Decimal("8.53"), Decimal("1.30"), Decimal("50.0"))
    assert vend_count(ctx) == 0


def test_the_temporary_payment_password_sells_nothing_until_changed(ctx, admin, world):
    from stron_tui.services import auth, users

    meter = add_meter(world, "4100000020")
    users.create_user(ctx, admin, user_code="till1", role="OnlyVending")
    cashier = auth.authenticate(ctx, "till1", "123456")
    auth.change_own_password(ctx, cashier, "123456", "Till-One-Login-9")
    request = VendRequest(meter, "amount", "10", request_id=vending.new_request_id())
    with pytest.raises(ValidationError, match="payment password is still the temporary one"):
        vending.vend(ctx, cashier, request, payment_password="123456")
    assert vend_count(ctx) == 0
    auth.change_own_password(ctx, cashier, "123456", "Till-One-Pay-9", kind="payment")
    receipt = vending.vend(ctx, cashier, request, payment_password="Till-One-Pay-9")
    assert world.meter_simulator(meter).enter(receipt.token).accepted


def test_concurrent_api_sales_spread_over_daily_rows_that_reports_sum(ctx, admin, world):
    # An API account sells many at once: its day's totals are kept in several rows (one row lock
    # would queue every sale), a cashier's in one; the monthly summary adds them all up.
    from stron_tui.db.models import VendDailyTotal
    from stron_tui.services import api_accounts, reports
    from stron_tui.services.reports import ReportFilters

    key = api_accounts.create_account(ctx, admin, name="gateway", role="Administrator",
                                      station_code="S1").api_key
    gateway = api_accounts.authenticate(ctx, key)
    meter = add_meter(world, "4100000022")
    for _ in range(9):
        vending.vend(ctx, gateway, VendRequest(meter, "amount", "3", request_id=vending.new_request_id()))
    for _ in range(3):
        sell(ctx, admin, meter, "2")
    with ctx.db.read_session() as session:
        rows = session.execute(select(VendDailyTotal.operator_key, VendDailyTotal.slot, VendDailyTotal.vend_count)
                               ).all()
    api_rows = [row for row in rows if row.operator_key == 0]
    cashier_rows = [row for row in rows if row.operator_key != 0]
    assert len(api_rows) > 1 and sum(row.vend_count for row in api_rows) == 9
    assert [(row.slot, row.vend_count) for row in cashier_rows] == [(0, 3)]
    summary = reports.monthly_summary(ctx, admin, ReportFilters())
    assert sum(row.vend_count for row in summary.rows) == 12
    assert sum(row.gross_amount for row in summary.rows) == Decimal("33.00")
