"""The audit trail viewer: filters, keyset pages newest first, Excel export, append-only."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import delete, select, update

from stron_tui.db.models import AuditEntry
from stron_tui.errors import PermissionDenied, ValidationError
from stron_tui.services import audit, audit_log, auth, users
from stron_tui.services.audit import AuditTrailReadOnly


def add_entries(ctx, rows):
    """rows: (occurred_at, user_code, action, source)."""
    with ctx.db.session() as session:
        for when, user_code, action, source in rows:
            entry = audit.record(session, None, action, user_code=user_code, source=source, summary=action)
            entry.occurred_at = when


def test_pages_newest_first_without_gaps_or_repeats(ctx, admin):
    base = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
    # Two entries share an instant: the id breaks the tie.
    add_entries(ctx, [(base + timedelta(minutes=i // 2), "clerk", f"vend.{i:02}", "tui") for i in range(7)])
    seen, after = [], None
    flt = audit_log.parse_filter(user_code="clerk")
    while True:
        page = audit_log.search(ctx, admin, flt, after=after, limit=3)
        seen.extend(row.action for row in page.rows)
        if not page.has_more:
            break
        after = page.next_key
    assert seen == ["vend.06", "vend.05", "vend.04", "vend.03", "vend.02", "vend.01", "vend.00"]


def test_filters_by_user_action_source_and_local_dates(ctx, admin):
    # Africa/Lagos is UTC+1: 23:30 UTC on 1 March is already 2 March there.
    add_entries(ctx, [
        (datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc), "Clerk", "login", "tui"),
        (datetime(2025, 3, 1, 23, 30, tzinfo=timezone.utc), "Clerk", "login_failed", "ssh"),
        (datetime(2025, 3, 2, 9, 0, tzinfo=timezone.utc), "partner", "vend", "api"),
        (datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc), "Clerk", "user.create", "tui"),
    ])
    users.create_user(ctx, admin, user_code="Clerk", role="OnlyVending")

    def actions(**typed):
        return [row.action for row in audit_log.search(ctx, admin, audit_log.parse_filter(**typed)).rows
                if row.user_code != "Admin"]

    assert actions(user_code="clerk", action="login") == ["login_failed", "login"]
    assert actions(source="SSH") == ["login_failed"]
    assert actions(date_from="2025-03-02", date_to="2025-03-02") == ["vend", "login_failed"]
    assert actions(date_to="2025-03-01") == ["login"]
    assert actions(action="user.") == ["user.create"]
    assert actions(action="%") == []  # typed wildcards are literal
    with pytest.raises(ValidationError, match="YYYY-MM-DD") as error:
        audit_log.parse_filter(date_from="1/3/2025")
    assert error.value.field == "date_from"
    with pytest.raises(ValidationError, match="before the from date"):
        audit_log.parse_filter(date_from="2025-03-02", date_to="2025-03-01")
    with pytest.raises(ValidationError, match="source is one of"):
        audit_log.parse_filter(source="fax")


def test_export_to_excel_is_itself_audited(ctx, admin):
    add_entries(ctx, [(datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc), "clerk", "login", "tui"),
                      (datetime(2025, 3, 1, 13, 0, tzinfo=timezone.utc), "clerk", "=cmd()", "tui")])
    result = audit_log.export_xlsx(ctx, admin, audit_log.AuditFilter(user_code="clerk"))
    assert result.rows == 2 and result.path.exists() and result.path.suffix == ".xlsx"
    sheet = CalamineWorkbook.from_path(str(result.path)).get_sheet_by_index(0).to_python()
    assert sheet[0][0] == "Audit log: user_code=clerk"
    header = sheet[3]
    assert header[:5] == ["Time", "Source", "User", "From", "Action"]
    assert [row[4] for row in sheet[4:]] == ["=cmd()", "login"]
    assert str(sheet[5][0]).startswith("2025-03-01 13:00")  # local time (UTC+1)
    exported = audit_log.search(ctx, admin, audit_log.AuditFilter(action="audit.export")).rows
    assert len(exported) == 1 and "2 audit entries" in exported[0].summary


def test_viewing_needs_the_right(ctx, admin):
    users.create_user(ctx, admin, user_code="cashier", role="OnlyVending")
    cashier = auth.authenticate(ctx, "cashier", "123456")
    with pytest.raises(PermissionDenied, match="may not view the audit trail"):
        audit_log.search(ctx, cashier)
    with pytest.raises(PermissionDenied):
        audit_log.export_xlsx(ctx, cashier)


def test_audit_rows_are_append_only(ctx, admin):
    auth.authenticate(ctx, "Admin", "AdminPass1")
    with pytest.raises(AuditTrailReadOnly):
        with ctx.db.session() as session:
            session.scalars(select(AuditEntry)).first().summary = "nothing happened"
    with pytest.raises(AuditTrailReadOnly):
        with ctx.db.session() as session:
            session.delete(session.scalars(select(AuditEntry)).first())
    with pytest.raises(AuditTrailReadOnly):
        with ctx.db.session() as session:
            session.execute(update(AuditEntry).values(summary="x"))
    with pytest.raises(AuditTrailReadOnly):
        with ctx.db.session() as session:
            session.execute(delete(AuditEntry))
    assert audit_log.search(ctx, admin).rows[0].summary == "logged in"
    assert not any(hasattr(audit_log, name) for name in ("delete", "update", "purge"))


def test_every_system_management_action_is_found_in_the_trail(ctx, admin):
    from stron_tui.services import roles

    clerk = users.create_user(ctx, admin, user_code="clerk", role="OnlyVending")
    for _ in range(5):
        try:
            auth.authenticate(ctx, "clerk", "wrong-pass")
        except Exception:
            pass
    users.unlock_user(ctx, admin, clerk.id)
    actor = auth.authenticate(ctx, "clerk", "123456")
    auth.change_own_password(ctx, actor, "123456", "Clerk-pass-1")
    auth.change_own_password(ctx, actor, "123456", "Pay-pass-1", kind="payment")
    auth.logout(ctx, actor)
    users.update_user(ctx, admin, clerk.id, name="Clerk", phone="", role="OnlyVending")
    users.set_enabled(ctx, admin, clerk.id, False)
    users.set_enabled(ctx, admin, clerk.id, True)
    users.reset_password(ctx, admin, clerk.id)
    users.reset_password(ctx, admin, clerk.id, kind="payment")
    role = roles.create_role(ctx, admin, name="Temp", permissions=["reports.view"])
    roles.update_role(ctx, admin, role.id, permissions=["reports.view", "reports.export"])
    roles.delete_role(ctx, admin, role.id)
    audit_log.export_xlsx(ctx, admin)
    found = set()
    page = audit_log.search(ctx, admin, limit=10)
    while True:
        found |= {row.action for row in page.rows}
        if not page.has_more:
            break
        page = audit_log.search(ctx, admin, after=page.next_key, limit=10)
    assert {"user.create", "login_failed", "lockout", "user.unlock", "login", "password_changed",
            "payment_password_changed", "logout", "user.update", "user.disable", "user.enable",
            "user.password_reset", "user.payment_password_reset", "role.create", "role.update", "role.delete",
            "audit.export"} <= found
