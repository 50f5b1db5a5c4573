"""The revenue model's order of deductions, worked by hand (docs/money.md, "Blocks, charges, debt, free units")."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings, strategies as st

from stron_tui.errors import ValidationError
from stron_tui.services.pricing import (
    AccountState,
    Block,
    Payment,
    RecoveryRule,
    Schedule,
    TariffTerms,
    charges_after,
    charges_due,
    check_revenue_sale,
    encodable_down,
    revenue_by_amount,
    revenue_by_units,
    roll_position,
    validate_blocks,
    validate_recovery,
)

USD = Payment("USD", 2, D(1))
XOF = Payment("XOF", 0, D(1))


def terms(currency="USD", minor=2, *, included=True, vat="0.15"):
    return TariffTerms("Steps", "kWh", D("0.10"), currency, minor, D(vat), D(0), included)


STEPS_USD = Schedule(blocks=(Block(D(50), D("0.10")), Block(D(200), D("0.20")), Block(None, D("0.30"))),
                     fixed_charge=D("5.00"), fixed_charge_vat=True, version_id=7)
STEPS_XOF = Schedule(blocks=(Block(D(50), D(60)), Block(D(200), D(90)), Block(None, D(120))),
                     fixed_charge=D(1000), fixed_charge_vat=True)
QUARTER = RecoveryRule(percent=D("0.25"))


def position(schedule, tariff, *, debt=D(100), month_units=D(40), rule=QUARTER, **state):
    account = AccountState(debt=debt, recovery=rule, usage_month="2026-12", month_units=month_units, **state)
    return roll_position(account, schedule, tariff, "2026-12", "2026-12-01")


def amounts(quote):
    return [(line.position, line.units, line.amount) for line in quote.blocks]


def test_two_blocks_fixed_charge_and_quarter_debt_vat_included_usd():
    tariff = terms()
    quote = revenue_by_amount(D("40.00"), USD, tariff, STEPS_USD, position(STEPS_USD, tariff))
    assert quote.debt_recovered == D("10.00") and quote.debt_after == D("90.00")
    assert quote.fixed_charge == D("5.00") and quote.fixed_charge_months == 1
    assert quote.fixed_charge_vat == D("0.65")  # 5.00 x 0.15 / 1.15 = 0.652
    assert quote.energy == D("25.00")
    assert amounts(quote) == [(1, D(10), D("1.00")), (2, D("120.0"), D("24.00"))]
    assert quote.units == D("130.0")
    assert quote.vat == D("3.91")  # 0.65 + 25.00 x 0.15 / 1.15 = 3.26
    assert quote.net == D("36.09") and quote.excise == 0
    assert quote.debt_recovered + quote.fixed_charge + quote.energy == quote.gross == D("40.00")
    assert quote.tariff_version_id == 7


def test_two_blocks_fixed_charge_and_quarter_debt_vat_excluded_usd():
    tariff = terms(included=False)
    quote = revenue_by_amount(D("40.00"), USD, tariff, STEPS_USD, position(STEPS_USD, tariff))
    assert quote.debt_recovered == D("10.00")
    assert quote.fixed_charge == D("5.75")  # 5.00 + 15 % VAT
    assert quote.fixed_charge_vat == D("0.75")
    assert quote.energy == D("24.25")
    # 10 kWh x 0.115 = 1.15 fills block 1; 23.10 / 0.23 = 100.43 -> 100.4 kWh in block 2
    assert amounts(quote) == [(1, D(10), D("1.15")), (2, D("100.4"), D("23.10"))]
    assert quote.units == D("110.4")
    assert quote.vat == D("3.91")  # 0.75 + 24.25 x 0.15 / 1.15 = 3.16


def test_two_blocks_fixed_charge_and_quarter_debt_zero_decimal_xof():
    tariff = terms("XOF", 0, vat="0.18")
    quote = revenue_by_amount(D(20000), XOF, tariff, STEPS_XOF, position(STEPS_XOF, tariff, debt=D(50000)))
    assert quote.debt_recovered == D(5000)
    assert quote.fixed_charge == D(1000) and quote.fixed_charge_vat == D(153)  # 152.54 -> 153
    assert quote.energy == D(14000)
    # 10 kWh x 60 = 600 fills block 1; 13,400 / 90 = 148.88 -> 148.8 kWh
    assert amounts(quote) == [(1, D(10), D(600)), (2, D("148.8"), D(13400))]
    assert quote.units == D("158.8")
    assert quote.vat == D(153) + D(2136)  # 14,000 x 0.18 / 1.18 = 2,135.59 -> 2,136
    assert quote.debt_recovered + quote.fixed_charge + quote.energy == D(20000)


def test_by_units_charges_the_smallest_payment_that_buys_them():
    tariff = terms()
    quote = revenue_by_units(D(130), USD, tariff, STEPS_USD, position(STEPS_USD, tariff))
    # energy 10 x 0.10 + 120 x 0.20 = 25.00; smallest G with G - floor(G x 0.25) - 5.00 >= 25.00:
    # 39.99 - 9.99 - 5.00 = 25.00 (39.98 leaves 24.99)
    assert quote.gross == D("39.99") and quote.units == D(130)
    assert quote.debt_recovered == D("9.99") and quote.energy == D("25.00")


def test_purchase_smaller_than_the_fixed_charge_pays_part_of_it_and_buys_nothing():
    tariff = terms()
    where = position(STEPS_USD, tariff, debt=D(0))
    quote = revenue_by_amount(D("3.00"), USD, tariff, STEPS_USD, where)
    assert (quote.fixed_charge, quote.energy, quote.units) == (D("3.00"), D(0), D(0))
    with pytest.raises(ValidationError, match="buys less than 0.1 kWh"):
        check_revenue_sale(quote, tariff, STEPS_USD, where)
    paid_month, part = charges_after(where, quote.fixed_charge)
    assert (paid_month, part) == ("2026-11", D("3.00"))  # December not yet paid in full; 3.00 toward it
    later = roll_position(AccountState(charge_paid_month=paid_month, charge_part_paid=part), STEPS_USD, tariff,
                          "2026-12", "2026-12-02")
    assert later.charge_due == D("2.00")


def test_unpaid_months_accrue_up_to_the_limit_or_lapse():
    assert charges_due(D(5), "2026-08", D(0), "2026-12", 3) == (3, D(15), D(0))  # Sep..Dec: 4, only 3 accrue
    assert charges_due(D(5), "2026-10", D(2), "2026-12", 3) == (2, D(8), D(2))
    assert charges_due(D(5), "2026-08", D(2), "2026-12", 0) == (1, D(5), D(0))  # lapse: this month only
    assert charges_due(D(5), "2026-12", D(0), "2026-12", 3) == (0, D(0), D(0))


def test_debt_share_respects_the_month_limit_and_the_minimum_for_energy():
    tariff = terms()
    flat = Schedule(blocks=(Block(None, D("0.10")),))
    rule = RecoveryRule(percent=D("0.5"), fixed=D("1.00"), month_limit=D("12.00"), min_energy=D("8.00"))
    where = position(flat, tariff, rule=rule, month_recovered=D("5.00"))
    quote = revenue_by_amount(D("20.00"), USD, tariff, flat, where)
    assert quote.debt_recovered == D("7.00")  # 10.00 + 1.00 capped by 12.00 - 5.00
    where = position(flat, tariff, rule=rule)
    assert revenue_by_amount(D("20.00"), USD, tariff, flat, where).debt_recovered == D("11.00")
    assert revenue_by_amount(D("10.00"), USD, tariff, flat, where).debt_recovered == D("2.00")  # 8.00 left


def test_free_units_once_a_month_with_the_first_block_price_as_subsidy():
    tariff = terms()
    first = roll_position(AccountState(free_units=D(50)), STEPS_USD, tariff, "2026-12", "2026-12-01")
    quote = revenue_by_amount(D("10.00"), USD, tariff, STEPS_USD, first)
    assert quote.free_units == D(50) and quote.subsidy == D("5.00")
    again = roll_position(AccountState(free_units=D(50), free_issued_month="2026-12"), STEPS_USD, tariff,
                          "2026-12", "2026-12-09")
    assert again.free_units_due == 0
    january = roll_position(AccountState(free_units=D(50), free_issued_month="2026-12"), STEPS_USD, tariff,
                            "2027-01", "2027-01-01")
    assert january.free_units_due == D(50)


def test_caps_say_what_is_left():
    tariff = terms()
    capped = Schedule(blocks=(Block(None, D("0.10")),), cap_units_month=D(300))
    where = position(capped, tariff, debt=D(0), month_units=D(250))
    quote = revenue_by_amount(D("10.00"), USD, tariff, capped, where)
    with pytest.raises(ValidationError, match="allows 300 kWh per account this month; 50 kWh left"):
        check_revenue_sale(quote, tariff, capped, where)


@pytest.mark.parametrize("blocks, message", [
    ([Block(D(100), D("0.1")), Block(D(50), D("0.2")), Block(None, D("0.3"))], "must end above 100"),
    ([Block(D(100), D("0.1")), Block(D(100), D("0.2")), Block(None, D("0.3"))], "must end above 100"),
    ([Block(D(100), D(0)), Block(None, D("0.3"))], "price must be more than 0"),
    ([Block(D(100), D("-1")), Block(None, D("0.3"))], "price must be more than 0"),
    ([Block(D(100), D("0.1")), Block(D(200), D("0.3"))], "leave its upper bound blank"),
    ([], "at least one block"),
])
def test_bad_blocks_are_refused_at_the_field(blocks, message):
    with pytest.raises(ValidationError, match=message) as caught:
        validate_blocks(blocks)
    assert caught.value.field.startswith("blocks")


def test_recovery_over_100_percent_is_refused():
    with pytest.raises(ValidationError, match="between 0 and 100") as caught:
        validate_recovery(RecoveryRule(percent=D("1.01")))
    assert caught.value.field == "recovery_percent"


# Properties --------------------------------------------------------------------------------------------------

money = st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2)
prices = st.decimals(min_value=D("0.001"), max_value=D("3"), places=3)


@st.composite
def cases(draw):
    minor = draw(st.sampled_from([0, 2]))
    count = draw(st.integers(1, 3))
    bounds = sorted(draw(st.sets(st.integers(1, 5000), min_size=count - 1, max_size=count - 1)))
    scale = D(100) if minor == 0 else D(1)
    blocks = tuple(Block(D(bound) / 10 if index < count - 1 else None, draw(prices) * scale)
                   for index, bound in enumerate(bounds + [0]))
    schedule = Schedule(blocks=blocks, fixed_charge=draw(st.sampled_from([D(0), D(5), D("7.35")])) * scale,
                        fixed_charge_vat=draw(st.booleans()), accrue_months=draw(st.integers(0, 3)))
    tariff = TariffTerms("P", "kWh", blocks[0].price, "C", minor, draw(st.sampled_from([D(0), D("0.15"), D("0.18")])),
                         draw(st.sampled_from([D(0), D("0.02")])), draw(st.booleans()))
    rule = RecoveryRule(percent=draw(st.sampled_from([D(0), D("0.25"), D(1)])),
                        fixed=draw(st.sampled_from([D(0), D(1)])) * scale,
                        month_limit=draw(st.sampled_from([None, D(20) * scale])),
                        min_energy=draw(st.sampled_from([D(0), D(2) * scale])))
    state = AccountState(debt=draw(st.sampled_from([D(0), D("33.33"), D(1000)])) * scale, recovery=rule,
                         usage_month="2026-12", month_units=D(draw(st.integers(0, 6000))) / 10,
                         charge_paid_month=draw(st.sampled_from([None, "2026-09", "2026-11", "2026-12"])),
                         charge_part_paid=draw(st.sampled_from([D(0), D(2)])))
    where = roll_position(state, schedule, tariff, "2026-12", "2026-12-01")
    payment = Payment("C", minor, D(1))
    return tariff, schedule, where, payment, minor


def _check_parts(quote, tariff, where):
    parts = (quote.debt_recovered, quote.fixed_charge, quote.energy, quote.vat, quote.excise, quote.net,
             *(line.amount for line in quote.blocks), *(line.units for line in quote.blocks))
    assert all(part >= 0 for part in parts)
    assert quote.debt_recovered + quote.fixed_charge + quote.energy == quote.gross
    assert quote.net + quote.vat + quote.excise == quote.gross
    assert sum(line.amount for line in quote.blocks) == quote.energy or not quote.blocks
    assert sum(line.units for line in quote.blocks) == quote.units
    assert sum(line.units * line.price_all_in for line in quote.blocks) <= quote.energy  # never more than paid for
    assert quote.debt_recovered <= where.debt and quote.fixed_charge <= where.charge_due


@settings(max_examples=300, deadline=None)
@given(cases(), money)
def test_by_amount_parts_sum_to_the_payment(case, amount):
    tariff, schedule, where, payment, minor = case
    amount = amount.quantize(D(1)) * 10 if minor == 0 else amount
    _check_parts(revenue_by_amount(amount, payment, tariff, schedule, where), tariff, where)


@settings(max_examples=300, deadline=None)
@given(cases(), st.integers(1, 20000))
def test_by_units_parts_sum_to_the_payment(case, tenths):
    tariff, schedule, where, payment, minor = case
    quote = revenue_by_units(D(tenths) / 10, payment, tariff, schedule, where)
    _check_parts(quote, tariff, where)
    assert quote.units == encodable_down(D(tenths) / 10)  # what a token carries
