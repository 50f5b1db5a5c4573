"""The receipt: the facts printed for the customer, as plain values.

Built by services.receipts from the stored rows and rendered by exports.receipts,
so it lives below both.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Receipt:
    kind: str  # "vend" or a management kind
    title: str
    utility_name: str
    station_code: str
    station_name: str
    receipt_number: str
    transaction_number: str
    issued_at: datetime
    local_time: str
    operator: str
    customer_code: str
    customer_name: str
    account_number: str
    meter_number: str
    token: str
    key_change_tokens: tuple[str, ...] = ()
    tariff_name: str = ""
    utility: str = ""
    unit: str = ""
    currency: str = ""
    gross: Decimal | None = None
    vat: Decimal | None = None
    excise: Decimal | None = None
    net: Decimal | None = None
    units: Decimal | None = None
    price_per_unit: Decimal | None = None
    paid_amount: Decimal | None = None
    paid_currency: str = ""
    exchange_rate: Decimal | None = None
    payment_type: str = ""
    detail: str = ""
    reason: str = ""
    tid: int | None = None
    reprint: bool = False
    reversed_by: str = ""  # the reversal's number once the sale was reversed (the token stays valid)
    receipt_width: int = 40
    # The revenue split of a sale (pricing's order of deductions); zero on a flat sale without debt or charges.
    debt_recovered: Decimal = Decimal(0)
    debt_after: Decimal = Decimal(0)
    fixed_charge: Decimal = Decimal(0)
    fixed_charge_months: int = 0
    energy: Decimal | None = None
    blocks: tuple = ()  # pricing.BlockLine: units, price and amount per tariff block
    free_units: Decimal = Decimal(0)
    free_token: str = ""
    subsidy: Decimal = Decimal(0)
    extra: dict = field(default_factory=dict, compare=False)

    def as_reprint(self) -> "Receipt":
        return replace(self, reprint=True)
