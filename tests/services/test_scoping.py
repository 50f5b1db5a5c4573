"""Data scoping at the service door: a cashier sees their station's records, a partner its own.

Every look-up that finds sales or management tokens by number, meter,
customer or account is tried by the wrong cashier and the wrong partner; each
must answer as for a number nobody issued and never show the other's token
digits. The same look-ups by the right cashier, partner and Admin are the
control that the records are there.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from stron_tui.db.models import Account, AuditEntry, ReceiptPrint
from stron_tui.errors import NotFound
from stron_tui.services import accounts, api_queries, management, receipts, reports, vending
from stron_tui.domain.clock import local_date, utcnow
from stron_tui.services.reports import ReportFilters
from stron_tui.services.reports.scope import record_limit
from tests.scoping import build_scoped, operator


@pytest.fixture
def scoped(ctx, admin):
    return build_scoped(ctx, admin)


def _not_found_message(call, number: str) -> str:
    with pytest.raises(NotFound) as error:
        call(number)
    return str(error.value).replace(number, "<number>")


def _assert_hidden(text: str, secrets: list[str]) -> None:
    for token in secrets:
        assert token not in text.replace(" ", "")


def _reprints(ctx) -> tuple[int, int]:
    with ctx.db.read_session() as session:
        return (session.scalar(select(func.count(ReceiptPrint.id))),
                session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "receipt.reprint")))


def test_the_rule_all_stations_else_station_and_own_else_api_account_own(ctx, admin, scoped):
    assert record_limit(admin).everything
    limit = record_limit(scoped.cashier2)
    assert (limit.everything, limit.station_id, limit.user_id, limit.api_account_id) == (
        False, scoped.s2_id, scoped.cashier2.user_id, None)
    limit = record_limit(scoped.partner_b)
    assert (limit.everything, limit.api_account_id, limit.station_id) == (False, scoped.partner_b.api_account_id, None)


@pytest.mark.parametrize("door", ["lookup", "reprint"])
def test_receipt_of_another_station_or_partner_answers_like_a_number_never_issued(ctx, admin, scoped, door):
    service = receipts.lookup_receipt if door == "lookup" else receipts.reprint_receipt
    never = _not_found_message(lambda n: service(ctx, scoped.cashier2, n), "S1-99999999")
    before = _reprints(ctx)
    for actor, hidden in ((scoped.cashier2, [scoped.s1_sale, scoped.s1_credit, scoped.a_sale, scoped.a_credit]),
                          (scoped.partner_b, [scoped.s1_sale, scoped.s2_sale, scoped.a_sale, scoped.a_credit])):
        for receipt in hidden:
            for number in (receipt.receipt_number, receipt.transaction_number):
                assert _not_found_message(lambda n: service(ctx, actor, n), number) == never
    assert _reprints(ctx) == before  # nothing recorded for a refused reprint
    # The control: the right station, partner and Admin find them.
    assert service(ctx, scoped.cashier1, scoped.s1_sale.receipt_number).token == scoped.s1_sale.token
    assert service(ctx, scoped.cashier1, scoped.a_credit.transaction_number).token == scoped.a_credit.token
    assert service(ctx, scoped.cashier2, scoped.s2_sale.receipt_number).token == scoped.s2_sale.token
    assert service(ctx, scoped.partner_a, scoped.a_credit.receipt_number).token == scoped.a_credit.token
    assert service(ctx, admin, scoped.a_sale.receipt_number).token == scoped.a_sale.token


def test_a_cashier_without_a_station_sees_only_what_they_issued(ctx, admin, scoped):
    roamer = operator(ctx, admin, "roamer", "Station Clerk", None)
    with pytest.raises(NotFound):
        receipts.lookup_receipt(ctx, roamer, scoped.s1_sale.receipt_number)
    assert receipts.recent_receipts(ctx, roamer) == []


def test_recent_receipts_are_the_callers_own(ctx, admin, scoped):
    assert [r.receipt_number for r in receipts.recent_receipts(ctx, scoped.partner_a)] == [
        scoped.a_sale.receipt_number]
    assert receipts.recent_receipts(ctx, scoped.partner_b) == []
    assert receipts.recent_receipts(ctx, scoped.cashier1) == []


def test_transaction_lookup_reports_other_stations_numbers_as_missing(ctx, admin, scoped):
    numbers = [scoped.s1_sale.transaction_number, scoped.s2_sale.transaction_number,
               scoped.a_sale.transaction_number]
    lookup = reports.transactions(ctx, scoped.cashier2, numbers)
    assert [t.transaction_number for t in lookup.found] == [scoped.s2_sale.transaction_number]
    assert lookup.missing == [numbers[0], numbers[2]]
    _assert_hidden(repr(lookup), scoped.secrets_of_s1())
    lookup = reports.transactions(ctx, scoped.partner_b, numbers)
    assert lookup.found == [] and lookup.missing == numbers
    lookup = reports.transactions(ctx, scoped.partner_a, numbers)
    assert [t.transaction_number for t in lookup.found] == [numbers[2]]


def test_top_up_target_shows_past_vends_of_the_callers_scope_only(ctx, admin, scoped):
    other = vending.load_target(ctx, scoped.cashier2, scoped.m1)
    assert other.meter_number == scoped.m1 and other.last_vends == ()
    partner = vending.load_target(ctx, scoped.partner_b, scoped.m1)
    assert partner.last_vends == ()
    own = vending.load_target(ctx, scoped.cashier1, scoped.m1)
    assert [v.receipt_number for v in own.last_vends] == [scoped.a_sale.receipt_number, scoped.s1_sale.receipt_number]
    assert [v.token for v in vending.load_target(ctx, scoped.partner_a, scoped.m1).last_vends] == [
        scoped.a_sale.token]


def test_meter_history_of_sales_and_management_tokens_is_scoped(ctx, admin, scoped):
    for actor in (scoped.cashier2, scoped.partner_b):
        vends = api_queries.meter_vends(ctx, actor, scoped.m1)
        tokens = api_queries.meter_tokens(ctx, actor, scoped.m1)
        assert vends.rows == [] and tokens.rows == [] and vends.next_after is None
    assert [t.token for t in api_queries.meter_tokens(ctx, scoped.partner_a, scoped.m1).rows] == [
        scoped.a_credit.token]
    assert [t.token for t in api_queries.meter_tokens(ctx, scoped.cashier1, scoped.m1).rows] == [
        scoped.a_credit.token, scoped.s1_credit.token]
    assert len(api_queries.meter_vends(ctx, admin, scoped.m1).rows) == 2


def test_management_records_and_their_receipts_are_scoped(ctx, admin, scoped):
    for actor in (scoped.cashier2, scoped.partner_b):
        page = management.records(ctx, actor, "clear_credit")
        assert page.rows == []
        assert management.records(ctx, actor, "clear_credit", scoped.m1).rows == []
        for receipt in (scoped.s1_credit, scoped.a_credit):
            never = _not_found_message(lambda n: management.record_receipt(ctx, actor, n), "S1-M9999999")
            assert _not_found_message(lambda n: management.record_receipt(ctx, actor, n),
                                      receipt.receipt_number) == never
    assert [r.token for r in management.records(ctx, scoped.partner_a, "clear_credit").rows] == [
        scoped.a_credit.token]
    assert len(management.records(ctx, scoped.cashier1, "clear_credit").rows) == 2
    assert management.record_receipt(ctx, scoped.cashier1, scoped.a_credit.receipt_number).token == (
        scoped.a_credit.token)


def test_records_export_holds_only_the_callers_scope(ctx, admin, scoped):
    from stron_tui.services import roles

    roles.create_role(ctx, admin, name="Records Clerk", permissions={"exceptions.records"})
    clerk = operator(ctx, admin, "recclerk", "Records Clerk", scoped.s2_id)
    result = management.export_records(ctx, clerk, "clear_credit")
    assert result.rows == 0
    _assert_hidden(result.path.read_bytes().decode("latin-1"), scoped.secrets_of_s1())


def test_account_view_shows_only_the_callers_sales_and_tokens(ctx, admin, scoped):
    with ctx.db.read_session() as session:
        account_number = scoped.world.accounts[scoped.m1]
        account_id = session.scalar(select(Account.id).where(Account.account_number == account_number))
    for actor in (scoped.cashier2, scoped.partner_b):
        view = accounts.account_view(ctx, actor, account_id)
        assert view.vends == () and view.tokens == () and view.vend_count == 0
        _assert_hidden(repr(view), scoped.secrets_of_s1())
    view = accounts.account_view(ctx, scoped.partner_a, account_id)
    assert [v.token for v in view.vends] == [scoped.a_sale.token] and view.vend_count == 1
    assert [t.token for t in view.tokens] == [scoped.a_credit.token]
    assert accounts.account_view(ctx, scoped.cashier1, account_id).vend_count == 2


def test_reports_limit_a_partner_to_its_own_sales(ctx, admin, scoped):
    page = reports.receipts(ctx, scoped.partner_b, ReportFilters())
    assert page.rows == [] and "Sales: this API account's own only" in page.filters
    assert reports.receipt_totals(ctx, scoped.partner_b, ReportFilters()) == []
    assert reports.monthly_summary(ctx, scoped.partner_b, ReportFilters()).rows == []
    assert reports.station_payments(ctx, scoped.partner_b, ReportFilters()).rows == []
    assert reports.customer_payments(ctx, scoped.partner_b, ReportFilters(), scoped.world.station_id).rows == []
    assert reports.district_report(ctx, scoped.partner_b, ReportFilters()).rows == []
    cashup = reports.cashup(ctx, scoped.partner_b, ReportFilters())
    assert cashup.lines == []
    _assert_hidden(repr(page), scoped.secrets_of_s1())

    own = reports.receipts(ctx, scoped.partner_a, ReportFilters())
    assert [r.receipt_number for r in own.rows] == [scoped.a_sale.receipt_number]
    [total] = reports.receipt_totals(ctx, scoped.partner_a, ReportFilters())
    assert (total.vend_count, str(total.gross_amount)) == (1, "14.00")
    items = {line.item: line.count for line in reports.cashup(ctx, scoped.partner_a, ReportFilters()).lines}
    assert items == {"Sales: Cash": 1, "Token: clear_credit": 1}
    # Non-vending meters of a partner: the meters it has sold to before, silent in the period.
    tomorrow = local_date(utcnow(), ctx.settings.zone) + timedelta(days=1)
    silent = reports.silent_meters(ctx, scoped.partner_a, ReportFilters(date_from=tomorrow, date_to=tomorrow))
    assert [r.meter_number for r in silent.rows] == [scoped.m1]
    assert reports.silent_meter_count(ctx, scoped.partner_a, ReportFilters(date_from=tomorrow)) == 1
    assert reports.silent_meter_count(ctx, scoped.partner_b, ReportFilters(date_from=tomorrow)) == 0


def test_report_export_of_a_partner_holds_only_its_own(ctx, admin, scoped):
    from stron_tui.services import roles

    roles.create_role(ctx, admin, name="Partner Exporter", permissions={"reports.view", "reports.export"})
    from stron_tui.services import api_accounts

    key = api_accounts.create_account(ctx, admin, name="Partner C", role="Partner Exporter").api_key
    partner_c = api_accounts.authenticate(ctx, key)
    result = reports.export_report(ctx, partner_c, "receipts", "csv")
    text = result.path.read_text()
    _assert_hidden(text, scoped.secrets_of_s1() + [scoped.s2_sale.token])
    assert scoped.s1_sale.receipt_number not in text


def test_a_partners_report_reads_its_own_sales_through_their_index(ctx, admin, scoped):
    from sqlalchemy import text

    from stron_tui.services.reports.catalog.monthly import monthly_query
    from stron_tui.services.reports.scope import resolve

    if ctx.db.backend != "sqlite":
        pytest.skip("the plan is checked on SQLite; PostgreSQL chooses by table statistics")
    with ctx.db.read_session() as session:
        scope = resolve(session, scoped.partner_a, ReportFilters())
        query = monthly_query(scope).compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {query}")))
    assert "ix_vends_api_account_date" in plan, plan
