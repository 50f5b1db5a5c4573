"""A receipt as the vending service builds it, for printing and saving tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

from stron_tui.domain.receipt import Receipt


def sample_receipt(**changes) -> Receipt:
    receipt = Receipt(
        kind="vend", title="ELECTRICITY CREDIT", utility_name="Stron Utility", station_code="S1",
        station_name="Test Station", receipt_number="S1-0000042", transaction_number="V0000000042",
        issued_at=datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc), local_time="2026-12-01 10:30:00",
        operator="cashier1", customer_code="C000007", customer_name="Adaeze Ọkọnkwọ", account_number="A0000007",
        meter_number="43000000017", token="12345678901234567890", tariff_name="Home", utility="electricity",
        unit="kWh", currency="USD", gross=Decimal("10.00"), vat=Decimal("1.30"), excise=Decimal("0.17"),
        net=Decimal("8.53"), units=Decimal("42.6"), price_per_unit=Decimal("0.20"), payment_type="Cash",
        receipt_width=40)
    return replace(receipt, **changes)
