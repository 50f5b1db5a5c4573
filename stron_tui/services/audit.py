"""The audit trail: written in the same transaction as the change it records.

Append-only: the application never updates or deletes an audit row. The ORM
hooks at the end of this module refuse any attempt, so a slip in some service
fails loudly instead of quietly rewriting history.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from stron_tui.db.models import AuditEntry
from stron_tui.errors import StronError
from stron_tui.domain.clock import utcnow
from stron_tui.services.permissions import Actor
from stron_tui.domain.text import clean, escape_for_json

# Field names whose values never enter the trail.
SECRET_FIELDS = {"password", "password_hash", "payment_password", "payment_password_hash", "vending_key",
                 "key_hash", "secret", "api_key", "nonce", "ciphertext"}


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return "<bytes>"
    return value


def scrub(values: dict | None) -> dict:
    return {key: ("***" if key in SECRET_FIELDS else _plain(value)) for key, value in (values or {}).items()}


def changes(before: dict, after: dict) -> dict:
    """Only the fields that changed, as {field: [before, after]}."""
    keys = sorted(set(before) | set(after))
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))] if key not in SECRET_FIELDS else ["***", "***"]
        for key in keys
        if before.get(key) != after.get(key)
    }


def entry_values(
    actor: Actor | None,
    action: str,
    *,
    entity: str = "",
    entity_id: object = "",
    summary: str = "",
    detail: dict | None = None,
    user_code: str | None = None,
    source: str | None = None,
    remote: str | None = None,
    occurred_at: datetime | None = None,
) -> dict:
    """The columns of one audit row (for callers that insert it with a Core statement): the one builder,
    so every row is cleaned, cut to its column and free of secrets the same way."""
    return dict(
        occurred_at=occurred_at or utcnow(),
        source=source or (actor.source if actor else "tui"),
        user_id=actor.user_id if actor else None,
        # A failed login records the user ID as typed: the trail keeps it without control characters.
        user_code=clean(user_code if user_code is not None else (actor.user_code if actor else ""))[:40],
        api_account_id=actor.api_account_id if actor else None,
        remote=clean(remote if remote is not None else (actor.remote if actor else ""))[:80],
        action=action,
        entity=entity,
        entity_id=clean(str(entity_id))[:40],
        summary=clean(summary)[:400],
        detail=escape_for_json(json.dumps(detail, default=_plain, ensure_ascii=False, sort_keys=True)) if detail else "",
    )


def entry_rows(actor: Actor, action: str, entity: str, items: list[tuple[object, str, dict]]) -> list[dict]:
    """The audit rows of a batch, (entity id, summary, detail) each, at one instant: for one executemany insert."""
    now = utcnow()
    return [entry_values(actor, action, entity=entity, entity_id=entity_id, summary=summary, detail=detail,
                         occurred_at=now)
            for entity_id, summary, detail in items]


def record(session: Session, actor: Actor | None, action: str, **fields) -> AuditEntry:
    """Add an audit row to the session; `fields` as for entry_values."""
    entry = AuditEntry(**entry_values(actor, action, **fields))
    session.add(entry)
    return entry


class AuditTrailReadOnly(StronError):
    code = "audit_read_only"


_AUDIT_TABLE = AuditEntry.__table__


@event.listens_for(Session, "before_flush")
def _refuse_changed_audit_rows(session: Session, _flush_context, _instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEntry):
            raise AuditTrailReadOnly("Audit entries can't be deleted.")
    for obj in session.dirty:
        if isinstance(obj, AuditEntry) and session.is_modified(obj):
            raise AuditTrailReadOnly("Audit entries can't be changed.")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_audit_changes(state: ORMExecuteState) -> None:
    table = getattr(state.statement, "table", None)
    if (state.is_update or state.is_delete) and getattr(table, "name", None) == _AUDIT_TABLE.name:
        raise AuditTrailReadOnly("Audit entries can't be changed or deleted.")
