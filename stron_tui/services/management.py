"""Management tokens (Exception Handling): clear tamper, clear credit, limits, key change.

Each is issued like a sale: one transaction under the meter's row lock, a
request id for safe retries, a receipt, a record and an audit entry. Key
change tokens the meter still needs come first on the same receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import tokencore
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from stron_tui.db.models import ApiAccount, Customer, ManagementToken, User
from stron_tui.db.queries import prefix_match
from stron_tui.errors import NotFound, ValidationError
from stron_tui.services import audit, auth, tokens
from stron_tui.exports.files import export_path
from stron_tui.exports.tables import Column as XColumn
from stron_tui.exports.tables import write_xlsx
from stron_tui.domain.clock import local_text
from stron_tui.services.context import AppContext
from stron_tui.services.management_kinds import KINDS, RECORD_KINDS, token_kind
from stron_tui.services.permissions import Actor
from stron_tui.domain.receipt import Receipt
from stron_tui.domain.meters import meter_number as valid_meter_number
from stron_tui.domain.operators import operator_label
from stron_tui.services.receipts import build_management_receipt, management_receipt
from stron_tui.services.reports.scope import visible_to
from stron_tui.domain.text import clean, fold
from stron_tui.services.vending import (
    IssuedTokens,
    SaleFacts,
    actor_label,
    check_request_id,
    issue_token,
    key_change_pending,
    load_sale_facts,
)

@dataclass(frozen=True)
class ManagementRequest:
    meter_number: str
    kind: str
    request_id: str
    reason: str = ""
    register: int | None = None  # clear credit: one register (credit subclass), None = all
    watts: int | None = None  # power limits
    send_token: bool = False  # also send the token to the customer's consented phone / mailbox


@dataclass(frozen=True)
class ManagementOrder:
    """A management token for vending.issue_token (the one issuing function)."""

    request: ManagementRequest
    meter_number: str
    subclass: int
    field_value: int | None
    register: int | None
    reason: str
    what = "token"
    model = ManagementToken
    needs_open_shift = False  # supervisors' work, counted in a shift's report but not tied to a till

    @property
    def permission(self) -> str:
        return KINDS[self.request.kind].permission

    @property
    def request_id(self) -> str:
        return self.request.request_id

    @property
    def force_key_change(self) -> bool:
        return KINDS[self.request.kind].key_changes_only

    def facts_options(self) -> dict:
        return {}

    def plan(self, session: Session, facts: SaleFacts, now) -> None:
        refusal = unsupported_reason(self.request.kind, facts.meter_number, facts.meter_type, facts.utility)
        if refusal:
            raise ValidationError(refusal, field="meter")
        if facts.station_id is None:
            raise ValidationError(f"Meter {facts.meter_number} has no open account and you have no sales station; "
                                  "the token needs a station for its receipt.", field="meter")

    def tokens(self, state: tokens.KeyState, facts: SaleFacts, plan, now) -> IssuedTokens:
        if KINDS[self.request.kind].key_changes_only:
            return IssuedTokens(" ".join(state.key_change_tokens), None, "")
        tid = tokens.next_tid(state, now)
        issued = tokencore.management_token(state.cipher, state.key_data, self.subclass, self.field_value, tid)
        return IssuedTokens(issued.token, tid, " ".join(state.key_change_tokens))

    def columns(self, facts: SaleFacts, plan, issued: IssuedTokens) -> dict:
        return dict(kind=self.request.kind, subclass=self.subclass, field_value=self.field_value,
                    register=self.register, reason=self.reason)

    def numbers(self, row_id: int, station_code: str) -> tuple[str, str]:
        return f"M{row_id:010d}", f"{station_code}-M{row_id:07d}"[:24]

    def audit(self, facts: SaleFacts, plan, row: dict) -> dict:
        kind = self.request.kind
        return dict(action=f"token.{kind}", entity="management_token", entity_id=row["transaction_number"],
                    summary=f"{kind.replace('_', ' ')} token for meter {facts.meter_number}",
                    detail={"receipt": row["receipt_number"], "reason": self.reason, "register": self.register,
                            "watts": self.request.watts, "tid": row["tid"]})

    def receipt(self, ctx: AppContext, actor: Actor, facts: SaleFacts, plan, row: dict) -> Receipt:
        return build_management_receipt(
            ctx, SimpleNamespace(**row), station=facts.station, customer_code=facts.customer_code or "",
            customer_name=facts.customer_name or "", account_number=facts.account_number or "",
            operator=actor_label(actor))

    def after_record(self, session: Session, facts: SaleFacts, row: dict) -> None:
        """Management tokens keep no sales totals."""

    def same_request(self, row: ManagementToken) -> bool:
        return (row.meter_number, row.kind, row.field_value, row.register, row.reason) == (
            self.meter_number, self.request.kind, self.field_value, self.register, self.reason)

    def recorded_receipt(self, ctx: AppContext, session: Session, row: ManagementToken) -> Receipt:
        return management_receipt(ctx, session, row)


def unsupported_reason(kind: str, meter_number: str, meter_type: str, utility: str) -> str | None:
    """Why the meter can't take this kind of token (None when it can): the kind's `refusal` in KINDS.

    Power limits are for electricity meters; a phase unbalance limit only
    for three-phase ones. Clear tamper, clear credit and key change tokens
    are understood by every STS meter.
    """
    return token_kind(kind).refusal(meter_number, meter_type, utility)


def issue(ctx: AppContext, actor: Actor, request: ManagementRequest, *,
          payment_password: str | None = None) -> Receipt:
    """Issue a management token; returns its receipt after commit (retries return the same).

    Operators confirm with their payment password, as for a sale (wrong ones
    count toward the lockout); API accounts authenticate with their key instead.
    """
    kind = token_kind(request.kind)
    actor.require(kind.permission)
    check_request_id(request.request_id, "token")
    number = valid_meter_number(request.meter_number, field="meter")
    reason = clean(request.reason)[:200]  # control characters never reach a screen or a printer
    if kind.reason_required and not reason:
        raise ValidationError("Give the reason for this token (it goes on the record).", field="reason")
    field_value, register = kind.field_value(request)
    if actor.api_account_id is None:
        auth.confirm_payment(ctx, actor, payment_password or "")
    return issue_token(ctx, actor, ManagementOrder(request, number, kind.subclass, field_value, register, reason))


# Looking a meter up and the clear tamper / clear credit records ------------------------------------------

RECORDS_PAGE = 50


@dataclass(frozen=True)
class MeterFacts:
    """What the operator checks before issuing a management token."""

    meter_number: str
    meter_type: str
    meter_status: str
    utility: str
    key_data: str  # "SGC 600100 TI 1 KRN 1 KT 2 EA 07 BD 2014 KEN 255"
    key_change_pending: bool
    customer_code: str = ""
    customer_name: str = ""
    account_number: str = ""
    tariff_name: str = ""


def _require_exceptions(actor: Actor) -> None:
    if not actor.can_use_module("exceptions"):
        actor.require("exceptions.records")  # raises PermissionDenied naming a permission the role lacks


def find_meter(ctx: AppContext, actor: Actor, meter_number: str) -> MeterFacts:
    """The meter, its open account's customer and tariff, and its key data (read only)."""
    _require_exceptions(actor)
    number = valid_meter_number(meter_number, field="meter")
    with ctx.db.read_session() as session:
        facts = load_sale_facts(session, number, actor, lock=False)
    configured = tokens.configured_key_data(facts)
    key_text = (f"SGC {configured.sgc} TI {configured.ti} KRN {configured.krn} KT {configured.kt} "
                f"EA {configured.ea} BD {configured.base_date} KEN {configured.ken}")
    account = () if facts.account_id is None else (
        facts.customer_code, facts.customer_name, facts.account_number, facts.tariff.name)
    return MeterFacts(facts.meter_number, facts.meter_type, facts.status, facts.utility, key_text,
                      key_change_pending(facts), *account)


@dataclass(frozen=True)
class TokenRecord:
    id: int
    receipt_number: str
    customer_code: str
    meter_number: str
    operator: str
    token: str
    local_time: str  # station time zone
    reason: str
    detail: str


@dataclass(frozen=True)
class RecordPage:
    rows: list[TokenRecord]
    more: bool  # more rows further in the direction fetched
    first_key: int | None
    last_key: int | None


def _records_query(actor: Actor, kind: str, text: str):
    if kind not in RECORD_KINDS:
        raise ValidationError(f"There are no records for {kind!r}.", field="kind")
    query = (
        select(ManagementToken, Customer.code, User.user_code, ApiAccount.name)
        .outerjoin(Customer, Customer.id == ManagementToken.customer_id)
        .outerjoin(User, User.id == ManagementToken.operator_id)
        .outerjoin(ApiAccount, ApiAccount.id == ManagementToken.api_account_id)
        .where(ManagementToken.kind == kind, visible_to(actor, ManagementToken))
    )
    text = text.strip()
    if text:
        digits = text.replace(" ", "")
        conditions = [prefix_match(Customer.code_key, fold(text))]
        if digits.isdigit():
            conditions.append(prefix_match(ManagementToken.meter_number, digits))
        query = query.where(or_(*conditions))
    return query


def _record(row, zone) -> TokenRecord:
    token_row, customer_code, user_code, api_name = row
    operator = operator_label(user_code, api_name)
    tokens_text = " ".join(t for t in (token_row.key_change_tokens, token_row.token) if t)
    return TokenRecord(token_row.id, token_row.receipt_number, customer_code or "", token_row.meter_number,
                       operator, tokens_text, local_text(token_row.created_at, zone), token_row.reason,
                       KINDS[token_row.kind].record_detail(token_row))


def records(ctx: AppContext, actor: Actor, kind: str, text: str = "", *, after: int | None = None,
            backwards: bool = False, limit: int = RECORDS_PAGE) -> RecordPage:
    """Clear tamper or clear credit records, newest first, by meter number prefix or customer ID prefix.

    Keyset pages on the id (ids grow with time): `after` is the last id shown
    (or, with `backwards`, the first), so paging stays fast however many rows.
    """
    actor.require("exceptions.records")
    query = _records_query(actor, kind, text)
    if after is not None:
        query = query.where(ManagementToken.id > after if backwards else ManagementToken.id < after)
    order = ManagementToken.id.asc() if backwards else ManagementToken.id.desc()
    with ctx.db.read_session() as session:
        rows = session.execute(query.order_by(order).limit(limit + 1)).all()
    more = len(rows) > limit
    found = [_record(row, ctx.settings.zone) for row in rows[:limit]]
    if backwards:
        found.reverse()
    return RecordPage(found, more, found[0].id if found else None, found[-1].id if found else None)


def record_receipt(ctx: AppContext, actor: Actor, receipt_number: str) -> Receipt:
    """The receipt behind a clear tamper / clear credit record (shown, not reprinted)."""
    actor.require("exceptions.records")
    with ctx.db.read_session() as session:
        row = session.scalar(select(ManagementToken).where(ManagementToken.receipt_number == receipt_number,
                                                           visible_to(actor, ManagementToken)))
        if row is None:
            raise NotFound(f"There is no management token receipt {receipt_number}.")
        return management_receipt(ctx, session, row)


RECORD_COLUMNS = (
    XColumn("Customer ID", 14), XColumn("Meter number", 14), XColumn("Operator", 12), XColumn("Token", 50),
    XColumn("Time", 17), XColumn("Reason", 40), XColumn("Register", 14), XColumn("Receipt", 16),
)


@dataclass(frozen=True)
class RecordExport:
    path: Path
    rows: int


def export_records(ctx: AppContext, actor: Actor, kind: str, text: str = "") -> RecordExport:
    """The records matching the search, newest first, to an Excel file in the operator's export directory."""
    actor.require("exceptions.records")
    query = _records_query(actor, kind, text).order_by(ManagementToken.id.desc())
    title = KINDS[kind].record_title
    path = export_path(ctx.settings, title.lower().replace(" ", "-"), "xlsx", user_id=actor.user_id)
    zone = ctx.settings.zone
    with ctx.db.read_session() as session:
        result = session.execute(query.execution_options(yield_per=2000))
        lines = ((r.customer_code, r.meter_number, r.operator, r.token, r.local_time, r.reason, r.detail,
                  r.receipt_number) for r in (_record(row, zone) for row in result))
        filters = [f"Search: {text.strip()}"] if text.strip() else []
        count = write_xlsx(path, RECORD_COLUMNS, lines, sheet=title, title_lines=[title, *filters])
    with ctx.db.session() as session:
        audit.record(session, actor, "report.export", entity="report", entity_id=kind + "_records",
                     summary=f"exported {title} as Excel ({count} rows) to {path.name}",
                     detail={"report": kind + "_records", "format": "xlsx", "rows": count, "path": str(path),
                             "filters": filters})
    return RecordExport(path, count)
