"""A small typed client for the stron-tui integration API, on httpx.

    from stron_tui.api.client import StronClient, Conflict

    with StronClient("https://vending.example", api_key) as api:
        quote = api.preview("01234567897", amount="10.00")
        receipt = api.vend("01234567897", amount="10.00", idempotency_key=my_order_id)
        print(receipt.token_grouped)

Every error is an `ApiError` subclass carrying the problem's `code`, `status`,
`detail` and, for bad input, `errors` by field. Sales and tokens take an
idempotency key: retry with the same key after a timeout and you get the
same receipt, never a second token (one is made up if you give none, which
makes a retry of *that call* safe only inside `vend`'s own retries).
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import httpx

from stron_tui.api.schemas import (
    AccountDetailOut,
    AccountPage,
    CustomerOut,
    CustomerPage,
    MeterOut,
    MeterPage,
    MeterTokenPage,
    MeterVendPage,
    QuoteOut,
    ReceiptOut,
    ReportPage,
    WhoAmI,
)

__all__ = [
    "ApiError", "Unauthorized", "Forbidden", "NotFound", "Conflict", "InvalidInput", "RateLimited", "ServerError",
    "StronClient", "AccountDetailOut", "CustomerOut", "MeterOut", "QuoteOut", "ReceiptOut", "ReportPage",
]


class ApiError(Exception):
    """An error answer of the API, as its problem details."""

    def __init__(self, status: int, code: str, detail: str, errors: dict[str, str] | None = None,
                 retry_after: int | None = None):
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or {}
        self.retry_after = retry_after


class Unauthorized(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class InvalidInput(ApiError):
    pass


class RateLimited(ApiError):
    pass


class ServerError(ApiError):
    pass


_BY_STATUS = {401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 422: InvalidInput,
              429: RateLimited}


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    kind = _BY_STATUS.get(response.status_code, ServerError if response.status_code >= 500 else ApiError)
    retry = response.headers.get("Retry-After")
    return kind(response.status_code, str(body.get("code", "error")),
                str(body.get("detail", response.reason_phrase)), body.get("errors") or None,
                int(retry) if retry and retry.isdigit() else None)


def _money(value) -> str:
    if isinstance(value, float):
        raise TypeError("Pass money and units as str or Decimal, not float (floats round).")
    return str(value)


class StronClient:
    """One API account's connection to the API (thread-safe like httpx.Client)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(base_url=base_url.rstrip("/") + "/api/v1", timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "StronClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                idempotency_key: str | None = None) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        response = self._http.request(method, path, params=clean, json=json, headers=headers)
        if response.status_code >= 400:
            raise _error(response)
        return response.json()

    # ------------------------------------------------------------ who

    def me(self) -> WhoAmI:
        return WhoAmI(**self.request("GET", "/me"))

    # ------------------------------------------------------------ selling

    @staticmethod
    def _sale(meter_number: str, amount, units, currency, payment_type) -> dict:
        if (amount is None) == (units is None):
            raise ValueError("Give either amount or units.")
        body = {"meter_number": meter_number, "mode": "amount" if amount is not None else "units",
                "value": _money(amount if amount is not None else units), "payment_type": payment_type}
        if currency:
            body["currency"] = currency
        return body

    def preview(self, meter_number: str, *, amount: str | Decimal | None = None, units: str | Decimal | None = None,
                currency: str | None = None, payment_type: str = "cash") -> QuoteOut:
        """The sale's breakdown (gross, VAT, excise, net, units); nothing is recorded."""
        return QuoteOut(**self.request("POST", "/vends/preview",
                                       json=self._sale(meter_number, amount, units, currency, payment_type)))

    def vend(self, meter_number: str, *, amount: str | Decimal | None = None, units: str | Decimal | None = None,
             currency: str | None = None, payment_type: str = "cash", idempotency_key: str | None = None,
             retries: int = 2, quote_id: str | None = None) -> ReceiptOut:
        """Sell credit. Network failures are retried with the same idempotency key (no double sale).

        With a preview's `quote_id` the sale is refused (409, price_changed) unless it is exactly that sale
        at that price.
        """
        key = idempotency_key or uuid.uuid4().hex
        body = self._sale(meter_number, amount, units, currency, payment_type)
        if quote_id:
            body["quote_id"] = quote_id
        for attempt in range(retries + 1):
            try:
                return ReceiptOut(**self.request("POST", "/vends", json=body, idempotency_key=key))
            except (httpx.TransportError, ServerError):
                if attempt == retries:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ management tokens

    def management_token(self, meter_number: str, kind: str, *, reason: str = "", register: int | None = None,
                         watts: int | None = None, idempotency_key: str | None = None) -> ReceiptOut:
        body = {"kind": kind, "reason": reason, "register": register, "watts": watts}
        return ReceiptOut(**self.request("POST", f"/meters/{meter_number}/management-tokens",
                                         json={k: v for k, v in body.items() if v is not None},
                                         idempotency_key=idempotency_key or uuid.uuid4().hex))

    def clear_tamper(self, meter_number: str, reason: str, *, idempotency_key: str | None = None) -> ReceiptOut:
        return ReceiptOut(**self.request("POST", f"/meters/{meter_number}/clear-tamper", json={"reason": reason},
                                         idempotency_key=idempotency_key or uuid.uuid4().hex))

    def clear_credit(self, meter_number: str, reason: str, *, register: int | None = None,
                     idempotency_key: str | None = None) -> ReceiptOut:
        body: dict = {"reason": reason}
        if register is not None:
            body["register"] = register
        return ReceiptOut(**self.request("POST", f"/meters/{meter_number}/clear-credit", json=body,
                                         idempotency_key=idempotency_key or uuid.uuid4().hex))

    def set_power_limit(self, meter_number: str, watts: int, *, reason: str = "",
                        idempotency_key: str | None = None) -> ReceiptOut:
        return self.management_token(meter_number, "set_power_limit", watts=watts, reason=reason,
                                     idempotency_key=idempotency_key)

    def key_change(self, meter_number: str, *, reason: str = "", idempotency_key: str | None = None) -> ReceiptOut:
        return self.management_token(meter_number, "key_change", reason=reason, idempotency_key=idempotency_key)

    # ------------------------------------------------------------ look-ups

    def receipt(self, number: str) -> ReceiptOut:
        """A past receipt by receipt or transaction number."""
        return ReceiptOut(**self.request("GET", f"/receipts/{number}"))

    def meter(self, meter_number: str) -> MeterOut:
        return MeterOut(**self.request("GET", f"/meters/{meter_number}"))

    def meter_by_id(self, record_id: int) -> MeterOut:
        return MeterOut(**self.request("GET", f"/meters/by-id/{record_id}"))

    def meter_vends(self, meter_number: str, *, limit: int = 20, cursor: str | None = None) -> MeterVendPage:
        return MeterVendPage(**self.request("GET", f"/meters/{meter_number}/vends",
                                            params={"limit": limit, "cursor": cursor}))

    def meter_tokens(self, meter_number: str, *, limit: int = 20, cursor: str | None = None) -> MeterTokenPage:
        return MeterTokenPage(**self.request("GET", f"/meters/{meter_number}/tokens",
                                             params={"limit": limit, "cursor": cursor}))

    def search_meters(self, q: str = "", *, limit: int = 50, cursor: str | None = None) -> MeterPage:
        return MeterPage(**self.request("GET", "/meters", params={"q": q, "limit": limit, "cursor": cursor}))

    def customer(self, code: str) -> CustomerOut:
        return CustomerOut(**self.request("GET", f"/customers/{code}"))

    def customer_by_id(self, record_id: int) -> CustomerOut:
        return CustomerOut(**self.request("GET", f"/customers/by-id/{record_id}"))

    def search_customers(self, q: str = "", *, limit: int = 50, cursor: str | None = None) -> CustomerPage:
        return CustomerPage(**self.request("GET", "/customers", params={"q": q, "limit": limit, "cursor": cursor}))

    def account(self, account_number: str) -> AccountDetailOut:
        return AccountDetailOut(**self.request("GET", f"/accounts/{account_number}"))

    def account_by_id(self, record_id: int) -> AccountDetailOut:
        return AccountDetailOut(**self.request("GET", f"/accounts/by-id/{record_id}"))

    def search_accounts(self, q: str = "", *, limit: int = 50, cursor: str | None = None) -> AccountPage:
        return AccountPage(**self.request("GET", "/accounts", params={"q": q, "limit": limit, "cursor": cursor}))

    # ------------------------------------------------------------ reports

    def report(self, name: str, *, cursor: str | None = None, limit: int = 50, **filters) -> ReportPage:
        """One page of a report: receipts, monthly-summary, customer-payments, transactions, districts,
        non-vending-meters or cashup; filters as the screens' (date_from="2024-01-01", station="S1", ...)."""
        params = {key: (str(value) if not isinstance(value, bool) else str(value).lower())
                  for key, value in filters.items() if value is not None}
        if name != "transactions":
            params |= {"limit": limit, "cursor": cursor}
        return ReportPage(**self.request("GET", f"/reports/{name}", params=params))

    def report_rows(self, name: str, **filters):
        """Every row of a report, page after page."""
        cursor = None
        while True:
            page = self.report(name, cursor=cursor, **filters)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor
