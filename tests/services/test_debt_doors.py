"""Debt's doors: the supervisor's payment password on a change, and debt balances from Excel (all or nothing)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from stron_tui.cli import main as cli_main
from stron_tui.db.models import Account, AuditEntry, DebtEntry
from stron_tui.errors import PermissionDenied, StronError
from stron_tui.exports.tables import Column, write_xlsx
from stron_tui.services import debt
from stron_tui.services.permissions import Actor
from tests.factories import add_meter, build_world

PAYMENT_PASSWORD = "AdminPass1"


def balances(ctx) -> dict[str, D]:
    with ctx.db.read_session() as session:
        return dict(session.execute(select(Account.account_number, Account.debt_balance)).all())


def debt_file(path, rows):
    write_xlsx(path, [Column(spec.header, 16) for spec in debt.DEBT_SHEET.fields], rows)
    return path


def test_a_debt_change_needs_the_payment_password_and_a_wrong_one_changes_nothing(ctx, admin):
    world = build_world(ctx)
    number = world.accounts[add_meter(world, "4910000001")]
    with pytest.raises(StronError, match="password"):
        debt.change_debt(ctx, admin, number, "added", "40.00", "Arrears", payment_password="wrong-password")
    with pytest.raises(StronError, match="password"):
        debt.change_debt(ctx, admin, number, "added", "40.00", "Arrears")
    assert balances(ctx)[number] == D(0)
    moved = debt.change_debt(ctx, admin, number, "added", "40.00", "Arrears", payment_password=PAYMENT_PASSWORD)
    assert moved.balance_after == D("40.00") and balances(ctx)[number] == D("40.00")


def test_debt_balances_come_in_from_excel_set_as_given_with_their_reason(ctx, admin, tmp_path):
    world = build_world(ctx)
    first = world.accounts[add_meter(world, "4910000002")]
    second = world.accounts[add_meter(world, "4910000003")]
    third = world.accounts[add_meter(world, "4910000004")]
    debt.change_debt(ctx, admin, second, "added", "80.00", "Arrears", payment_password=PAYMENT_PASSWORD)
    path = debt_file(tmp_path / "debt.xlsx", [
        (first, "125.50", "Postpaid arrears, March"),
        (second, "30", "Agreed at the office"),
        (third, "0", "Nothing owed"),
    ])
    report = debt.import_balances(ctx, admin, path)
    assert report.ok, report.errors
    assert (report.rows, report.updated, report.unchanged) == (3, 2, 1)
    assert report.summary() == "Imported 3 row(s): 0 new, 2 changed, 1 unchanged."
    assert balances(ctx) == {first: D("125.50"), second: D("30.00"), third: D(0)}
    with ctx.db.read_session() as session:
        entries = session.execute(select(Account.account_number, DebtEntry.amount, DebtEntry.balance_after,
                                         DebtEntry.reason).join(Account, Account.id == DebtEntry.account_id)
                                  .where(DebtEntry.kind == "imported").order_by(DebtEntry.id)).all()
        assert entries == [(first, D("125.50"), D("125.50"), "Postpaid arrears, March"),
                           (second, D("-50.00"), D("30.00"), "Agreed at the office")]
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("debt.import%"))))
        assert sorted(actions) == ["debt.import", "debt.imported", "debt.imported"]
    # The same file again changes nothing: a balance, not an addition.
    again = debt.import_balances(ctx, admin, path)
    assert (again.updated, again.unchanged) == (0, 3)


def test_a_debt_file_with_any_bad_row_imports_nothing_and_names_each_problem(ctx, admin, tmp_path):
    world = build_world(ctx)
    first = world.accounts[add_meter(world, "4910000005")]
    second = world.accounts[add_meter(world, "4910000006")]
    third = world.accounts[add_meter(world, "4910000009")]
    fourth = world.accounts[add_meter(world, "4910000010")]
    path = debt_file(tmp_path / "debt.xlsx", [
        (first, "10.00", "Arrears"),
        ("AC9999999", "5", "Arrears"),
        (second, "-4", "Arrears"),
        (third, "4.005", "Arrears"),
        (first, "12", "Arrears"),
        (fourth.lower(), "12", ""),
    ])
    report = debt.import_balances(ctx, admin, path)
    assert not report.ok
    assert [(error.row, error.column) for error in report.errors] == [
        (3, "Account number"), (4, "Debt balance"), (5, "Debt balance"), (6, "Account number"), (7, "Reason")]
    assert "There is no account AC9999999" in report.errors[0].reason
    assert "more than zero" in report.errors[1].reason
    assert "2 decimal places" in report.errors[2].reason
    assert "also in row 2" in report.errors[3].reason
    assert set(balances(ctx).values()) == {D(0)}
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(DebtEntry)) == 0


def test_the_debt_import_needs_the_debt_right(ctx, admin, tmp_path):
    world = build_world(ctx)
    number = world.accounts[add_meter(world, "4910000007")]
    path = debt_file(tmp_path / "debt.xlsx", [(number, "10", "Arrears")])
    clerk = Actor(user_id=admin.user_id, user_code="clerk", source="tui",
                  permissions=frozenset({"basedata.import", "basedata.view", "basedata.accounts.edit"}))
    with pytest.raises(PermissionDenied):
        debt.import_balances(ctx, clerk, path)
    assert balances(ctx)[number] == D(0)


def test_the_debt_template_reads_back_as_an_import(ctx, admin, tmp_path, capsys):
    world = build_world(ctx)
    add_meter(world, "4910000008")
    template = tmp_path / "debt-template.xlsx"
    assert cli_main(["template", "debt", "--output", str(template)]) == 0
    report = debt.import_balances(ctx, admin, template)
    # The example row names an account that does not exist here: refused at its column, nothing saved.
    assert [(error.row, error.column) for error in report.errors] == [(2, "Account number")]


def test_an_operator_limited_to_a_station_reaches_only_its_accounts_debt(ctx, admin, tmp_path):
    from dataclasses import replace

    from stron_tui.errors import NotFound

    world = build_world(ctx)
    number = world.accounts[add_meter(world, "4910000011")]
    rights = admin.permissions - {"reports.all_stations"}
    elsewhere = replace(admin, permissions=rights, builtin_admin=False, station_id=world.station_id + 100)
    at_home = replace(admin, permissions=rights, builtin_admin=False, station_id=world.station_id)
    with pytest.raises(NotFound, match=f"There is no account {number}"):
        debt.change_debt(ctx, elsewhere, number, "added", "5", "Arrears", payment_password=PAYMENT_PASSWORD)
    with pytest.raises(NotFound):
        debt.debt_history(ctx, elsewhere, number)
    report = debt.import_balances(ctx, elsewhere, debt_file(tmp_path / "debt.xlsx", [(number, "5", "Arrears")]))
    assert [error.column for error in report.errors] == ["Account number"]
    assert balances(ctx)[number] == D(0)
    debt.change_debt(ctx, at_home, number, "added", "5", "Arrears", payment_password=PAYMENT_PASSWORD)
    assert [move.kind_text for move in debt.debt_history(ctx, at_home, number)] == ["added"]
