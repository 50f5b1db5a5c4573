"""Reading the audit trail: filter, page (newest first) and export to Excel.

Only reads: the trail is written by `audit.record` and never changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable

from sqlalchemy import Select, func, select

from stron_tui.db.models import AuditEntry, User
from stron_tui.db.queries import Page, keyset_page
from stron_tui.errors import ValidationError
from stron_tui.exports.files import export_path
from stron_tui.exports.tables import Column, write_xlsx
from stron_tui.services import audit
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.domain.text import clean, fold

SOURCES = ("tui", "ssh", "api", "cli")
PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    """What to show; dates are local business dates at the installation's time zone, both inclusive."""

    user_code: str = ""
    action: str = ""  # the start of an action name: "login" finds login and login_failed
    source: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def describe(self) -> str:
        parts = [f"{name}={value}" for name, value in asdict(self).items() if value not in ("", None)]
        return ", ".join(parts) if parts else "everything"


@dataclass(frozen=True)
class AuditRow:
    id: int
    occurred_at: datetime
    source: str
    user_code: str
    remote: str
    action: str
    entity: str
    entity_id: str
    summary: str
    detail: str


def _parse_date(text: str, field: str, label: str) -> date | None:
    text = clean(text)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"Write the {label} as YYYY-MM-DD, e.g. 2025-01-31.", field=field) from None


def parse_filter(*, user_code: str = "", action: str = "", source: str = "", date_from: str = "",
                 date_to: str = "") -> AuditFilter:
    """Turn what an operator typed into a filter, or say what is wrong with it."""
    source = fold(source)
    if source and source not in SOURCES:
        raise ValidationError(f"The source is one of {', '.join(SOURCES)}.", field="source")
    start = _parse_date(date_from, "date_from", "from date")
    end = _parse_date(date_to, "date_to", "to date")
    if start and end and end < start:
        raise ValidationError("The to date is before the from date.", field="date_to")
    return AuditFilter(user_code=clean(user_code)[:40], action=clean(action).lower()[:40], source=source,
                       date_from=start, date_to=end)


def _query(session, ctx: AppContext, flt: AuditFilter) -> Select:
    query = select(AuditEntry)
    if flt.user_code:
        # Show the trail under the user's stored spelling, whatever case was typed.
        stored = session.scalar(select(User.user_code).where(User.user_key == fold(flt.user_code)))
        if stored is not None:
            query = query.where(AuditEntry.user_code == stored)
        else:  # an unknown or deleted ID (e.g. failed logins): match it ignoring case
            query = query.where(func.lower(AuditEntry.user_code) == flt.user_code.lower())
    if flt.action:
        query = query.where(AuditEntry.action.startswith(flt.action, autoescape=True))
    if flt.source:
        query = query.where(AuditEntry.source == flt.source)
    zone = ctx.settings.zone
    if flt.date_from:
        query = query.where(AuditEntry.occurred_at >= datetime.combine(flt.date_from, time(), zone))
    if flt.date_to:
        query = query.where(AuditEntry.occurred_at < datetime.combine(flt.date_to + timedelta(days=1), time(), zone))
    return query


def _row(entry: AuditEntry) -> AuditRow:
    return AuditRow(entry.id, entry.occurred_at, entry.source, entry.user_code, entry.remote, entry.action,
                    entry.entity, entry.entity_id, entry.summary, entry.detail)


def search(ctx: AppContext, actor: Actor, flt: AuditFilter = AuditFilter(), *, after: tuple | None = None,
           limit: int = PAGE_SIZE) -> Page:
    """One page of matching entries, newest first; pass `page.next_key` as `after` for the next."""
    actor.require("system.audit")
    with ctx.db.read_session() as session:
        query, to_page = keyset_page(_query(session, ctx, flt), [AuditEntry.occurred_at, AuditEntry.id],
                                     after=after, limit=limit, descending=True,
                                     key_of=lambda entry: (entry.occurred_at, entry.id))
        page = to_page(list(session.scalars(query)))
        return Page([_row(entry) for entry in page.rows], page.next_key)


EXPORT_COLUMNS = (
    Column("Time", 20, "datetime"),
    Column("Source", 7),
    Column("User", 14),
    Column("From", 16),
    Column("Action", 24),
    Column("Entity", 12),
    Column("Entity ID", 10),
    Column("Summary", 60),
    Column("Detail", 60),
)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int


def export_xlsx(ctx: AppContext, actor: Actor, flt: AuditFilter = AuditFilter(), *,
                progress: Callable[[int], None] | None = None) -> ExportResult:
    """Write every matching entry (newest first) to an Excel file; the export is audited."""
    actor.require("system.audit")
    zone = ctx.settings.zone
    path = export_path(ctx.settings, "audit-log", "xlsx", user_id=actor.user_id)
    with ctx.db.read_session() as session:
        query = _query(session, ctx, flt).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        entries = session.scalars(query.execution_options(yield_per=1000))
        rows = (
            (entry.occurred_at.astimezone(zone), entry.source, entry.user_code, entry.remote, entry.action,
             entry.entity, entry.entity_id, entry.summary, entry.detail)
            for entry in entries
        )
        count = write_xlsx(path, EXPORT_COLUMNS, rows, sheet="Audit log",
                           title_lines=[f"Audit log: {flt.describe()}", f"Times in {ctx.settings.timezone}"],
                           progress=progress)
    with ctx.db.session() as session:
        audit.record(session, actor, "audit.export", entity="audit_log",
                     summary=f"exported {count} audit entries to {path.name}",
                     detail={"filter": flt.describe(), "rows": count, "file": str(path)})
    return ExportResult(path, count)
