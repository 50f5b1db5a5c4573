"""The Stron-compatible surface: Stron's Vending API shapes beside /api/v1, on the same services.

Partners whose code already calls Stron's Vending API (v3.0.17) or MicroPowerManager's Stron plug-in
switch by changing the base URL. Every shape served here, and where it is attested, is in
docs/stron-api.md. What is the same as /api/v1, by construction:

* the request gate (body size and JSON depth before parsing) and the uniform failures: one answer for a
  wrong company, user name, key or Authorization header, counted against the address's failed-key limit;
* the account's role (permissions), station scope, live rights and rate limit (deps.counted_authentication);
* a sale is `vending.vend` and a clear token `management.issue`: the same receipts, audit, totals and
  reports, the same request-id rule (an optional client reference makes a retry return the first sale);
* text with control characters is refused; unexpected errors are logged once with an id (problems.unexpected).

Paths match case-insensitively, with or without a trailing slash. Field names match case-insensitively and
without underscores (`MeterID`, `MeterId`, `METER_ID` are one field); two spellings with different values
are refused rather than guessed between.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from stron_tui.api import problems
from stron_tui.api.schemas import money
from stron_tui.api.deps import _unsafe_text, bearer_credentials, counted_authentication
from stron_tui.api.security import current_actor
from stron_tui.errors import AuthenticationFailed, NotFound, PermissionDenied, StronError, ValidationError
from stron_tui.services import api_accounts, management, vending
from stron_tui.services.api_queries import currency_minor_units
from stron_tui.services.permissions import Actor
from stron_tui.domain.receipt import Receipt
from stron_tui.domain.text import fold

router = APIRouter(include_in_schema=False)

WRONG_CREDENTIALS = "The company name, user name or password is wrong."
CLEAR_REASON = "requested over the Stron-compatible API"
SERVICE_BODY_LIMIT = 100  # fields in one request body: Stron's largest request has nine

# ResultCode values (0 = success is never sent in an error body). docs/stron-api.md lists them.
RESULT_CODES = {"authentication": 1, "invalid": 2, "not_found": 3, "forbidden": 4, "conflict": 5,
                "rate_limited": 6, "refused": 7, "unknown_endpoint": 8, "internal": 9}

_AMOUNT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


class StronInputError(ValidationError):
    """Bad input on this surface (answered in the shape the endpoint's clients read)."""


def _key(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


@dataclass(frozen=True)
class Fields:
    """A request body's fields by folded name (`MeterID` = `MeterId` = `METER_ID`)."""

    values: dict

    @classmethod
    def parse(cls, body: bytes) -> "Fields":
        if not body.strip():
            raise StronInputError("The request body is empty; send a JSON object.", field="body")
        try:
            # Decimals stay text: a JSON number 1e9 or 10.005 is judged as written, never as a float.
            parsed = json.loads(body, parse_float=str, parse_constant=str)
        except (ValueError, RecursionError):
            raise StronInputError("The request body is not valid JSON.", field="body") from None
        if not isinstance(parsed, dict):
            raise StronInputError("The request body must be a JSON object.", field="body")
        if len(parsed) > SERVICE_BODY_LIMIT:
            raise StronInputError(f"The request body may hold at most {SERVICE_BODY_LIMIT} fields.", field="body")
        found = _unsafe_text(parsed)
        if found:
            raise StronInputError(f"The request body holds {found}, which no field accepts "
                                  "(control characters are refused).", field="body")
        values: dict = {}
        for name, value in parsed.items():
            key = _key(name)
            if key in values and values[key] != value:
                raise StronInputError(f"The field {name} is sent twice with different values.", field=name)
            values[key] = value
        return cls(values)

    def text(self, *names: str, default: str = "") -> str:
        for name in names:
            value = self.values.get(_key(name))
            if value is None:
                continue
            if isinstance(value, bool) or isinstance(value, (dict, list)):
                raise StronInputError(f"{name} must be text.", field=name)
            return str(value).strip()
        return default

    def has(self, *names: str) -> bool:
        return any(_key(name) in self.values for name in names)


def _meter_number(fields: Fields) -> str:
    number = fields.text("MeterID", "MeterNo", "MeterNumber")
    if not number:
        raise StronInputError("MeterID is missing.", field="MeterID")
    if not number.isdigit() or len(number) > 20:
        raise StronInputError(f"MeterID {number[:24]!r} is not a meter number (11 or 13 digits).", field="MeterID")
    return number


def _amount(fields: Fields, name: str = "Amount") -> Decimal:
    """A positive decimal as Stron's clients send it: a JSON number or a string of digits."""
    raw = fields.values.get(_key(name))
    if raw is None or isinstance(raw, bool) or isinstance(raw, (dict, list)):
        raise StronInputError(f"{name} is missing; send it as a number or a string like \"100\" or \"12.5\".",
                              field=name)
    text = str(raw).strip()
    if not _AMOUNT.match(text):
        raise StronInputError(f"{name} {text[:24]!r} is not an amount: use digits with an optional decimal "
                              "point (no signs, thousands separators or exponents).", field=name)
    value = Decimal(text)
    if value <= 0:
        raise StronInputError(f"{name} must be more than zero.", field=name)
    return value


def _by_unit(fields: Fields) -> bool:
    return _flag(fields, "is_vend_by_unit")


def _flag(fields: Fields, name: str) -> bool:
    raw = fields.values.get(_key(name))
    if raw is None or raw is False or (isinstance(raw, str) and raw.strip().lower() in ("false", "0", "")):
        return False
    if raw is True or (isinstance(raw, str) and raw.strip().lower() in ("true", "1")):
        return True
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    raise StronInputError(f'{name} is "true" or "false".', field=name)


def _client_reference(request: Request, fields: Fields, what: str) -> str:
    """The optional client reference (body or Idempotency-Key header): a retry with it returns the first
    result. Without one each request is a new sale, as on Stron's own API."""
    reference = fields.text("ClientReference", "Reference", "RequestId") or \
        request.headers.get("idempotency-key", "").strip()
    if not reference:
        return vending.new_request_id()
    return vending.check_request_id(reference, what)


# Authentication ------------------------------------------------------------------------------------------


def _body_actor(request: Request, company: str, user: str, key: str) -> Actor:
    ctx = request.app.state.ctx
    remote = request.client.host if request.client else ""
    try:
        actor = api_accounts.authenticate(ctx, key, remote=remote)
    except AuthenticationFailed:
        raise AuthenticationFailed(WRONG_CREDENTIALS) from None
    # The key is checked first (its cost is the same for every answer); then what it must belong to.
    if fold(company) != fold(ctx.settings.utility_name) or fold(user) != fold(actor.name):
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    return actor


def _check_credentials(request: Request, company: str, user: str, key: str) -> Actor:
    """The API account named by the body (company, user name, key), by the Authorization header, or by
    both (then both must name the same account). Every failure is the same answer."""
    header = bearer_credentials(request)
    body_given = bool(company or user or key)
    if not body_given and header is None:
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    actor = _body_actor(request, company, user, key) if body_given else None
    if header is not None:
        try:
            by_header = current_actor(request, header)
        except AuthenticationFailed:
            raise AuthenticationFailed(WRONG_CREDENTIALS) from None
        if actor is not None and by_header.api_account_id != actor.api_account_id:
            raise AuthenticationFailed(WRONG_CREDENTIALS)
        actor = by_header
    return actor


def _authenticate(request: Request, fields: Fields) -> Actor:
    company = fields.text("CompanyName", "Company")
    user = fields.text("UserName", "Employee")
    key = fields.text("PassWord", "ApiToken")
    return counted_authentication(request, lambda: _check_credentials(request, company, user, key))


# Answers ---------------------------------------------------------------------------------------------------


def _money(value) -> str | None:
    return None if value is None else format(value, "f")


def _price(value) -> str | None:
    """A price or rate as the tariff screen shows it: no trailing zeros past the cents (0.200000 -> 0.20)."""
    if value is None:
        return None
    value = Decimal(value).normalize()
    return format(value if value.as_tuple().exponent < -2 else value.quantize(Decimal("0.01")), "f")


def _vend_item(ctx, receipt: Receipt, by_unit: bool) -> dict:
    return {
        "Company_name": ctx.settings.utility_name, "Meter_id": receipt.meter_number,
        "Customer_id": receipt.customer_code, "Customer_name": receipt.customer_name,
        "Account_number": receipt.account_number, "Token": receipt.token,
        "Key_change_tokens": list(receipt.key_change_tokens), "Total_unit": _money(receipt.units),
        "Unit": receipt.unit, "Total_paid": _money(receipt.paid_amount), "Currency": receipt.paid_currency,
        "Price": _price(receipt.price_per_unit), "VAT": _money(receipt.vat), "Excise": _money(receipt.excise),
        "NET_VALUE": _money(receipt.net), "Gross": _money(receipt.gross), "Rate": _price(receipt.exchange_rate),
        "Tariff": receipt.tariff_name, "Vend_by_unit": by_unit, "ReceiptNumber": receipt.receipt_number,
        "TransactionNumber": receipt.transaction_number, "Gen_time": receipt.local_time,
        "TID": receipt.tid, "Operator": receipt.operator,
    }


def _quote_item(ctx, meter_number: str, quote, by_unit: bool) -> dict:
    return {
        "Company_name": ctx.settings.utility_name, "Meter_id": meter_number, "Total_unit": _money(quote.units),
        "Unit": quote.unit, "Total_paid": _money(quote.paid_amount), "Currency": quote.paid_currency,
        "Price": _price(quote.price_per_unit), "VAT": _money(quote.vat), "Excise": _money(quote.excise),
        "NET_VALUE": _money(quote.net), "Gross": _money(quote.gross), "Rate": _price(quote.exchange_rate),
        "Vend_by_unit": by_unit, "Quote_id": quote.quote_id,
    }


def _meter_item(ctx, target) -> dict:
    terms = target.tariff
    return {
        "Company_name": ctx.settings.utility_name, "Meter_id": target.meter_number,
        "Meter_type": target.meter_type, "Meter_status": target.meter_status, "Utility": target.utility,
        "Customer_id": target.customer_code, "Customer_name": target.customer_name,
        "Customer_address": target.customer_address, "Customer_phone": target.customer_phone,
        "Account_number": target.account_number, "Station": target.station_code,
        "District": target.district_name, "Tariff": terms.name if terms else "",
        "Price": _price(terms.price_per_unit) if terms else None, "Unit": terms.unit if terms else "",
        "Currency": terms.currency if terms else "", "VAT_rate": _price(terms.vat_rate) if terms else None,
        "Key_change_pending": target.key_change_pending,
    }


def _purchase_items(ctx, target) -> list[dict]:
    places = currency_minor_units(ctx)
    return [{"Meter_id": target.meter_number, "Customer_id": target.customer_code, "Token": past.token,
             "Total_unit": _money(past.units), "Unit": past.unit, "Total_paid": money(past.amount, past.currency, places),
             "Currency": past.currency, "ReceiptNumber": past.receipt_number, "Gen_time": past.when}
            for past in target.last_vends]


def _management_item(ctx, receipt: Receipt) -> dict:
    return {"Company_name": ctx.settings.utility_name, "Meter_id": receipt.meter_number,
            "Customer_id": receipt.customer_code, "Customer_name": receipt.customer_name, "Token": receipt.token,
            "Key_change_tokens": list(receipt.key_change_tokens), "Type": receipt.kind,
            "ReceiptNumber": receipt.receipt_number, "TransactionNumber": receipt.transaction_number,
            "Gen_time": receipt.local_time, "TID": receipt.tid}


# Handlers (run in the thread pool) -----------------------------------------------------------------------


def _check_customer(ctx, actor: Actor, fields: Fields, meter_number: str, *, management_token: bool = False):
    """A CustomerId sent with a meter must be that meter's customer (a mistyped meter sells to nobody).
    Looked up with the right the request itself needs (selling, or the Exception Handling module)."""
    customer = fields.text("CustomerId", "Customer_id")
    if not customer:
        return
    found = (management.find_meter(ctx, actor, meter_number) if management_token
             else vending.load_target(ctx, actor, meter_number))
    if fold(customer) != fold(found.customer_code or ""):
        raise StronInputError(f"Meter {meter_number} does not belong to customer {customer[:40]}.",
                              field="CustomerId")


def _sale_request(request: Request, fields: Fields, *, by_unit: bool, request_id: str = "",
                  currency: str | None = None) -> vending.VendRequest:
    return vending.VendRequest(meter_number=_meter_number(fields), mode="units" if by_unit else "amount",
                               value=str(_amount(fields)), currency=currency, payment_type="cash",
                               request_id=request_id, send_token=_flag(fields, "SendToken"))


def vend(request: Request, actor: Actor, fields: Fields) -> list[dict]:
    ctx = request.app.state.ctx
    by_unit = _by_unit(fields)
    sale = _sale_request(request, fields, by_unit=by_unit, request_id=_client_reference(request, fields, "sale"))
    _check_customer(ctx, actor, fields, sale.meter_number)
    return [_vend_item(ctx, vending.vend(ctx, actor, sale), by_unit)]


def preview(request: Request, actor: Actor, fields: Fields) -> list[dict]:
    ctx = request.app.state.ctx
    by_unit = _by_unit(fields)
    sale = _sale_request(request, fields, by_unit=by_unit)
    _check_customer(ctx, actor, fields, sale.meter_number)
    return [_quote_item(ctx, sale.meter_number, vending.preview(ctx, actor, sale), by_unit)]


def meter_info(request: Request, actor: Actor, fields: Fields) -> list[dict]:
    ctx = request.app.state.ctx
    return [_meter_item(ctx, vending.load_target(ctx, actor, _meter_number(fields)))]


def meter_credit(request: Request, actor: Actor, fields: Fields) -> list[dict]:
    return _purchase_items(request.app.state.ctx,
                           vending.load_target(request.app.state.ctx, actor, _meter_number(fields)))


def _customer_targets(request: Request, actor: Actor, fields: Fields) -> list:
    ctx = request.app.state.ctx
    customer = fields.text("CustomerId", "Customer_id")
    if not customer:
        raise StronInputError("CustomerId is missing.", field="CustomerId")
    targets = []
    for match in vending.find_accounts(ctx, actor, customer, limit=50):
        if fold(match.customer_code) != fold(customer):
            continue
        try:
            targets.append(vending.load_target(ctx, actor, match.meter_number))
        except (NotFound, PermissionDenied):
            continue  # outside the caller's scope: as if it did not exist
    if not targets:
        raise NotFound(f"There is no customer {customer[:40]} with an open account.")
    return targets


def customer_info(request: Request, actor: Actor, fields: Fields) -> list[dict]:
    ctx = request.app.state.ctx
    return [_meter_item(ctx, target) for target in _customer_targets(request, actor, fields)]


def customer_credit(request: Request, actor: Actor, fields: Fields) -> list[dict]:
    items = [item for target in _customer_targets(request, actor, fields) for item in _purchase_items(request.app.state.ctx, target)]
    return sorted(items, key=lambda item: item["Gen_time"], reverse=True)


def _clear(kind: str) -> Callable:
    def clear(request: Request, actor: Actor, fields: Fields) -> list[dict]:
        ctx = request.app.state.ctx
        number = _meter_number(fields)
        _check_customer(ctx, actor, fields, number, management_token=True)
        reason = fields.text("Reason", "Remark") or CLEAR_REASON
        order = management.ManagementRequest(meter_number=number, kind=kind, reason=reason,
                                             request_id=_client_reference(request, fields, "token"))
        return [_management_item(ctx, management.issue(ctx, actor, order))]

    return clear


def mpm_login(request: Request, actor: Actor, fields: Fields) -> str:
    """MicroPowerManager keeps the answer as its ApiToken and sends it back with each sale: the API key
    itself (the caller already holds it), so no second secret is minted or stored."""
    return fields.text("Password", "PassWord")


def mpm_vending(request: Request, actor: Actor, fields: Fields) -> str:
    """MicroPowerManager sells money (`Amount` in `AmountTmp`, its currency); the tariff here decides the
    units (its `Price` and `Rate` are its own view and are not trusted). The answer is the credit token,
    then any key change tokens, comma-separated: MicroPowerManager takes the first as the sale's token."""
    ctx = request.app.state.ctx
    currency = fields.text("AmountTmp") or None
    if currency is not None and not _CURRENCY.match(currency):
        raise StronInputError(f"AmountTmp {currency[:12]!r} is not a currency code like USD.", field="AmountTmp")
    sale = _sale_request(request, fields, by_unit=False, currency=currency,
                         request_id=_client_reference(request, fields, "sale"))
    _check_customer(ctx, actor, fields, sale.meter_number)
    receipt = vending.vend(ctx, actor, sale)
    return ",".join((receipt.token, *receipt.key_change_tokens))


@dataclass(frozen=True)
class Endpoint:
    handler: Callable
    style: str  # "stron": a JSON list, errors as {ResultCode, Reason}; "mpm_login"/"mpm_text": text answers


ENDPOINTS = {
    "vendingmeter": Endpoint(vend, "stron"),
    "vendingmeterpurchase": Endpoint(vend, "stron"),
    "vendingmeterdirectly": Endpoint(vend, "stron"),
    "vendingmeterpreview": Endpoint(preview, "stron"),
    "querymeterinfo": Endpoint(meter_info, "stron"),
    "querymetercredit": Endpoint(meter_credit, "stron"),
    "querycustomerinfo": Endpoint(customer_info, "stron"),
    "querycustomercredit": Endpoint(customer_credit, "stron"),
    "cleartamper": Endpoint(_clear("clear_tamper"), "stron"),
    "clearcredit": Endpoint(_clear("clear_credit"), "stron"),
    "login": Endpoint(mpm_login, "mpm_login"),
    "vending": Endpoint(mpm_vending, "mpm_text"),
}


def _result_code(error: StronError) -> int:
    if isinstance(error, problems.RateLimited):
        return RESULT_CODES["rate_limited"]
    if isinstance(error, AuthenticationFailed):
        return RESULT_CODES["authentication"]
    if isinstance(error, ValidationError):
        return RESULT_CODES["invalid"]
    if isinstance(error, NotFound):
        return RESULT_CODES["not_found"]
    if isinstance(error, PermissionDenied):
        return RESULT_CODES["forbidden"]
    if problems.status_for(error) == 409:
        return RESULT_CODES["conflict"]
    return RESULT_CODES["refused"]


def _error_answer(style: str, status: int, code: int, reason: str, headers: dict | None = None) -> Response:
    """A refusal every client of the endpoint reads as a failure: a non-2xx status (clients that only check
    the status fail closed) and, for Stron's endpoints, {ResultCode, Reason, Message}; MicroPowerManager's
    text endpoints get the reason as text (its HTTP client raises on the status)."""
    reason = problems.printable(reason)
    if style == "mpm_text":
        return PlainTextResponse(reason, status_code=status, headers=headers)
    return JSONResponse({"ResultCode": code, "Reason": reason, "Message": reason, "Result": None},
                        status_code=status, headers=headers)


def _answer_error(style: str, error: StronError) -> Response:
    headers = {}
    if isinstance(error, problems.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    status = problems.status_for(error)
    return _error_answer(style, status, _result_code(error), error.message, headers or None)


async def _serve(request: Request, name: str) -> Response:
    endpoint = ENDPOINTS.get(name.lower())
    if endpoint is None:
        return _error_answer("stron", 404, RESULT_CODES["unknown_endpoint"],
                             f"There is no POST /api/{name[:60]} in this API.")
    try:
        fields = Fields.parse(await request.body())
        actor = await run_in_threadpool(_authenticate, request, fields)
        result = await run_in_threadpool(endpoint.handler, request, actor, fields)
    except StronError as error:
        return _answer_error(endpoint.style, error)
    except Exception as error:  # noqa: BLE001 - logged once with an id, answered in the client's shape
        logged = problems.unexpected(error, request.method, request.url.path)
        body = json.loads(logged.body)
        return _error_answer(endpoint.style, 500, RESULT_CODES["internal"], body["detail"])
    if endpoint.style == "mpm_text":
        return PlainTextResponse(result)
    return JSONResponse(result)  # a JSON list, or a JSON string for the login token


@router.post("/api/{name}")
async def stron_endpoint(request: Request, name: str) -> Response:
    return await _serve(request, name)


@router.post("/api/{name}/")
async def stron_endpoint_slash(request: Request, name: str) -> Response:
    return await _serve(request, name)


class StronPaths:
    """Stron's paths in any case (`/API/VendingMeter`, `/Api/vendingmeter/`): the route matches the name in
    any case; this folds the `/api/` before it. Only a known endpoint name is touched, so no other path
    (least of all /api/v1) changes under the request gate."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            rest = path[5:].rstrip("/")
            if path[:5] != "/api/" and path[:5].lower() == "/api/" and rest.lower() in ENDPOINTS:
                scope = dict(scope, path="/api/" + path[5:])
        await self.app(scope, receive, send)
