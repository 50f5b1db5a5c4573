"""Meter numbers, amounts and TIDs."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from tokencore import (MAX_AMOUNT, AmountOutOfRange, BaseDateExhausted, InvalidKeyData,
                       InvalidMeterNumber, KeyData, KeyExpired, TimeBeforeBaseDate, decode_amount,
                       drn_check_digit, encode_amount, next_tid, pan_for_drn, representable_amount,
                       representable_amount_down, tid_for_time, time_for_tid, validate_drn,
                       validate_pan, format_token)

UTC = timezone.utc


# -- identity ---------------------------------------------------------------

def test_pan_examples_from_the_standard():
    assert pan_for_drn("00000000000") == "600727000000000009"
    assert pan_for_drn("0100000000008") == "000001000000000082"
    assert validate_pan("600727000000000009") == "600727000000000009"


def test_wrong_check_digit_message():
    with pytest.raises(InvalidMeterNumber, match="Meter number 12345678901 has a wrong check digit: expected 3"):
        validate_drn("12345678901")
    assert validate_drn("1234 5678 903") == "12345678903"


@pytest.mark.parametrize("bad", ["", "123", "123456789012", "12345678901234", "1234567890a"])
def test_wrong_lengths_and_characters(bad):
    with pytest.raises(InvalidMeterNumber):
        validate_drn(bad)


def test_check_digit_helper_for_serial_runs():
    run = [drn_check_digit(f"{n:010d}") for n in range(4710000000, 4710000010)]
    for n, digit in zip(range(4710000000, 4710000010), run):
        assert validate_drn(f"{n:010d}{digit}")
    assert drn_check_digit("010000000000") == "8"
    with pytest.raises(InvalidMeterNumber):
        drn_check_digit("12345")


def test_pan_wrong_check_digit():
    with pytest.raises(InvalidMeterNumber, match="expected 9"):
        validate_pan("600727000000000008")


def test_key_data_validation():
    with pytest.raises(InvalidKeyData, match="EA11"):
        KeyData("123456", 1, 1, 2, ea="11", dkga="02")
    with pytest.raises(InvalidKeyData, match="Supply group code"):
        KeyData("12345", 1, 1, 2)
    with pytest.raises(InvalidKeyData, match="Base date"):
        KeyData("123456", 1, 1, 2, base_date=2000)
    assert KeyData("123456", "01", 1, 2, ea=7, dkga="DKGA04").ea == "07"


def test_format_token():
    assert format_token("23716100501183194197") == "2371 6100 5011 8319 4197"


# -- amounts ----------------------------------------------------------------

@pytest.mark.parametrize("units, field, credited", [
    ("0", 0x0000, "0"),
    ("0.1", 0x0001, "0.1"),
    ("0.05", 0x0001, "0.1"),            # rounded up for the customer
    ("1638.3", 0x3FFF, "1638.3"),       # top of exponent 0
    ("1638.4", 0x4000, "1638.4"),       # start of exponent 1
    ("1638.45", 0x4001, "1639.4"),
    ("18021.4", 0x7FFF, "18021.4"),     # top of exponent 1
    ("18022.3", 0x8000, "18022.4"),     # in the gap: up to the start of exponent 2
    ("18022.4", 0x8000, "18022.4"),
    ("181852.4", 0xBFFF, "181852.4"),   # top of exponent 2
    ("181852.5", 0xC000, "181862.4"),   # gap before exponent 3
    ("181862.4", 0xC000, "181862.4"),   # start of exponent 3
    ("182022.3", 0xC002, "182062.4"),   # exponent 3 steps by 100 units
    ("182062.4", 0xC002, "182062.4"),
    ("1820162.4", 0xFFFF, "1820162.4"),
])
def test_amount_boundaries(units, field, credited):
    assert encode_amount(Decimal(units)) == field
    assert decode_amount(field) == Decimal(credited)
    assert representable_amount(Decimal(units)) == Decimal(credited)


def test_amount_exponent_starts():
    assert decode_amount(0x4000) == Decimal("1638.4")
    assert decode_amount(0x8000) == Decimal("18022.4")
    assert decode_amount(0xC000) == Decimal("181862.4")
    assert decode_amount(0xFFFF) == MAX_AMOUNT


def test_amount_above_max_and_negative():
    with pytest.raises(AmountOutOfRange, match="1820162.4"):
        encode_amount(Decimal("1820162.5"))
    with pytest.raises(AmountOutOfRange):
        encode_amount(Decimal("-1"))
    with pytest.raises(TypeError):
        encode_amount(12.5)


def test_round_down_helper():
    assert representable_amount_down(Decimal("1638.45")) == Decimal("1638.4")
    assert representable_amount_down(Decimal("18022.3")) == Decimal("18021.4")
    assert representable_amount_down(Decimal("25.67")) == Decimal("25.6")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=18201624))
def test_amount_rounds_up_to_least_representable(tenths):
    units = Decimal(tenths) / 10
    field = encode_amount(units)
    got = decode_amount(field)
    assert got >= units
    if field & 0x3FFF or field >> 14 == 0:
        below = decode_amount(field - 1) if field else Decimal(-1)
        assert below < units  # nothing smaller would have covered it
    assert representable_amount_down(units) <= units


# -- TIDs -------------------------------------------------------------------

def test_tid_examples():
    assert tid_for_time(datetime(2004, 3, 1, 13, 55, tzinfo=UTC), 1993) == 0x599863
    assert time_for_tid(0x599863, 1993) == datetime(2004, 3, 1, 13, 55, tzinfo=UTC)
    assert tid_for_time(datetime(2014, 1, 1, tzinfo=UTC), 2014) == 0
    assert tid_for_time(datetime(2035, 1, 1, 8, tzinfo=UTC), 2035) == 480


def test_reserved_minute_is_skipped():
    kd = KeyData("123456", 1, 1, 2)
    midnight = datetime(2020, 5, 5, tzinfo=UTC)
    t0 = tid_for_time(midnight, 1993)
    assert tid_for_time(midnight + timedelta(minutes=1), 1993) == t0 + 2
    assert next_tid(midnight, None, kd) == t0
    assert next_tid(midnight, t0, kd) == t0 + 2           # 00:01 never issued
    assert next_tid(midnight, t0 + 5, kd) == t0 + 6        # max(now, last + 1)
    day_end = t0 + 1439
    assert next_tid(midnight, day_end, kd) == day_end + 1  # 00:00 next day is fine


def test_base_date_1993_exhausted_needs_key_change():
    kd = KeyData("123456", 1, 1, 2, base_date=1993)
    assert next_tid(datetime(2024, 11, 23, tzinfo=UTC), None, kd) < 1 << 24
    with pytest.raises(BaseDateExhausted, match="key change to base date 2014"):
        next_tid(datetime(2024, 11, 25, tzinfo=UTC), None, kd)
    with pytest.raises(BaseDateExhausted, match="key change"):
        tid_for_time(datetime(2030, 1, 1, tzinfo=UTC), 1993)
    with pytest.raises(BaseDateExhausted, match="2035"):
        tid_for_time(datetime(2046, 1, 1, tzinfo=UTC), 2014)
    with pytest.raises(TimeBeforeBaseDate):
        tid_for_time(datetime(2030, 1, 1, tzinfo=UTC), 2035)


def test_ken_expiry():
    kd = KeyData("123456", 1, 1, 2, ken=0x59, base_date=1993)
    assert next_tid(datetime(2004, 3, 1, tzinfo=UTC), None, kd) >> 16 == 0x59
    with pytest.raises(KeyExpired, match="key change"):
        next_tid(datetime(2005, 1, 1, tzinfo=UTC), None, kd)
