"""Management tokens (Exception Handling): clear tamper, clear credit, limits, key change.

Each is issued like a sale: one transaction under the meter's row lock, a
request id for safe retries, a receipt, a record and an audit entry. Key
change tokens the meter still needs come first on the same receipt.
"""

from __future__ import annotations

from dataclasses import dataclass

import tokencore
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stron_tui.db.models import Account, ManagementToken, Meter, SalesStation
from stron_tui.db.queries import for_update
from stron_tui.errors import Conflict, NotFound, ValidationError
from stron_tui.services import audit, tokens
from stron_tui.services.clock import local_date, utcnow
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.services.receipts import Receipt, management_receipt
from stron_tui.services.vending import REQUEST_ID, _validate_meter_number

# kind -> (class 2 subclass, permission); key_change has no single subclass.
KINDS = {
    "clear_tamper": (5, "exceptions.clear_tamper"),
    "clear_credit": (1, "exceptions.clear_credit"),
    "set_power_limit": (0, "exceptions.power_limit"),
    "set_phase_unbalance": (6, "exceptions.phase_unbalance"),
    "key_change": (3, "exceptions.key_change"),
}
MAX_WATTS = 18_201_624  # the largest value a 16-bit STS amount field carries, in W


@dataclass(frozen=True)
class ManagementRequest:
    meter_number: str
    kind: str
    request_id: str
    reason: str = ""
    register: int | None = None  # clear credit: one register (credit subclass), None = all
    watts: int | None = None  # power limits


def _field_for(request: ManagementRequest) -> tuple[int, int | None]:
    """(16-bit field, register) for the token, validating the operator's input."""
    if request.kind == "clear_tamper":
        return 0, None
    if request.kind == "clear_credit":
        if request.register is None:
            return tokencore.ALL_REGISTERS, None
        if not 0 <= request.register <= 7:
            raise ValidationError("A credit register is 0 (electricity) to 7; leave it empty for all.",
                                  field="register")
        return request.register, request.register
    if request.kind in ("set_power_limit", "set_phase_unbalance"):
        if request.watts is None or request.watts <= 0:
            raise ValidationError("Enter the limit in watts (more than zero).", field="watts")
        if request.watts > MAX_WATTS:
            raise ValidationError(f"A power limit can be at most {MAX_WATTS} W.", field="watts")
        return tokencore.encode_power(request.watts), None
    raise ValidationError(f"Unknown management token {request.kind!r}.", field="kind")


def _existing(ctx: AppContext, session: Session, request: ManagementRequest, number: str) -> Receipt | None:
    row = session.scalar(select(ManagementToken).where(ManagementToken.request_id == request.request_id))
    if row is None:
        return None
    if row.meter_number != number or row.kind != request.kind:
        raise Conflict(f"Request id {request.request_id} was already used for a different token "
                       f"(receipt {row.receipt_number}).")
    return management_receipt(ctx, session, row)


def issue(ctx: AppContext, actor: Actor, request: ManagementRequest) -> Receipt:
    """Issue a management token; returns its receipt after commit (retries return the same)."""
    if request.kind not in KINDS:
        raise ValidationError(f"Unknown management token {request.kind!r}.", field="kind")
    subclass, permission = KINDS[request.kind]
    actor.require(permission)
    if not REQUEST_ID.match(request.request_id or ""):
        raise ValidationError("Each token needs a request id of 8 to 64 letters, digits or . _ : -.",
                              field="request_id")
    number = _validate_meter_number(request.meter_number)
    reason = " ".join(request.reason.split())[:200]
    if request.kind in ("clear_tamper", "clear_credit") and not reason:
        raise ValidationError("Give the reason for this token (it goes on the record).", field="reason")
    field_value, register = (None, None) if request.kind == "key_change" else _field_for(request)
    try:
        return _issue_once(ctx, actor, request, number, subclass, field_value, register, reason)
    except IntegrityError:
        with ctx.db.read_session() as session:
            earlier = _existing(ctx, session, request, number)
        if earlier is None:
            raise
        return earlier


def _issue_once(ctx, actor, request, number, subclass, field_value, register, reason) -> Receipt:
    with ctx.db.session() as session:
        meter = session.scalar(for_update(select(Meter).where(Meter.meter_number == number), Meter))
        if meter is None:
            raise NotFound(f"There is no meter {number} in the Meter Library.")
        earlier = _existing(ctx, session, request, number)
        if earlier is not None:
            return earlier
        account = session.scalar(select(Account).where(Account.meter_id == meter.id, Account.status == "open"))
        station_id = actor.station_id or (account.station_id if account else None)
        if station_id is None:
            raise ValidationError(f"Meter {number} has no open account and you have no sales station; "
                                  "the token needs a station for its receipt.", field="meter")
        station = session.get(SalesStation, station_id)
        now = utcnow()
        state = tokens.prepare_meter_key(ctx, session, meter, now, force_key_change=request.kind == "key_change")
        if request.kind == "key_change":
            token_text, tid = " ".join(state.key_change_tokens), None
            key_change_text = ""
        else:
            tid = tokens.next_tid(state, now)
            issued = tokencore.management_token(state.cipher, state.key_data, subclass, field_value, tid)
            token_text = issued.token
            key_change_text = " ".join(state.key_change_tokens)
        tokens.commit_meter_key(meter, state, tid, now)
        row = ManagementToken(
            transaction_number=f"~{request.request_id}"[:24], receipt_number=f"~{request.request_id}"[:24],
            request_id=request.request_id, created_at=now, business_date=local_date(now, ctx.settings.zone),
            source=actor.source, operator_id=actor.user_id, api_account_id=actor.api_account_id,
            station_id=station.id, district_id=station.district_id,
            account_id=account.id if account else None, customer_id=account.customer_id if account else None,
            meter_id=meter.id, meter_number=meter.meter_number, kind=request.kind, subclass=subclass,
            field_value=field_value, register=register, reason=reason, token=token_text, tid=tid,
            key_change_tokens=key_change_text,
        )
        session.add(row)
        session.flush()
        row.transaction_number = f"M{row.id:010d}"
        row.receipt_number = f"{station.code}-M{row.id:07d}"[:24]
        audit.record(session, actor, f"token.{request.kind}", entity="management_token",
                     entity_id=row.transaction_number,
                     summary=f"{request.kind.replace('_', ' ')} token for meter {meter.meter_number}",
                     detail={"receipt": row.receipt_number, "reason": reason, "register": register,
                             "watts": request.watts, "tid": tid})
        session.flush()
        return management_receipt(ctx, session, row)
