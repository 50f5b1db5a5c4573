"""Money rules: hand-worked examples and properties that must hold for any input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stron_tui.errors import ValidationError
from stron_tui.services.pricing import (
    STS_MAX_UNITS,
    Payment,
    TariffTerms,
    parse_decimal,
    quote_by_amount,
    quote_by_units,
    round_money,
)

USD = Payment("USD", 2, Decimal(1))


def terms(price="0.20", vat="0.15", excise="0.02", inclusive=True, minor=2, low="0", high=None):
    return TariffTerms("T", "kWh", Decimal(price), "USD", minor, Decimal(vat), Decimal(excise), inclusive,
                       Decimal(low), None if high is None else Decimal(high))


def test_zero_decimal_currency_rounds_to_whole_units():
    xof = Payment("XOF", 0, Decimal("0.00165"))
    quote = quote_by_amount(Decimal("6000"), xof, terms())
    # 6000 XOF x 0.00165 = 9.90 USD -> 49.5 kWh.
    assert (quote.gross, quote.units) == (Decimal("9.90"), Decimal("49.5"))
    with pytest.raises(ValidationError, match="XOF amounts have 0 decimal places"):
        quote_by_amount(Decimal("6000.5"), xof, terms())


def test_three_decimal_currency_for_the_tariff():
    kwd = TariffTerms("K", "kWh", Decimal("0.012"), "KWD", 3, Decimal("0"), Decimal("0"), True)
    quote = quote_by_amount(Decimal("1.000"), Payment("KWD", 3, Decimal(1)), kwd)
    assert (quote.gross, quote.units, quote.net) == (Decimal("1.000"), Decimal("83.3"), Decimal("1.000"))


def test_sts_maximum_is_enforced():
    with pytest.raises(ValidationError, match="more than one token can carry"):
        quote_by_units(STS_MAX_UNITS + Decimal("0.1"), USD, terms(price="0.01"))


def test_parse_decimal_accepts_thousands_separators_and_rejects_junk():
    assert parse_decimal("1,250.50", "amount", "amount") == Decimal("1250.50")
    for junk in ("1e400000", "Infinity", "0x10", "--5"):
        with pytest.raises(ValidationError):
            parse_decimal(junk, "amount", "amount")


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.30"), places=4)
prices = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("50"), places=3)


@settings(max_examples=300, deadline=None)
@given(amount=money, price=prices, vat=rates, excise=rates, inclusive=st.booleans())
def test_parts_always_add_up_and_units_never_exceed_what_was_paid(amount, price, vat, excise, inclusive):
    tariff = terms(str(price), str(vat), str(excise), inclusive)
    try:
        quote = quote_by_amount(amount, USD, tariff)
    except ValidationError as error:
        assert "less than 0.1" in str(error) or "more than one token" in str(error)
        return
    assert quote.net + quote.excise + quote.vat == quote.gross == amount
    assert quote.units * tariff.price_all_in <= quote.gross  # rounded down: never more energy than paid for
    assert (quote.units + Decimal("0.1")) * tariff.price_all_in > quote.gross - Decimal("0.000001")
    assert quote.units == quote.units.quantize(Decimal("0.1"))
    assert quote.vat >= 0 and quote.excise >= 0 and quote.net >= 0


@settings(max_examples=300, deadline=None)
@given(units=st.decimals(min_value=Decimal("0.1"), max_value=Decimal("50000"), places=1), price=prices,
       vat=rates, excise=rates, inclusive=st.booleans())
def test_by_units_charges_the_rounded_price_of_exactly_those_units(units, price, vat, excise, inclusive):
    tariff = terms(str(price), str(vat), str(excise), inclusive)
    quote = quote_by_units(units, USD, tariff)
    assert quote.units == units
    assert quote.gross == round_money(units * tariff.price_all_in, 2)
    assert quote.net + quote.excise + quote.vat == quote.gross
