"""Money reads in its currency's minor unit everywhere: one helper, hand-worked cases."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from stron_tui.money import in_minor_unit, money_text


@pytest.mark.parametrize(
    ("amount", "currency", "minor_unit", "shown"),
    [
        (D("500.0000"), "USD", 2, "500.00 USD"),  # a stored limit: four places in, two out
        (D("500.0000"), "XOF", 0, "500 XOF"),
        (D("1234.5675"), "KWD", 3, "1,234.568 KWD"),  # half up
        (D("0.005"), "USD", 2, "0.01 USD"),
        (D("1234567.5"), "USD", None, "1,234,567.5 USD"),  # already rounded by the service: kept as it is
        (D("1E+3"), "XOF", None, "1,000 XOF"),  # never scientific notation
        (None, "USD", 2, ""),
    ],
)
def test_money_text(amount, currency, minor_unit, shown):
    assert money_text(amount, currency, minor_unit) == shown


def test_in_minor_unit_and_ungrouped_text_for_machines():
    assert in_minor_unit(D("2.5"), 0) == D("3")
    assert money_text(D("1234.5"), minor_unit=3, grouped=False) == "1234.500"
