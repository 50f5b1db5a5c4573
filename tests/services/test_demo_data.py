"""The demo data obeys the product's own rules: every record edits and saves unchanged, and every
library's Excel export imports again with nothing changed."""

from __future__ import annotations

from sqlalchemy import func, select

from stron_tui.db.models import AuditEntry, Meter
from stron_tui.services import libraries as L
from stron_tui.services.demo import load_demo_data
from stron_tui.services.excel_io import export_library, import_library
from stron_tui.services.meters import METER_TYPES

LIBRARIES = ("districts", "stations", "tariffs", "customers", "meters", "accounts")


def _changes(ctx) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.like("%.update") | AuditEntry.action.like("%.import_update")))


def test_demo_records_edit_and_export_import_unchanged_in_every_library(ctx, admin):
    load_demo_data(ctx, customers=120, months=1)  # every combination the demo makes repeats within 30 customers
    with ctx.db.read_session() as session:
        assert set(session.scalars(select(Meter.meter_type).distinct())) <= set(METER_TYPES)
    for name in LIBRARIES:
        lib = L.library(name)
        total = L.count(ctx, admin, name)
        assert total > 0, name
        # Every record, as its form shows it, saves with nothing changed.
        page = L.search(ctx, admin, name, limit=500)
        assert len(page.rows) == total and not page.has_more
        for record in page.rows:
            saved = L.update(ctx, admin, name, record.id, L.form_text(lib, record))
            assert saved.values == record.values, (name, record.values)
        # The library's export imports again: every row found, none changed, none added.
        exported = export_library(ctx, admin, name)
        report = import_library(ctx, admin, name, exported.path)
        assert report.ok, (name, report.errors[:3])
        assert (report.rows, report.created, report.updated, report.unchanged) == (total, 0, 0, total), name
        assert L.count(ctx, admin, name) == total
    assert _changes(ctx) == 0
