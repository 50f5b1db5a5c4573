"""The small rules every door shares, each written once in stron_tui.domain."""

from __future__ import annotations

import pytest

from stron_tui.domain.meters import meter_number
from stron_tui.domain.operators import operator_label
from stron_tui.domain.tokens import grouped
from stron_tui.errors import ValidationError


def test_a_token_is_shown_in_groups_of_four():
    assert grouped("23716100501183194197") == "2371 6100 5011 8319 4197"
    assert grouped("2371 6100 5011 8319 4197") == "2371 6100 5011 8319 4197"  # grouped already: unchanged
    assert grouped("") == ""  # a debt payment has no token
    assert grouped("not a token") == "not a token"


def test_the_operator_label_names_the_cashier_or_the_api_account():
    assert operator_label("till3") == "till3"
    assert operator_label("till3", "Partner A") == "till3"
    assert operator_label(None, "Partner A") == "API Partner A"
    assert operator_label(None) == "(API)"  # an API sale whose account name the caller did not read


def test_a_meter_number_is_checked_with_its_check_digit_and_names_the_field():
    assert meter_number("01234567897") == "01234567897"
    assert meter_number(" 0123-4567-897 ") == "01234567897"
    with pytest.raises(ValidationError) as wrong_digit:
        meter_number("01234567891", field="meter")
    assert wrong_digit.value.field == "meter" and "check digit" in str(wrong_digit.value).lower()
    with pytest.raises(ValidationError) as too_short:
        meter_number("12345")
    assert too_short.value.field == "meter_number"
