"""Request and response bodies. Money and units are strings ("10.00"), never floats;
tokens are 20-digit strings with a grouped form beside them ("1234 5678 ...")."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from stron_tui.money import DEFAULT_MINOR_UNIT, money_text
from stron_tui.services.management_kinds import KINDS, REGISTER, WATTS
from stron_tui.domain.receipt import Receipt
from stron_tui.domain.tokens import grouped

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:-]{8,64}$"


def _number_as_text(value):
    if isinstance(value, bool):
        return value  # let the str check refuse it
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return value


NumberText = Annotated[str, BeforeValidator(_number_as_text), Field(min_length=1, max_length=40)]


def text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def money(value: Decimal | None, currency: str, minor_units: dict[str, int]) -> str | None:
    """Stored amounts carry four places; money shows the currency's own (2 unless configured)."""
    if value is None:
        return None
    return money_text(value, minor_unit=minor_units.get(currency, DEFAULT_MINOR_UNIT), grouped=False)


def units_text(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.1")))


def plain(value) -> Any:
    """A service result (dataclasses, decimals, dates) as JSON-ready values; money as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "extra"}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ---------------------------------------------------------------- errors


class Problem(BaseModel):
    """RFC 9457 problem details (media type application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="stable machine-readable code: unauthorized, forbidden, not_found, conflict, "
                                  "invalid, rate_limited, ...")
    errors: dict[str, str] | None = Field(None, description="messages by input field, for code 'invalid'")


# ---------------------------------------------------------------- sales


class SaleIn(Model):
    meter_number: str = Field(min_length=1, max_length=20, examples=["01234567897"])
    mode: Literal["amount", "units"] = Field("amount", description="sell an amount of money or a number of units")
    value: NumberText = Field(description="the amount or the units as a decimal string", examples=["10.00"])
    currency: str | None = Field(None, max_length=3, description="paid currency; default the tariff's")
    payment_type: str = Field("cash", min_length=1, max_length=20)
    send_token: bool = Field(False, description="also send the token by SMS / e-mail to the customer's "
                                                "consented phone or mailbox (queued; see /receipts/{number}/send)")
    quote_id: str | None = Field(
        None, pattern=r"^[0-9a-f]{32}$",
        description="the preview's quote_id: the sale is refused (409, code price_changed) unless it is exactly "
                    "the previewed sale at the previewed price; without it the sale is priced fresh")


class BlockLineOut(BaseModel):
    block: int = Field(description="1 = the first tariff block")
    units: str
    price_all_in: str = Field(description="price per unit, taxes in")
    amount: str


def block_lines(lines) -> list[BlockLineOut]:
    return [BlockLineOut(block=line.position, units=units_text(line.units), price_all_in=text(line.price_all_in),
                         amount=str(line.amount)) for line in lines]


class Breakdown(BaseModel):
    """Where the payment went (docs/money.md, order of deductions): debt, then fixed charges, then energy."""

    debt_recovered: str = "0"
    debt_still_owed: str = "0"
    fixed_charge: str = "0"
    fixed_charge_months: int = 0
    energy: str | None = None
    blocks: list[BlockLineOut] = []
    free_units: str = "0"
    free_token: str = ""
    subsidy: str = "0"


class QuoteOut(BaseModel):
    mode: str
    paid_amount: str
    paid_currency: str
    exchange_rate: str
    currency: str
    gross: str
    net: str
    excise: str
    vat: str
    units: str
    unit: str
    price_per_unit: str
    price_all_in: str
    quote_id: str = Field(description="send it with the sale to sell exactly this, at this price")
    breakdown: Breakdown = Field(default_factory=Breakdown)

    @classmethod
    def of(cls, quote) -> "QuoteOut":
        names = {f.name for f in dataclasses.fields(quote)} & set(cls.model_fields)
        return cls(**{name: (value if isinstance(value, str) else str(value)) for name, value in
                      ((name, getattr(quote, name)) for name in names)},
                   breakdown=Breakdown(
                       debt_recovered=str(quote.debt_recovered), debt_still_owed=str(quote.debt_after),
                       fixed_charge=str(quote.fixed_charge), fixed_charge_months=quote.fixed_charge_months,
                       energy=str(quote.energy_amount), blocks=block_lines(quote.blocks),
                       free_units=units_text(quote.free_units), subsidy=str(quote.subsidy)))


class ReceiptOut(BaseModel):
    kind: str = Field(description="vend, or the management token kind")
    title: str
    receipt_number: str
    transaction_number: str
    issued_at: datetime
    local_time: str
    station_code: str
    station_name: str
    operator: str
    customer_code: str
    customer_name: str
    account_number: str
    meter_number: str
    token: str = Field(description="20 digits (empty for a key change receipt)")
    token_grouped: str
    key_change_tokens: list[str] = Field(description="enter these first, in order")
    key_change_tokens_grouped: list[str]
    tariff_name: str = ""
    utility: str = ""
    unit: str = ""
    currency: str = ""
    gross: str | None = None
    vat: str | None = None
    excise: str | None = None
    net: str | None = None
    units: str | None = None
    price_per_unit: str | None = None
    paid_amount: str | None = None
    paid_currency: str = ""
    exchange_rate: str | None = None
    payment_type: str = ""
    detail: str = ""
    reason: str = ""
    tid: int | None = None
    reprint: bool = False
    breakdown: Breakdown | None = Field(None, description="a sale's split: debt, fixed charges, energy per block")
    reversed_by: str = ""  # the reversal's number once the sale was reversed (the token stays in the meter)

    @classmethod
    def of(cls, receipt: Receipt, minor_units: dict[str, int]) -> "ReceiptOut":
        def cash(value):
            return money(value, receipt.currency, minor_units)

        return cls(
            kind=receipt.kind, title=receipt.title, receipt_number=receipt.receipt_number,
            transaction_number=receipt.transaction_number, issued_at=receipt.issued_at,
            local_time=receipt.local_time, station_code=receipt.station_code, station_name=receipt.station_name,
            operator=receipt.operator, customer_code=receipt.customer_code, customer_name=receipt.customer_name,
            account_number=receipt.account_number, meter_number=receipt.meter_number, token=receipt.token,
            token_grouped=grouped(receipt.token), key_change_tokens=list(receipt.key_change_tokens),
            key_change_tokens_grouped=[grouped(t) for t in receipt.key_change_tokens],
            tariff_name=receipt.tariff_name, utility=receipt.utility, unit=receipt.unit, currency=receipt.currency,
            gross=cash(receipt.gross), vat=cash(receipt.vat), excise=cash(receipt.excise), net=cash(receipt.net),
            units=units_text(receipt.units), price_per_unit=text(receipt.price_per_unit),
            paid_amount=money(receipt.paid_amount, receipt.paid_currency, minor_units),
            paid_currency=receipt.paid_currency,
            exchange_rate=text(receipt.exchange_rate), payment_type=receipt.payment_type, detail=receipt.detail,
            reason=receipt.reason, tid=receipt.tid, reprint=receipt.reprint, reversed_by=receipt.reversed_by,
            breakdown=None if receipt.kind != "vend" else Breakdown(
                debt_recovered=cash(receipt.debt_recovered), debt_still_owed=cash(receipt.debt_after),
                fixed_charge=cash(receipt.fixed_charge), fixed_charge_months=receipt.fixed_charge_months,
                energy=cash(receipt.energy if receipt.energy is not None else receipt.gross),
                blocks=block_lines(receipt.blocks), free_units=units_text(receipt.free_units),
                free_token=receipt.free_token, subsidy=cash(receipt.subsidy)),
        )


class ClearTamperIn(Model):
    reason: str = Field(min_length=1, max_length=200, examples=["meter opened for inspection"])


class ClearCreditIn(Model):
    reason: str = Field(min_length=1, max_length=200)
    credit_register: int | None = Field(None, alias="register", ge=REGISTER.minimum, le=REGISTER.maximum,
                                        description=REGISTER.description)


class ManagementIn(Model):
    # Any management token: `kind` is one of management_kinds.KINDS; give the fields that kind takes.
    kind: Literal[tuple(KINDS)]  # type: ignore[valid-type]
    reason: str = Field("", max_length=200)
    credit_register: int | None = Field(None, alias="register", ge=REGISTER.minimum, le=REGISTER.maximum,
                                        description="clear_credit: one register; omit for all")
    watts: int | None = Field(None, ge=WATTS.minimum, le=WATTS.maximum)

    def kind_fields(self) -> dict:
        """The values of the fields this kind takes (management_kinds.KINDS), by request attribute."""
        given = {"register": self.credit_register, "watts": self.watts}
        return {field.name: given[field.name] for field in KINDS[self.kind].fields}


# ---------------------------------------------------------------- library records


class CustomerOut(BaseModel):
    id: int
    code: str
    name: str
    address: str = ""
    phone: str = ""
    email: str = ""
    district_code: str = ""


class MeterOut(BaseModel):
    id: int
    meter_number: str
    meter_type: str
    utility: str
    status: str
    sgc: str
    ti: int
    krn: int
    kt: int
    ea: str
    dkga: str
    base_date: str
    ken: int


class AccountOut(BaseModel):
    id: int
    account_number: str
    customer_code: str
    customer_name: str = ""
    meter_number: str
    station_code: str
    tariff_name: str
    status: str


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None


class MeterPage(BaseModel):
    items: list[MeterOut]
    next_cursor: str | None


class AccountPage(BaseModel):
    items: list[AccountOut]
    next_cursor: str | None


class AccountDetailOut(BaseModel):
    id: int
    account_number: str
    status: str
    opened_at: datetime
    closed_at: datetime | None
    customer: dict[str, Any]
    meter: dict[str, Any]
    tariff: dict[str, Any]
    station: dict[str, Any]
    vends: list[dict[str, Any]]
    tokens: list[dict[str, Any]]
    vend_count: int
    revenue: dict[str, Any] = Field(default_factory=dict, description="debt, recovery rule, free units, this "
                                    "month's units and fixed charges paid")


class MeterVendOut(BaseModel):
    created_at: datetime
    transaction_number: str
    receipt_number: str
    source: str
    operator: str
    payment_type: str
    paid_amount: str
    paid_currency: str
    gross_amount: str
    currency: str
    units: str
    unit: str
    token: str
    token_grouped: str
    key_change_tokens: list[str]
    reversal_number: str = Field("", description="the reversal's number when a supervisor reversed the sale "
                                 "(the token stays issued); empty otherwise")


class MeterTokenOut(BaseModel):
    created_at: datetime
    transaction_number: str
    receipt_number: str
    kind: str
    source: str
    operator: str
    reason: str
    tokens: list[str]
    tokens_grouped: list[str]
    key_change_tokens: list[str]


class MeterVendPage(BaseModel):
    items: list[MeterVendOut]
    next_cursor: str | None


class MeterTokenPage(BaseModel):
    items: list[MeterTokenOut]
    next_cursor: str | None


class WhoAmI(BaseModel):
    api_account_id: int
    name: str
    station_id: int | None
    permissions: list[str]
    rate_limit_per_minute: int


# ---------------------------------------------------------------- reports


class ReportPage(BaseModel):
    """One page of a report: rows as the screen shows them (money as strings)."""

    report: str
    filters: list[str] = Field(description="the filters applied, as the screen's filter line shows them")
    items: list[dict[str, Any]]
    totals: list[dict[str, Any]] | None = Field(None, description="given with the first page")
    next_cursor: str | None = None
    extra: dict[str, Any] | None = None
