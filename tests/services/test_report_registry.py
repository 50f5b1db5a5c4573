"""The report registry: every door (menu, screen, export, API) is built from the reports' declarations.

A new report is one module declaring a Report plus one line in the registry;
here one is declared in the test and added to the registry to show it runs,
scoped, at the service, the export and the screen without any other change.
"""

from __future__ import annotations

import csv
from datetime import date

from sqlalchemy import func, select
from textual.widgets import DataTable

from screens.registry import ENTRIES_BY_KEY
from stron_tui.db.models import AuditEntry, SalesStation, Vend
from stron_tui.exports.tables import Column
from stron_tui.services import reports
from stron_tui.services.reports import Loaded, Report, ReportFilters, ReportTable
from stron_tui.services.reports.common import vend_conditions
from tests.services.test_reports import sales  # noqa: F401  (the fixture)


def _sales_per_utility(request) -> Loaded:
    rows = request.session.execute(
        select(Vend.utility, func.count(Vend.id)).where(*vend_conditions(request.scope, request.zone))
        .group_by(Vend.utility).order_by(Vend.utility)
    ).all()
    return Loaded([tuple(row) for row in rows], None, request.scope.descriptions)


SALES_PER_UTILITY = Report(
    key="utilities", title="Sales per Utility", slug="sales-per-utility", stem="sales-per-utility",
    description="How many sales each utility had", api_summary="Sales per utility",
    filters=("date_from", "date_to", "station"), load=_sales_per_utility,
    table=lambda loaded: ReportTable("Sales per Utility", [Column("Utility", 12), Column("Sales", 8, "integer")],
                                     loaded.rows, [], loaded.filters),
)


def _counts(ctx, station_code: str | None = None) -> list[tuple[str, int]]:
    query = select(Vend.utility, func.count(Vend.id)).group_by(Vend.utility).order_by(Vend.utility)
    if station_code:
        query = query.join(SalesStation, SalesStation.id == Vend.station_id).where(SalesStation.code == station_code)
    with ctx.db.read_session() as session:
        return [tuple(row) for row in session.execute(query)]


def test_a_report_added_to_the_registry_runs_scoped_and_exports(sales, monkeypatch):  # noqa: F811
    monkeypatch.setitem(reports.REPORTS, SALES_PER_UTILITY.key, SALES_PER_UTILITY)
    everything = reports.run_report(sales.ctx, sales.admin, "utilities", ReportFilters())
    assert everything.rows == _counts(sales.ctx) and sum(n for _, n in everything.rows) == 6
    # The operator limited to S1 asks for S2: the registry's runner applies the scope rule, not the report.
    own = reports.run_report(sales.ctx, sales.cashier1, "utilities", ReportFilters(station="S2"))
    assert own.rows == _counts(sales.ctx, "S1") != everything.rows
    assert any("your station only" in line for line in own.filters)

    result = reports.export_report(sales.ctx, sales.cashier1, "utilities", "csv")
    assert result.path.name.startswith("sales-per-utility") and result.rows == len(own.rows)
    with result.path.open(newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["Utility", "Sales"] and [(u, int(n)) for u, n in lines[1:]] == own.rows
    with sales.ctx.db.read_session() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "report.export")).all()
    assert [row.entity_id for row in audit] == ["utilities"]


async def test_a_report_added_to_the_registry_gets_a_working_screen(sales, monkeypatch):  # noqa: F811
    from screens.reports.screens import screen_for
    from stron_tui.app import StronApp
    from tests.screens.keyboard import settle

    monkeypatch.setitem(reports.REPORTS, SALES_PER_UTILITY.key, SALES_PER_UTILITY)
    app = StronApp(sales.ctx, actor=sales.admin)
    async with app.run_test(size=(120, 30)) as pilot:
        app.push_screen(screen_for("utilities")())
        await settle(app, pilot)
        assert [input_.id for input_ in app.screen.query("Input")] == [
            "filter-date_from", "filter-date_to", "filter-station"]
        await pilot.press("enter")
        await settle(app, pilot)
        table = app.screen.query_one(DataTable)
        assert [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)] == [
            [utility, str(count)] for utility, count in _counts(sales.ctx)]


def test_every_registered_report_has_its_menu_entry_api_route_and_options():
    from stron_tui.api.routes.reports import router  # the router the API app mounts (tests/api drive it)

    paths = {route.path: route for route in router.routes}
    for report in reports.REPORTS.values():
        entry = ENTRIES_BY_KEY[f"reports.{report.key}"]
        assert (entry.title, entry.permission) == (report.title, "reports.view")
        route = paths[f"/reports/{report.slug}"]
        assert route.summary == report.api_summary
        params = {param.name for param in route.dependant.query_params}
        params |= {param.name for dep in route.dependant.dependencies for param in dep.query_params}
        assert {option.name for option in report.options} <= params
        assert ("cursor" in params) == (report.paging != "none")
        assert ("date_from" in params) == bool(report.filters)


def test_report_options_are_checked_by_name(sales):  # noqa: F811
    import pytest

    with pytest.raises(TypeError, match="takes no option by_day"):
        reports.run_report(sales.ctx, sales.admin, "districts", ReportFilters(date_from=date(2024, 1, 1)),
                           by_day=False)
