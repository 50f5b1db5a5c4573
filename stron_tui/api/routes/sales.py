"""Selling credit, management tokens and receipts: the Top-up Center and Exception Handling over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from stron_tui.api.deps import ApiActor, Ctx, IdempotencyKey, MinorUnits
from stron_tui.api.schemas import (
    ClearCreditIn,
    ClearTamperIn,
    ManagementIn,
    QuoteOut,
    ReceiptOut,
    SaleIn,
    MeterVendOut,
    WhoAmI,
    money,
    plain,
    units_text,
)
from stron_tui.domain.tokens import grouped
from stron_tui.services import api_queries, management, messages, receipts, vending

router = APIRouter(tags=["sales and tokens"])

MeterNumber = Annotated[str, Path(min_length=1, max_length=20, description="11 or 13 digits")]
ReceiptNumber = Annotated[str, Path(min_length=1, max_length=40, description="receipt or transaction number")]


def _request(body: SaleIn, request_id: str = "") -> vending.VendRequest:
    return vending.VendRequest(meter_number=body.meter_number, mode=body.mode, value=body.value,
                               currency=body.currency or None, payment_type=body.payment_type,
                               request_id=request_id, quote_id=body.quote_id or "", send_token=body.send_token)


@router.get("/me", response_model=WhoAmI, summary="The calling API account: its permissions and rate limit")
def who_am_i(actor: ApiActor):
    return WhoAmI(api_account_id=actor.api_account_id, name=actor.name, station_id=actor.station_id,
                  permissions=sorted(actor.permissions),
                  rate_limit_per_minute=actor.extra.get("rate_limit_per_minute", 0))


@router.post("/vends/preview", response_model=QuoteOut,
             summary="The breakdown of a sale by amount or by units, as the Top-up screen shows it; records nothing")
def preview_vend(ctx: Ctx, actor: ApiActor, body: SaleIn):
    return QuoteOut.of(vending.preview(ctx, actor, _request(body)))


@router.post("/vends", response_model=ReceiptOut,
             summary="Sell credit: returns the receipt with the token. A retry with the same Idempotency-Key "
                     "returns the same receipt, never a second token")
async def vend(ctx: Ctx, actor: ApiActor, body: SaleIn, idempotency_key: IdempotencyKey, minor: MinorUnits):
    # The busiest route: async, so only the sale itself goes to the thread pool (a sync route's response
    # is also validated there, one more hop per request).
    receipt = await run_in_threadpool(vending.vend, ctx, actor, _request(body, idempotency_key))
    return ReceiptOut.of(receipt, minor)


def _issue(ctx, actor, meter_number: str, kind: str, request_id: str, **fields) -> ReceiptOut:
    request = management.ManagementRequest(meter_number=meter_number, kind=kind, request_id=request_id, **fields)
    return ReceiptOut.of(management.issue(ctx, actor, request), {})


@router.post("/meters/{meter_number}/clear-tamper", response_model=ReceiptOut, summary="Issue a clear tamper token")
def clear_tamper(ctx: Ctx, actor: ApiActor, meter_number: MeterNumber, body: ClearTamperIn,
                 idempotency_key: IdempotencyKey):
    return _issue(ctx, actor, meter_number, "clear_tamper", idempotency_key, reason=body.reason)


@router.post("/meters/{meter_number}/clear-credit", response_model=ReceiptOut,
             summary="Issue a clear credit token (one register, or all)")
def clear_credit(ctx: Ctx, actor: ApiActor, meter_number: MeterNumber, body: ClearCreditIn,
                 idempotency_key: IdempotencyKey):
    return _issue(ctx, actor, meter_number, "clear_credit", idempotency_key, reason=body.reason,
                  register=body.credit_register)


@router.post("/meters/{meter_number}/management-tokens", response_model=ReceiptOut,
             summary="Issue any management token the account may: clear tamper or credit, power or phase "
                     "unbalance limit, key change")
def management_token(ctx: Ctx, actor: ApiActor, meter_number: MeterNumber, body: ManagementIn,
                     idempotency_key: IdempotencyKey):
    return _issue(ctx, actor, meter_number, body.kind, idempotency_key, reason=body.reason, **body.kind_fields())


@router.get("/receipts/{number}", response_model=ReceiptOut,
            summary="A past receipt by receipt or transaction number (a look-up, not a reprint)")
def receipt(ctx: Ctx, actor: ApiActor, number: ReceiptNumber, minor: MinorUnits):
    return ReceiptOut.of(receipts.lookup_receipt(ctx, actor, number), minor)


class SentOut(BaseModel):
    queued: int = Field(description="messages queued (one per consented channel)")


@router.post("/receipts/{number}/send", response_model=SentOut,
             summary="Send a past token again by SMS / e-mail to its customer's consented phone or mailbox")
def send_receipt(ctx: Ctx, actor: ApiActor, number: ReceiptNumber):
    return SentOut(queued=messages.send_receipt(ctx, actor, number))


@router.get("/customers/{code}/last-tokens", response_model=list[MeterVendOut],
            summary="A customer's last three tokens over all their meters, newest first (for USSD / SMS "
                    "self-service), scoped like every history")
def customer_last_tokens(ctx: Ctx, actor: ApiActor, minor: MinorUnits,
                         code: Annotated[str, Path(min_length=1, max_length=60)]):
    return [MeterVendOut(**(plain(row) | {
        "token_grouped": grouped(row.token), "units": units_text(row.units),
        "paid_amount": money(row.paid_amount, row.paid_currency, minor),
        "gross_amount": money(row.gross_amount, row.currency, minor)}))
        for row in api_queries.customer_last_vends(ctx, actor, code)]
