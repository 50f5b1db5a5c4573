"""Read-only look-ups the integration API needs beyond the library and report services.

A meter's recent sales and management tokens, newest first, keyset-paged on
the row id (ids grow with time), limited to the records the caller may see
(services/reports/scope.py: an API account sees its own, an operator their station's).
A reversed sale is listed with its reversal's number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from stron_tui.db.models import ApiAccount, ManagementToken, Meter, Reversal, User, Vend
from stron_tui.domain.meters import meter_number as valid_meter_number
from stron_tui.domain.operators import operator_label
from stron_tui.errors import NotFound
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.reports.scope import visible_to

HISTORY_PERMISSIONS = ("topup.vend", "basedata.view", "reports.view", "exceptions.records")
MAX_PAGE = 200


@dataclass(frozen=True)
class MeterVend:
    id: int
    created_at: datetime
    transaction_number: str
    receipt_number: str
    source: str
    operator: str
    payment_type: str
    paid_amount: Decimal
    paid_currency: str
    gross_amount: Decimal
    currency: str
    units: Decimal
    unit: str
    token: str
    key_change_tokens: tuple[str, ...]
    reversal_number: str = ""  # set when a supervisor reversed the sale (the token stays issued)


@dataclass(frozen=True)
class MeterToken:
    id: int
    created_at: datetime
    transaction_number: str
    receipt_number: str
    kind: str
    source: str
    operator: str
    reason: str
    token: str
    key_change_tokens: tuple[str, ...]


@dataclass(frozen=True)
class HistoryPage:
    rows: list
    next_after: int | None


def _require_history(actor: Actor) -> None:
    if not any(actor.can(code) for code in HISTORY_PERMISSIONS):
        actor.require("basedata.view")


def _meter_id(session, meter_number: str) -> int:
    number = valid_meter_number(meter_number)
    meter_id = session.scalar(select(Meter.id).where(Meter.meter_number == number))
    if meter_id is None:
        raise NotFound(f"There is no meter {number} in the Meter Library.")
    return meter_id


def _limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_PAGE))


def _with_names(query):
    """A sale's operator or API account, and its reversal if it was reversed."""
    return (query.outerjoin(User, User.id == Vend.operator_id)
            .outerjoin(ApiAccount, ApiAccount.id == Vend.api_account_id)
            .outerjoin(Reversal, Reversal.vend_id == Vend.id))


def _meter_vend(v: Vend, user_code: str | None, api_name: str | None, reversal_number: str | None) -> MeterVend:
    return MeterVend(v.id, v.created_at, v.transaction_number, v.receipt_number, v.source,
                     operator_label(user_code, api_name), v.payment_type, v.paid_amount, v.paid_currency, v.gross_amount,
                     v.currency, v.units, v.unit, v.token, tuple(t for t in v.key_change_tokens.split() if t),
                     reversal_number or "")


def meter_vends(ctx: AppContext, actor: Actor, meter_number: str, *, after: int | None = None,
                limit: int = 20) -> HistoryPage:
    """The meter's sales, newest first; `after` is the last id of the previous page."""
    _require_history(actor)
    limit = _limit(limit)
    with ctx.db.read_session() as session:
        meter_id = _meter_id(session, meter_number)
        query = (_with_names(select(Vend, User.user_code, ApiAccount.name, Reversal.reversal_number))
                 .where(Vend.meter_id == meter_id, visible_to(actor, Vend)))
        if after is not None:
            query = query.where(Vend.id < after)
        rows = session.execute(query.order_by(Vend.id.desc()).limit(limit + 1)).all()
    found = [_meter_vend(*row) for row in rows[:limit]]
    return HistoryPage(found, found[-1].id if len(rows) > limit else None)


def meter_tokens(ctx: AppContext, actor: Actor, meter_number: str, *, after: int | None = None,
                 limit: int = 20) -> HistoryPage:
    """The meter's management tokens, newest first; `after` is the last id of the previous page."""
    _require_history(actor)
    limit = _limit(limit)
    with ctx.db.read_session() as session:
        meter_id = _meter_id(session, meter_number)
        query = (select(ManagementToken, User.user_code, ApiAccount.name)
                 .outerjoin(User, User.id == ManagementToken.operator_id)
                 .outerjoin(ApiAccount, ApiAccount.id == ManagementToken.api_account_id)
                 .where(ManagementToken.meter_id == meter_id, visible_to(actor, ManagementToken)))
        if after is not None:
            query = query.where(ManagementToken.id < after)
        rows = session.execute(query.order_by(ManagementToken.id.desc()).limit(limit + 1)).all()
    found = [
        MeterToken(t.id, t.created_at, t.transaction_number, t.receipt_number, t.kind, t.source,
                   operator_label(code, api), t.reason, t.token, tuple(k for k in t.key_change_tokens.split() if k))
        for t, code, api in rows[:limit]
    ]
    return HistoryPage(found, found[-1].id if len(rows) > limit else None)


def customer_last_vends(ctx: AppContext, actor: Actor, customer_code: str, limit: int = 3) -> list[MeterVend]:
    """A customer's last sales over all their meters, newest first (a partner's USSD / SMS "my last tokens"),
    scoped like every history: the caller's own sales unless its role sees all stations."""
    from stron_tui.db.models import Customer
    from stron_tui.errors import NotFound
    from stron_tui.domain.text import fold

    _require_history(actor)
    with ctx.db.read_session() as session:
        customer_id = session.scalar(select(Customer.id).where(Customer.code_key == fold(customer_code.strip())))
        if customer_id is None:
            raise NotFound(f"There is no customer {customer_code.strip()[:40]}.")
        rows = session.execute(
            _with_names(select(Vend, User.user_code, ApiAccount.name, Reversal.reversal_number))
            .where(Vend.customer_id == customer_id, visible_to(actor, Vend))
            .order_by(Vend.id.desc()).limit(max(1, min(limit, 10)))).all()
    return [_meter_vend(*row) for row in rows]


def currency_minor_units(ctx: AppContext) -> dict[str, int]:
    """Decimal places per currency code, for showing stored amounts (kept with four places) as money."""
    from stron_tui.db.models import Currency

    with ctx.db.read_session() as session:
        return dict(session.execute(select(Currency.code, Currency.minor_unit)).all())
