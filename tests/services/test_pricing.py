"""Money rules: hand-worked examples and properties that must hold for any input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokencore import (
    KeyData,
    credit_token,
    decode_token,
    generate_decoder_key,
    pan_for_drn,
    representable_amount,
    representable_amount_down,
)

from stron_tui.db.models import Tariff
from stron_tui.errors import ValidationError
from stron_tui.services.pricing import (
    STS_MAX_UNITS,
    Payment,
    TariffTerms,
    column_limits,
    fits_column,
    parse_decimal,
    price_of,
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


def test_units_mode_sells_what_a_token_carries_exactly_rounding_down():
    # 18022.5 kWh can't be carried: above 18022.4 a token counts in 10 kWh steps (18022.4, 18032.4, ...).
    # Rounded down to 18022.4 kWh and charged for those: 18022.4 x 0.20 = 3604.48.
    quote = quote_by_units(Decimal("18022.5"), USD, terms())
    assert (quote.units, quote.gross) == (Decimal("18022.4"), Decimal("3604.48"))
    # 1639.0 kWh: 1 kWh steps from 1638.4 on -> 1638.4 kWh, 327.68.
    quote = quote_by_units(Decimal("1639.0"), USD, terms())
    assert (quote.units, quote.gross) == (Decimal("1638.4"), Decimal("327.68"))


def test_amount_mode_rounds_the_units_down_to_what_a_token_carries():
    # 3604.50 / 0.20 = 18022.5 kWh -> 18022.4 on the token (the customer pays 3604.50 for 18022.4 kWh).
    quote = quote_by_amount(Decimal("3604.50"), USD, terms())
    assert (quote.units, quote.gross) == (Decimal("18022.4"), Decimal("3604.50"))


def test_a_sale_of_no_money_is_refused():
    # 0.1 kWh at 0.04 = 0.004 -> 0.00 USD: nothing is given away.
    with pytest.raises(ValidationError, match="nothing is sold for no money"):
        quote_by_units(Decimal("0.1"), USD, terms(price="0.04"))
    # Paid in a currency whose smallest amount is worth more than the sale: 0.01 USD at 655.957 XOF per USD
    # is 6.55957 XOF -> 7 XOF (rounded up, never less than the gross booked).
    quote = quote_by_units(Decimal("0.1"), Payment("XOF", 0, Decimal(1) / Decimal("655.957")), terms(price="0.1"))
    assert (quote.gross, quote.paid_amount) == (Decimal("0.01"), Decimal("7"))


def test_amounts_beyond_the_money_columns_are_refused():
    with pytest.raises(ValidationError, match="must be below"):
        quote_by_amount(Decimal("999999999999"), Payment("EUR", 2, Decimal("1000")), terms(price="1000000"))


def test_fits_column_reads_precision_and_scale_from_the_model():
    assert column_limits(Tariff.price_per_unit) == (18, 6)
    assert fits_column(Decimal("0.000001"), Tariff.price_per_unit, "Price", "price") == Decimal("0.000001")
    with pytest.raises(ValidationError, match="at most 6 decimal places"):
        fits_column(Decimal("0.0000001"), Tariff.price_per_unit, "Price", "price")
    with pytest.raises(ValidationError, match="must be below"):
        fits_column(Decimal("1000000000000"), Tariff.price_per_unit, "Price", "price")


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("0.30"), places=4)
prices = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("50"), places=3)
# Tariff currencies of every minor unit, and payments in the same or another currency.
CURRENCIES = {"USD": 2, "XOF": 0, "KWD": 3}
exchange = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("2000"), places=4)

DECODER_KEY_DATA = KeyData(sgc="600727", ti=1, krn=1, kt=2, ken=255, base_date=2014, ea="07", dkga="02")
DECODER_KEY = generate_decoder_key(bytes(range(8)), DECODER_KEY_DATA, pan_for_drn("01234567897"))


@st.composite
def sales(draw):
    tariff_currency = draw(st.sampled_from(sorted(CURRENCIES)))
    tariff = TariffTerms("T", "kWh", draw(prices), tariff_currency, CURRENCIES[tariff_currency], draw(rates),
                         draw(rates), draw(st.booleans()))
    paid_currency = draw(st.sampled_from(sorted(CURRENCIES)))
    rate = Decimal(1) if paid_currency == tariff_currency else draw(exchange)
    payment = Payment(paid_currency, CURRENCIES[paid_currency], rate)
    mode = draw(st.sampled_from(["amount", "units"]))
    if mode == "amount":
        value = draw(st.decimals(min_value=Decimal(1).scaleb(-payment.minor_unit), max_value=Decimal("500000"),
                                 places=payment.minor_unit))
    else:
        value = draw(st.decimals(min_value=Decimal("0.1"), max_value=STS_MAX_UNITS, places=1))
    return mode, value, payment, tariff


@settings(max_examples=400, deadline=None)
@given(sale=sales())
def test_no_token_carries_more_than_was_paid_for(sale):
    mode, value, payment, tariff = sale
    try:
        quote = (quote_by_amount if mode == "amount" else quote_by_units)(value, payment, tariff)
    except ValidationError as error:
        assert any(reason in str(error) for reason in (
            "less than 0.1", "more than one token", "no money", "smallest", "must be below")), str(error)
        return
    minor = tariff.currency_minor_unit
    # Paid, in the tariff currency, covers the price of the units the token carries; nothing is free.
    assert quote.paid_amount * payment.rate >= quote.gross > 0
    assert quote.gross >= price_of(quote.units, tariff)
    assert quote.units * tariff.price_all_in <= quote.gross or quote.gross == price_of(quote.units, tariff)
    # The token carries exactly the receipt's units.
    credit = credit_token(DECODER_KEY, DECODER_KEY_DATA, 0, quote.units, 1000)
    assert credit.units == quote.units
    assert decode_token(credit.token, DECODER_KEY, DECODER_KEY_DATA).amount == quote.units
    # Parts sum to the gross, none negative, all in the currency's minor unit.
    assert quote.net + quote.excise + quote.vat == quote.gross
    assert min(quote.net, quote.excise, quote.vat) >= 0
    assert all(part == round_money(part, minor) for part in (quote.gross, quote.net, quote.excise, quote.vat))
    if mode == "amount":
        assert quote.paid_amount == value
        # Rounded down, but by less than one step of what a token carries: the next carriable amount costs more.
        assert (representable_amount(quote.units + Decimal("0.1")) * tariff.price_all_in
                > quote.gross - Decimal(1).scaleb(-minor))
    else:
        assert quote.units <= value and quote.units == representable_amount_down(value)
        assert quote.gross == price_of(quote.units, tariff)
