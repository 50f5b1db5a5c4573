"""Customers, meters and accounts: by number or ID, search with paging, a meter's history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from stron_tui.api.deps import ApiActor, Ctx, MinorUnits, Pager
from stron_tui.api.schemas import (
    AccountDetailOut,
    AccountOut,
    AccountPage,
    CustomerOut,
    CustomerPage,
    MeterOut,
    MeterPage,
    MeterTokenOut,
    MeterTokenPage,
    MeterVendOut,
    MeterVendPage,
    money,
    plain,
    units_text,
)
from stron_tui.domain.tokens import grouped
from stron_tui.errors import NotFound
from stron_tui.services import accounts, api_queries, libraries

router = APIRouter(tags=["customers, meters, accounts"])

SearchText = Annotated[str, Query(max_length=100, description="search text, as in the Base Data search box")]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page")]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Key = Annotated[str, Path(min_length=1, max_length=60)]


def _search(ctx, actor, cursors, name: str, q: str, sort: str | None, limit: int, cursor: str | None):
    kind = f"{name}:{sort or ''}"
    page = libraries.search(ctx, actor, name, q, sort=sort, after=cursors.decode(kind, cursor), limit=limit)
    return [dict(record.values) | {"id": record.id} for record in page.rows], cursors.encode(kind, page.next_after)


def _by_key(ctx, actor, name: str, key: str) -> dict:
    record = libraries.find(ctx, actor, name, key)
    if record is None:
        raise NotFound(f"There is no {libraries.library(name).entity} {key.strip()}.")
    return dict(record.values) | {"id": record.id}


def _by_id(ctx, actor, name: str, record_id: int) -> dict:
    record = libraries.get(ctx, actor, name, record_id)
    return dict(record.values) | {"id": record.id}


@router.get("/customers", response_model=CustomerPage, summary="Search customers (name, customer ID, phone)")
def search_customers(ctx: Ctx, actor: ApiActor, cursors: Pager, q: SearchText = "",
                     sort: Annotated[str | None, Query(pattern="^(name|code)$")] = None, limit: Limit = 50,
                     cursor: Cursor = None):
    items, next_cursor = _search(ctx, actor, cursors, "customers", q, sort, limit, cursor)
    return CustomerPage(items=[CustomerOut(**item) for item in items], next_cursor=next_cursor)


@router.get("/customers/by-id/{record_id}", response_model=CustomerOut, summary="A customer by database ID")
def customer_by_id(ctx: Ctx, actor: ApiActor, record_id: RecordId):
    return CustomerOut(**_by_id(ctx, actor, "customers", record_id))


@router.get("/customers/{code}", response_model=CustomerOut, summary="A customer by customer ID (code)")
def customer_by_code(ctx: Ctx, actor: ApiActor, code: Key):
    return CustomerOut(**_by_key(ctx, actor, "customers", code))


@router.get("/meters", response_model=MeterPage, summary="Search meters (number prefix, SGC, type, status)")
def search_meters(ctx: Ctx, actor: ApiActor, cursors: Pager, q: SearchText = "",
                  sort: Annotated[str | None, Query(pattern="^(number|newest)$")] = None, limit: Limit = 50,
                  cursor: Cursor = None):
    items, next_cursor = _search(ctx, actor, cursors, "meters", q, sort, limit, cursor)
    return MeterPage(items=[MeterOut(**item) for item in items], next_cursor=next_cursor)


@router.get("/meters/by-id/{record_id}", response_model=MeterOut, summary="A meter by database ID")
def meter_by_id(ctx: Ctx, actor: ApiActor, record_id: RecordId):
    return MeterOut(**_by_id(ctx, actor, "meters", record_id))


@router.get("/meters/{meter_number}", response_model=MeterOut, summary="A meter by meter number")
def meter_by_number(ctx: Ctx, actor: ApiActor, meter_number: Key):
    return MeterOut(**_by_key(ctx, actor, "meters", meter_number.replace(" ", "")))


@router.get("/meters/{meter_number}/vends", response_model=MeterVendPage, summary="A meter's sales, newest first")
def meter_vends(ctx: Ctx, actor: ApiActor, cursors: Pager, minor: MinorUnits, meter_number: Key,
                limit: Annotated[int, Query(ge=1, le=200)] = 20, cursor: Cursor = None):
    after = cursors.decode("meter_vends", cursor)
    page = api_queries.meter_vends(ctx, actor, meter_number, after=after[0] if after else None, limit=limit)
    items = [MeterVendOut(**(plain(row) | {
        "token_grouped": grouped(row.token), "units": units_text(row.units),
        "paid_amount": money(row.paid_amount, row.paid_currency, minor),
        "gross_amount": money(row.gross_amount, row.currency, minor)})) for row in page.rows]
    return MeterVendPage(items=items, next_cursor=cursors.encode("meter_vends", page.next_after))


@router.get("/meters/{meter_number}/tokens", response_model=MeterTokenPage,
            summary="A meter's management tokens (clear tamper, clear credit, limits, key change), newest first")
def meter_tokens(ctx: Ctx, actor: ApiActor, cursors: Pager, meter_number: Key,
                 limit: Annotated[int, Query(ge=1, le=200)] = 20, cursor: Cursor = None):
    after = cursors.decode("meter_tokens", cursor)
    page = api_queries.meter_tokens(ctx, actor, meter_number, after=after[0] if after else None, limit=limit)
    items = []
    for row in page.rows:
        values = plain(row)
        tokens = row.token.split()
        values.pop("token")
        values.pop("id")
        items.append(MeterTokenOut(**values, tokens=tokens, tokens_grouped=[grouped(t) for t in tokens]))
    return MeterTokenPage(items=items, next_cursor=cursors.encode("meter_tokens", page.next_after))


@router.get("/accounts", response_model=AccountPage, summary="Search accounts (account number, meter, customer)")
def search_accounts(ctx: Ctx, actor: ApiActor, cursors: Pager, q: SearchText = "",
                    sort: Annotated[str | None, Query(pattern="^(number|newest)$")] = None, limit: Limit = 50,
                    cursor: Cursor = None):
    items, next_cursor = _search(ctx, actor, cursors, "accounts", q, sort, limit, cursor)
    return AccountPage(items=[AccountOut(**item) for item in items], next_cursor=next_cursor)


def _account_detail(ctx, actor, account_id: int, minor: dict) -> AccountDetailOut:
    view = accounts.account_view(ctx, actor, account_id)
    values = plain(view)
    for line, vend in zip(values["vends"], view.vends):
        line["token_grouped"] = grouped(line["token"])
        line["amount"] = money(vend.amount, vend.currency, minor)
        line["units"] = units_text(vend.units)
    return AccountDetailOut(**values)


@router.get("/accounts/by-id/{record_id}", response_model=AccountDetailOut,
            summary="An account by database ID, with customer, meter, tariff and recent tokens")
def account_by_id(ctx: Ctx, actor: ApiActor, minor: MinorUnits, record_id: RecordId):
    return _account_detail(ctx, actor, record_id, minor)


@router.get("/accounts/{account_number}", response_model=AccountDetailOut,
            summary="An account by account number, with customer, meter, tariff and recent tokens")
def account_by_number(ctx: Ctx, actor: ApiActor, minor: MinorUnits, account_number: Key):
    return _account_detail(ctx, actor, _by_key(ctx, actor, "accounts", account_number)["id"], minor)
