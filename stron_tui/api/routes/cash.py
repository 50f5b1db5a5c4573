"""A partner's cash side: its daily settlement, its day's transactions by its own reference, its float."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from stron_tui.api.deps import ApiActor, Ctx
from stron_tui.api.schemas import plain
from stron_tui.errors import ValidationError
from stron_tui.services import api_accounts, settlement, vendor_floats

router = APIRouter(tags=["settlement"])

Day = Annotated[str, Query(max_length=10, description="business date, YYYY-MM-DD")]


def _own_name(ctx, actor) -> str:
    if actor.api_account_id is None:
        raise ValidationError("Settlement over the API is for API accounts.", field="account")
    return api_accounts.own_name(ctx, actor)


@router.get("/settlement", summary="The account's settlement for one business day: every sale and reversal, "
                                   "totals and a SHA-256 checksum (format=csv for the file)")
def daily_settlement(ctx: Ctx, actor: ApiActor, date: Day,
                     format: Annotated[str, Query(pattern="^(json|csv)$")] = "json"):
    result = settlement.settlement(ctx, actor, _own_name(ctx, actor), date)
    if format == "csv":
        return PlainTextResponse(settlement.csv_text(result), media_type="text/csv")
    return plain(result)


@router.get("/transactions", summary="The account's transactions of one business day, by its own reference")
def transactions(ctx: Ctx, actor: ApiActor, date: Day,
                 reference: Annotated[str, Query(max_length=64, description="the request id you sent")] = ""):
    return {"items": plain(settlement.transactions_by_reference(ctx, actor, date, reference))}


@router.get("/float", summary="The account's vendor float: balance, credit limit, commission rate")
def own_float(ctx: Ctx, actor: ApiActor):
    return plain(vendor_floats.float_of(ctx, actor, api_account=_own_name(ctx, actor)))


@router.get("/float/statement", summary="The account's float statement for business days date_from..date_to")
def own_statement(ctx: Ctx, actor: ApiActor, date_from: Day, date_to: Day):
    return plain(vendor_floats.statement(ctx, actor, api_account=_own_name(ctx, actor), date_from=date_from,
                                         date_to=date_to))
