"""Sales on the revenue model: block tariff versions, fixed charges, debt recovery, free units, caps.

Every figure is worked by hand (docs/money.md, examples 11-16); every token is entered into the meter simulator.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from stron_tui.db.models import Account, AuditEntry, DebtEntry, Tariff, TariffBlock, TariffVersion, Vend, VendBlock
from stron_tui.errors import PermissionDenied, ValidationError
from stron_tui.exports.receipts import render_text
from stron_tui.services import debt, tariffs, vending
from stron_tui.services.permissions import Actor
from stron_tui.services.vending import VendRequest
from tests.factories import add_meter, build_world

PAYMENT_PASSWORD = "AdminPass1"
NAIROBI = "Africa/Nairobi"  # UTC+3: a local midnight is 21:00 UTC the day before


@pytest.fixture
def world(ctx, admin):
    ctx.settings = ctx.settings.with_overrides(timezone=NAIROBI)
    return build_world(ctx)


def sell(ctx, actor, meter, value, *, mode="amount"):
    request = VendRequest(meter_number=meter, mode=mode, value=value, request_id=vending.new_request_id())
    return vending.vend(ctx, actor, request, payment_password=PAYMENT_PASSWORD)


def steps_tariff(ctx, admin, *, starts="2020-01-01", charge="5.00"):
    """Home (0.20 USD, VAT 15 % included) gets blocks 0-50 at 0.10, 50-200 at 0.20, above 0.30, and a charge."""
    with ctx.db.session() as session:
        session.scalar(select(Tariff).where(Tariff.name == "Home")).fixed_charge_vat = True
    return tariffs.add_version(ctx, admin, "Home", starts, charge, [("50", "0.10"), ("200", "0.20"), ("", "0.30")])


def account_of(ctx, world, meter) -> Account:
    with ctx.db.read_session() as session:
        account = session.scalar(select(Account).where(Account.account_number == world.accounts[meter]))
        session.expunge(account)
        return account


def test_a_sale_over_two_blocks_with_a_fixed_charge_and_a_quarter_of_debt(ctx, admin, world):
    meter = add_meter(world, "4900000001")
    steps_tariff(ctx, admin)
    number = world.accounts[meter]
    debt.change_debt(ctx, admin, number, "added", "100.00", "Arrears from the postpaid meter",
                     payment_password="AdminPass1")
    debt.set_revenue_terms(ctx, admin, number, debt.RevenueTerms(recovery_percent="25"))
    simulator = world.meter_simulator(meter)
    # First 8.00 USD: D = 2.00, F = 5.00 (VAT 0.65), E = 1.00 -> 10.0 kWh in block 1 (now 10 of the month's units).
    first = sell(ctx, admin, meter, "8.00")
    assert (first.debt_recovered, first.fixed_charge, first.energy, first.units) == (
        D("2.00"), D("5.00"), D("1.00"), D("10.0"))
    assert simulator.enter(first.token).amount == D("10.0")
    # Hand-worked (docs/money.md 11, with 10 kWh bought): 48.00 USD: D = 12.00, the month's charge is paid,
    # E = 36.00: 40 kWh fill block 1 for 4.00, then 32.00 / 0.20 = 160 kWh pass block 2's bound (150 room):
    # 150 kWh for 30.00, then 2.00 / 0.30 = 6.6 kWh in block 3.
    receipt = sell(ctx, admin, meter, "48.00")
    assert receipt.debt_recovered == D("12.00") and receipt.debt_after == D("86.00")
    assert receipt.fixed_charge == 0
    assert [(line.position, line.units, line.amount) for line in receipt.blocks] == [
        (1, D("40.0"), D("4.00")), (2, D("150.0"), D("30.00")), (3, D("6.6"), D("2.00"))]
    assert receipt.units == D("196.6")
    assert simulator.enter(receipt.token).amount == D("196.6")
    assert receipt.vat == D("4.70")  # 36.00 x 0.15 / 1.15 = 4.696
    text = render_text(receipt)
    for expected in ("Debt recovered", "12.00 USD", "Debt still owed", "86.00 USD", "Block 3 6.6 x 0.3"):
        assert expected in text
    account = account_of(ctx, world, meter)
    assert (account.debt_balance, account.month_units, account.charge_part_paid) == (D("86.00"), D("206.6"), 0)
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.sum(DebtEntry.amount)).where(DebtEntry.kind == "recovered")) == D("-14.00")
        assert session.scalar(select(func.count()).select_from(VendBlock)) == 4
        row = session.scalar(select(Vend).where(Vend.receipt_number == receipt.receipt_number))
        assert row.debt_recovered + row.fixed_charge + row.energy_amount == row.gross_amount
        # The reprint shows the same lines.
        again = vending.vend_receipt(ctx, session, row)
    assert again.blocks == receipt.blocks and again.debt_after == D("86.00")


def test_the_preview_shows_the_sale_and_binds_it(ctx, admin, world):
    meter = add_meter(world, "4900000002")
    steps_tariff(ctx, admin)
    quote = vending.preview(ctx, admin, VendRequest(meter, "amount", "20.00"))
    assert (quote.fixed_charge, quote.energy) == (D("5.00"), D("15.00"))
    sold = vending.vend(ctx, admin, VendRequest(meter, "amount", "20.00", request_id="rev-sale-0001",
                                                quote_id=quote.quote_id), payment_password=PAYMENT_PASSWORD)
    assert sold.fixed_charge == D("5.00")
    # The charge is paid: the same preview again is another price.
    with pytest.raises(vending.PriceChanged):
        vending.vend(ctx, admin, VendRequest(meter, "amount", "20.00", request_id="rev-sale-0002",
                                             quote_id=quote.quote_id), payment_password=PAYMENT_PASSWORD)


def test_a_purchase_smaller_than_the_fixed_charge_sells_nothing_and_changes_nothing(ctx, admin, world):
    meter = add_meter(world, "4900000003")
    steps_tariff(ctx, admin)
    with pytest.raises(ValidationError, match="buys less than 0.1 kWh") as refused:
        sell(ctx, admin, meter, "3.00")
    assert refused.value.field == "amount"
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Vend)) == 0
    assert account_of(ctx, world, meter).charge_paid_month is None


def test_a_version_takes_effect_at_local_midnight(ctx, admin, world, monkeypatch):
    meter = add_meter(world, "4900000004")
    # From 2027-01-01 00:00 Nairobi time = 2026-12-31 21:00 UTC the price is 0.40 flat.
    tariffs.add_version(ctx, admin, "Home", "2030-01-01", "0", [("", "0.40")])
    midnight = datetime(2029, 12, 31, 21, 0, tzinfo=timezone.utc)
    monkeypatch.setattr(vending, "utcnow", lambda: midnight - timedelta(seconds=1))
    before = sell(ctx, admin, meter, "10.00")
    monkeypatch.setattr(vending, "utcnow", lambda: midnight)
    after = sell(ctx, admin, meter, "10.00")
    assert (before.units, after.units) == (D("50.0"), D("25.0"))  # 10.00 / 0.20, then 10.00 / 0.40
    simulator = world.meter_simulator(meter)
    assert simulator.enter(before.token).amount == D("50.0")
    assert simulator.enter(after.token).amount == D("25.0")
    with ctx.db.read_session() as session:
        versions = [row.tariff_version_id for row in session.scalars(select(Vend).order_by(Vend.id))]
        assert versions[0] is None and versions[1] == session.scalar(select(TariffVersion.id))


def test_free_units_come_once_a_month_as_their_own_token(ctx, admin, world, monkeypatch):
    meter = add_meter(world, "4900000005")
    debt.set_revenue_terms(ctx, admin, world.accounts[meter], debt.RevenueTerms(free_units="50"))
    simulator = world.meter_simulator(meter)
    december = datetime(2029, 12, 10, 9, 0, tzinfo=timezone.utc)
    monkeypatch.setattr(vending, "utcnow", lambda: december)
    first = sell(ctx, admin, meter, "10.00")
    assert (first.free_units, first.subsidy, first.units) == (D("50"), D("10.00"), D("50.0"))  # 50 x 0.20
    assert simulator.enter(first.free_token).amount == D("50.0")
    assert simulator.enter(first.token).amount == D("50.0")
    assert "FREE UNITS TOKEN" in render_text(first)
    monkeypatch.setattr(vending, "utcnow", lambda: december + timedelta(days=5))
    second = sell(ctx, admin, meter, "10.00")
    assert (second.free_units, second.free_token) == (0, "")
    monkeypatch.setattr(vending, "utcnow", lambda: datetime(2029, 12, 31, 21, 30, tzinfo=timezone.utc))  # Jan, local
    january = sell(ctx, admin, meter, "10.00")
    assert january.free_units == D("50")
    assert simulator.enter(january.free_token).amount == D("50.0")
    assert simulator.enter(january.token).amount == D("50.0")


def test_a_monthly_cap_says_what_is_left(ctx, admin, world):
    meter = add_meter(world, "4900000006")
    with ctx.db.session() as session:
        session.scalar(select(Tariff).where(Tariff.name == "Home")).cap_units_month = D("80")
    sell(ctx, admin, meter, "10.00")  # 50 kWh
    with pytest.raises(ValidationError, match="allows 80.0 kWh per account this month; 30.0 kWh left"):
        sell(ctx, admin, meter, "10.00")


def test_bad_versions_and_debt_changes_are_refused_and_save_nothing(ctx, admin, world):
    meter = add_meter(world, "4900000007")
    sell(ctx, admin, meter, "10.00")
    cases = [
        (lambda: tariffs.add_version(ctx, admin, "Home", "2020-01-01", "0", [("", "0.30")]), "effective_from",
         "change sold history"),
        (lambda: tariffs.add_version(ctx, admin, "Home", "2031-01-01", "0", [("100", "0.1"), ("50", "0.2"),
                                                                             ("", "0.3")]), "blocks.2.up_to",
         "must end above 100"),
        (lambda: tariffs.add_version(ctx, admin, "Home", "2031-01-01", "0", [("", "0")]), "blocks.1.price",
         "more than 0"),
        (lambda: tariffs.add_version(ctx, admin, "Home", "2031-01-01", "0", [("", "-0.1")]), "blocks.1.price",
         "more than 0"),
        (lambda: debt.set_revenue_terms(ctx, admin, world.accounts[meter], debt.RevenueTerms(recovery_percent="101")),
         "recovery_percent", "between 0 and 100"),
        (lambda: debt.change_debt(ctx, admin, world.accounts[meter], "added", "10", "",
                                  payment_password="AdminPass1"), "reason", "reason"),
        (lambda: debt.change_debt(ctx, admin, world.accounts[meter], "written_off", "10", "Paid at the office",
                                  payment_password="AdminPass1"), "amount", "owes 0"),
        (lambda: debt.change_debt(ctx, admin, world.accounts[meter], "added", "10.001", "Arrears",
                                  payment_password="AdminPass1"), "amount", "2 decimal places"),
    ]
    for attempt, field, message in cases:
        with pytest.raises(ValidationError, match=message) as refused:
            attempt()
        assert refused.value.field == field
    cashier = Actor(user_id=admin.user_id, user_code="cashier", permissions=frozenset({"topup.vend"}), source="tui")
    with pytest.raises(PermissionDenied):
        debt.change_debt(ctx, cashier, world.accounts[meter], "added", "10", "Arrears", payment_password="AdminPass1")
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(TariffVersion)) == 0
        assert session.scalar(select(func.count()).select_from(DebtEntry)) == 0
        assert session.scalar(select(Account.recovery_percent)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.like("debt.%"))) == 0


def test_debt_changes_are_audited_with_their_reason(ctx, admin, world):
    meter = add_meter(world, "4900000008")
    number = world.accounts[meter]
    debt.change_debt(ctx, admin, number, "added", "50.00", "Arrears", payment_password="AdminPass1")
    debt.change_debt(ctx, admin, number, "written_off", "20.00", "Hardship", payment_password="AdminPass1")
    moved = debt.change_debt(ctx, admin, number, "adjusted", "10.00", "Meter audit", payment_password="AdminPass1")
    assert (moved.amount, moved.balance_after) == (D("-20.00"), D("10.00"))
    assert account_of(ctx, world, meter).debt_balance == D("10.00")
    with ctx.db.read_session() as session:
        summaries = list(session.scalars(select(AuditEntry.detail).where(AuditEntry.action.like("debt.%"))))
        assert len(summaries) == 3 and all("reason" in detail for detail in summaries)


def test_reports_show_charges_debt_free_units_and_units_per_block(ctx, admin, world):
    from stron_tui.services.reports.revenue import debt_report, revenue_by_month, units_per_block
    from stron_tui.services.reports.scope import ReportFilters

    meter = add_meter(world, "4900000009")
    steps_tariff(ctx, admin)
    number = world.accounts[meter]
    debt.change_debt(ctx, admin, number, "added", "100.00", "Arrears", payment_password="AdminPass1")
    debt.change_debt(ctx, admin, number, "written_off", "20.00", "Hardship", payment_password="AdminPass1")
    debt.set_revenue_terms(ctx, admin, number, debt.RevenueTerms(recovery_percent="25", free_units="20"))
    sell(ctx, admin, meter, "40.00")  # D 10.00, F 5.00, E 25.00 on 0 units: 50 kWh x 0.10 + 100 kWh x 0.20
    [month] = revenue_by_month(ctx, admin, ReportFilters())
    assert (month.gross, month.fixed_charges, month.debt_recovered, month.energy) == (
        D("40.00"), D("5.00"), D("10.00"), D("25.00"))
    assert (month.free_units, month.subsidy) == (D("20.0"), D("2.00"))  # 20 kWh x 0.10
    blocks = units_per_block(ctx, admin, ReportFilters())
    assert [(row.block, row.units, row.amount) for row in blocks] == [(1, D("50.0"), D("5.00")),
                                                                     (2, D("100.0"), D("20.00"))]
    [row] = debt_report(ctx, admin, ReportFilters())
    assert (row.opening, row.added, row.recovered, row.written_off, row.closing) == (
        0, D("100.00"), D("10.00"), D("20.00"), D("70.00"))
    assert row.district_name == "Test District"


def test_a_debt_only_payment_is_a_receipt_without_a_token(ctx, admin, world):
    from stron_tui.services.accounts import account_view

    meter = add_meter(world, "4900000010")
    number = world.accounts[meter]
    debt.change_debt(ctx, admin, number, "added", "30.00", "Arrears", payment_password="AdminPass1")
    receipt = debt.pay_debt(ctx, admin, meter, "12.50", request_id="debt-pay-0001", payment_password=PAYMENT_PASSWORD)
    assert (receipt.token, receipt.debt_recovered, receipt.debt_after) == ("", D("12.50"), D("17.50"))
    assert "Debt paid 12.50; still owed 17.50 USD" in render_text(receipt)
    again = debt.pay_debt(ctx, admin, meter, "12.50", request_id="debt-pay-0001", payment_password=PAYMENT_PASSWORD)
    assert again.receipt_number == receipt.receipt_number  # a retry, not a second payment
    with pytest.raises(ValidationError, match="owes 17.50 USD") as refused:
        debt.pay_debt(ctx, admin, meter, "20", request_id="debt-pay-0002", payment_password=PAYMENT_PASSWORD)
    assert refused.value.field == "amount"
    account = account_of(ctx, world, meter)
    assert account.debt_balance == D("17.50")
    view = account_view(ctx, admin, account.id)
    assert view.revenue["debt"] == D("17.50")
    sell(ctx, admin, meter, "10.00")
    assert account_view(ctx, admin, account.id).revenue["month_units"] == D("50.0")


def test_the_account_library_carries_the_recovery_rule_and_free_units(ctx, admin, world):
    from stron_tui.services import libraries

    meter = add_meter(world, "4900000011")
    record = libraries.find(ctx, admin, "accounts", world.accounts[meter])
    form = libraries.form_text(libraries.library("accounts"), record)
    libraries.update(ctx, admin, "accounts", record.id, {**form, "recovery_percent": "25", "free_units": "50"})
    account = account_of(ctx, world, meter)
    assert (account.recovery_percent, account.free_units) == (D("0.25"), D("50"))
    with pytest.raises(ValidationError, match="from 0 to 100") as refused:
        libraries.update(ctx, admin, "accounts", record.id, {**form, "recovery_percent": "101"})
    assert refused.value.field == "recovery_percent"
    assert account_of(ctx, world, meter).recovery_percent == D("0.25")


def test_the_price_library_refuses_a_cap_below_the_minimum_purchase(ctx, admin, world):
    from stron_tui.services import libraries

    record = libraries.find(ctx, admin, "tariffs", "Home")  # minimum purchase 1 USD
    form = libraries.form_text(libraries.library("tariffs"), record)
    with pytest.raises(ValidationError, match="below the minimum purchase") as refused:
        libraries.update(ctx, admin, "tariffs", record.id, {**form, "cap_money_day": "0.50"})
    assert refused.value.field == "cap_money_day"
    libraries.update(ctx, admin, "tariffs", record.id, {**form, "cap_units_month": "500", "fixed_charge_vat": "y",
                                                         "charge_accrue_months": "3"})
    with ctx.db.read_session() as session:
        tariff = session.scalar(select(Tariff).where(Tariff.name == "Home"))
        assert (tariff.cap_money_day, tariff.cap_units_month, tariff.fixed_charge_vat,
                tariff.charge_accrue_months) == (None, D("500"), True, 3)


def test_tariff_versions_go_out_to_excel_and_come_back_all_or_nothing(ctx, admin, world, tmp_path):
    from stron_tui.exports.tables import Column, write_xlsx

    steps_tariff(ctx, admin, starts="2031-01-01")
    exported = tariffs.export_versions(ctx, admin)
    with ctx.db.session() as session:  # start from no versions: the file brings them back
        session.execute(TariffBlock.__table__.delete())
        session.execute(TariffVersion.__table__.delete())
    report = tariffs.import_versions(ctx, admin, exported)
    assert report.ok and report.created == 1
    [version] = tariffs.versions(ctx, admin, "Home")
    assert (version.local_from, version.fixed_charge) == ("2031-01-01 00:00", D("5.00"))
    assert [(b.up_to, b.price) for b in version.blocks] == [(D(50), D("0.1")), (D(200), D("0.2")), (None, D("0.3"))]
    # A file with one good version and one whose blocks overlap: nothing is saved, the bad row is named.
    bad = tmp_path / "versions.xlsx"
    write_xlsx(bad, [Column(title, 16) for title in tariffs.VERSION_COLUMNS], [
        ("Home", "2032-01-01", "0", 1, "", "0.25"),
        ("Business", "2032-01-01", "2.00", 1, "100", "0.1"),
        ("Business", "2032-01-01", "2.00", 2, "80", "0.2"),
        ("Business", "2032-01-01", "2.00", 3, "", "0.3"),
    ])
    report = tariffs.import_versions(ctx, admin, bad)
    assert not report.ok
    assert [(error.row, error.column) for error in report.errors] == [(4, "Up to")]
    assert "must end above 100" in report.errors[0].reason
    assert len(tariffs.versions(ctx, admin, "Home")) == 1 and tariffs.versions(ctx, admin, "Business") == []


def test_a_reversed_sale_gives_back_the_debt_charge_and_block_it_took(ctx, admin, world):
    from stron_tui.services import reversals
    from tests.cash_helpers import PAYMENT, supervisor

    meter = add_meter(world, "4900000009")
    steps_tariff(ctx, admin)
    number = world.accounts[meter]
    debt.change_debt(ctx, admin, number, "added", "100.00", "Arrears from the postpaid meter",
                     payment_password="AdminPass1")
    debt.set_revenue_terms(ctx, admin, number, debt.RevenueTerms(recovery_percent="25"))
    before = account_of(ctx, world, meter)
    wrong = sell(ctx, admin, meter, "8.00")
    assert (wrong.debt_recovered, wrong.fixed_charge, wrong.units) == (D("2.00"), D("5.00"), D("10.0"))
    boss = supervisor(ctx, admin, world)
    done = reversals.reverse(ctx, boss, wrong.receipt_number, reason="sold to the wrong meter",
                             token_declared_unused=True, request_id=vending.new_request_id(),
                             payment_password=PAYMENT)
    after = account_of(ctx, world, meter)
    # The 2.00 it recovered is owed again, its 5.00 charge is due again, its 10 kWh are off the month.
    assert after.debt_balance == D("100.00") and after.month_units == 0 and after.month_money == 0
    assert after.month_recovered == 0 and after.charge_part_paid == before.charge_part_paid
    with ctx.db.read_session() as session:
        entry = session.scalar(select(DebtEntry).where(DebtEntry.kind == "adjusted", DebtEntry.amount > 0,
                                                      DebtEntry.receipt_number == wrong.receipt_number))
    assert entry is not None and entry.balance_after == D("100.00") and done.reversal_number in entry.reason
    # The proof: the same payment again is priced exactly as the reversed one was.
    again = sell(ctx, admin, meter, "8.00")
    assert (again.debt_recovered, again.fixed_charge, again.energy, again.units, again.debt_after) == (
        wrong.debt_recovered, wrong.fixed_charge, wrong.energy, wrong.units, wrong.debt_after)
    assert [(line.position, line.units) for line in again.blocks] == [(line.position, line.units)
                                                                      for line in wrong.blocks]


def test_reversing_a_plain_sale_leaves_the_debt_alone(ctx, admin, world):
    from stron_tui.services import reversals
    from tests.cash_helpers import PAYMENT, supervisor

    meter = add_meter(world, "4900000010")
    number = world.accounts[meter]
    debt.change_debt(ctx, admin, number, "added", "30.00", "Arrears", payment_password="AdminPass1")
    sale = sell(ctx, admin, meter, "10.00")  # no recovery rule: nothing of it goes to the debt
    assert sale.debt_recovered == 0
    reversals.reverse(ctx, supervisor(ctx, admin, world), sale.receipt_number, reason="customer changed mind",
                      token_declared_unused=True, request_id=vending.new_request_id(), payment_password=PAYMENT)
    after = account_of(ctx, world, meter)
    assert after.debt_balance == D("30.00") and after.month_units == 0 and after.day_money == 0
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(DebtEntry).where(DebtEntry.kind == "adjusted")) == 0


def test_a_reversal_and_a_sale_of_the_same_meter_at_once_both_go_through(ctx, admin, world):
    import threading

    from stron_tui.services import reversals
    from tests.cash_helpers import PAYMENT, supervisor

    meter = add_meter(world, "4900000011")
    number = world.accounts[meter]
    debt.change_debt(ctx, admin, number, "added", "100.00", "Arrears", payment_password="AdminPass1")
    debt.set_revenue_terms(ctx, admin, number, debt.RevenueTerms(recovery_percent="25"))
    first = sell(ctx, admin, meter, "8.00")
    boss = supervisor(ctx, admin, world)
    start, outcomes = threading.Barrier(2), {}

    def reverse_first():
        start.wait()
        outcomes["reversal"] = reversals.reverse(ctx, boss, first.receipt_number, reason="wrong meter",
                                                 token_declared_unused=True, request_id=vending.new_request_id(),
                                                 payment_password=PAYMENT)

    def sell_again():
        start.wait()
        outcomes["sale"] = sell(ctx, admin, meter, "8.00")

    threads = [threading.Thread(target=reverse_first), threading.Thread(target=sell_again)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert set(outcomes) == {"reversal", "sale"}  # neither waited on the other for ever, neither failed
    # Whatever the order, the account owes 100 less what the sale that stands recovered.
    assert account_of(ctx, world, meter).debt_balance == D("100.00") - outcomes["sale"].debt_recovered
