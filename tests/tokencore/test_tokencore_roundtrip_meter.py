"""Round trips through encode, decode and the meter simulator, for every algorithm and class."""

from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache

import pytest
from hypothesis import given, settings, strategies as st

from tokencore import (KeyData, TokenCipher, TokenCRCError, MalformedToken, class1_token,
                       credit_token, decode_token, generate_decoder_key, key_change_tokens,
                       management_token, pan_for_drn, tid_for_time, time_for_tid)
from tokencore.meter import EXPIRED, OLD, REJECT, USED, ERROR, Meter

UTC = timezone.utc
VK8 = bytes.fromhex("abababababababab")
VK20 = bytes.fromhex("abababababababab949494949494949401234567")
DRN = "00000000000"
COMBOS = [("07", "02"), ("09", "02"), ("07", "04"), ("09", "04"), ("11", "04")]
BASES = [1993, 2014, 2035]


def vk_for(kd):
    return VK8 if kd.dkga == "02" else VK20


@lru_cache(maxsize=None)
def setup(ea, dkga, base_date):
    kd = KeyData("123456", 1, 1, 2, 255, base_date, ea, dkga)
    dk = generate_decoder_key(vk_for(kd), kd, DRN)
    return kd, dk, TokenCipher(dk, ea)


combo = st.sampled_from([(ea, dkga, b) for ea, dkga in COMBOS for b in BASES])
tids = st.integers(min_value=0, max_value=(1 << 24) - 1)
field_subclasses = st.sampled_from([0, 1, 2, 5, 6, 7])


@settings(max_examples=120, deadline=None)
@given(combo, st.integers(0, 7), st.integers(0, 18201624), tids, st.integers(0, 15),
       st.sampled_from([DRN, "0100000000008"]))
def test_credit_round_trip_and_meter(params, subclass, tenths, tid, rnd, drn):
    kd, _, _ = setup(*params)
    dk = generate_decoder_key(vk_for(kd), kd, drn)
    cipher = TokenCipher(dk, kd.ea)
    units = Decimal(tenths) / 10
    issued = credit_token(cipher, kd, subclass, units, tid, rnd)
    assert len(issued.token) == 20 and issued.token.isdigit()
    assert issued.units >= units
    d = decode_token(issued.token, dk, kd)
    assert (d.token_class, d.subclass, d.tid, d.rnd, d.amount) == (0, subclass, tid, rnd, issued.units)
    assert d.issued_at == time_for_tid(tid, kd.base_date)
    meter = Meter(drn, kd, dk)
    first = meter.enter(issued.token)
    assert first.accepted and first.amount == issued.units
    assert meter.credit[subclass] == issued.units
    second = meter.enter(issued.token)
    assert not second.accepted and second.reason == USED
    assert meter.credit[subclass] == issued.units


@settings(max_examples=80, deadline=None)
@given(combo, field_subclasses, st.integers(0, 0xFFFF), tids)
def test_management_round_trip_and_meter(params, subclass, field, tid):
    kd, dk, cipher = setup(*params)
    if subclass == 1:
        field = field % 8 if field != 0xFFFF else field
    issued = management_token(cipher, kd, subclass, field, tid)
    d = decode_token(issued.token, cipher, kd)
    assert (d.token_class, d.subclass, d.tid, d.field) == (2, subclass, tid, field)
    meter = Meter(DRN, kd, dk)
    assert meter.enter(issued.token).accepted
    assert meter.enter(issued.token).reason == USED


@settings(max_examples=40, deadline=None)
@given(combo, st.integers(0, 15), st.integers(0, 255), st.booleans(), st.integers(1, 9))
def test_key_change_round_trip(params, ti, ken, rollover, krn):
    kd, dk, cipher = setup(*params)
    new = KeyData("654321", ti, krn, 1, ken, kd.base_date, kd.ea, kd.dkga)
    ndk = generate_decoder_key(vk_for(new), new, DRN)
    tokens = key_change_tokens(cipher, kd, ndk, new, rollover)
    assert len(tokens) == (4 if kd.ea == "11" else 2)
    parts = [decode_token(t, dk, kd).key_change for t in tokens]
    assert (parts[0].krn, parts[0].kt, parts[0].rollover, parts[1].ti) == (krn, 1, rollover, ti)
    assert (parts[0].ken_high << 4 | parts[1].ken_low) == ken
    meter = Meter(DRN, kd, dk)
    for t in tokens:
        assert meter.enter(t, new_key_data=new).accepted
    assert meter.key_data == new


@pytest.mark.parametrize("ea, dkga", COMBOS)
def test_every_single_digit_change_is_rejected(ea, dkga):
    kd, dk, cipher = setup(ea, dkga, 1993)
    token = credit_token(cipher, kd, 0, Decimal("25.5"), 6000000, 5).token
    meter = Meter(DRN, kd, dk)
    for pos in range(20):
        for delta in (1, 5):
            digits = list(token)
            digits[pos] = str((int(digits[pos]) + delta) % 10)
            bad = "".join(digits)
            with pytest.raises((TokenCRCError, MalformedToken)):
                decode_token(bad, cipher, kd)
            assert meter.enter(bad).reason in (REJECT, ERROR)
    assert meter.credit[0] == 0
    assert meter.enter(token).accepted


def test_class1_round_trip_and_meter():
    for sub, ctl, mfr in [(0, 1, 0), (0, (1 << 36) - 1, 255), (1, 12345, 65535)]:
        t = class1_token(sub, ctl, mfr)
        d = decode_token(t, None, None)
        assert (d.token_class, d.subclass, d.control, d.manufacturer_code) == (1, sub, ctl, mfr)
    kd, dk, _ = setup("07", "02", 1993)
    assert Meter(DRN, kd, dk).enter(class1_token(0, 1, 0)).accepted


def test_wrong_key_is_rejected():
    kd, dk, cipher = setup("07", "02", 1993)
    other = KeyData("123456", 2, 1, 2)
    token = credit_token(generate_decoder_key(VK8, other, DRN), other, 0, 5, 6000000).token
    result = Meter(DRN, kd, dk).enter(token)
    assert (result.accepted, result.reason) == (False, REJECT)
    with pytest.raises(TokenCRCError, match="CRC"):
        decode_token(token, cipher, kd)


def test_old_token_beyond_memory():
    kd, dk, cipher = setup("07", "02", 1993)
    meter = Meter(DRN, kd, dk)
    old = credit_token(cipher, kd, 0, 1, 6000000).token
    for i in range(50):
        assert meter.enter(credit_token(cipher, kd, 0, 1, 6000001 + i).token).accepted
    assert meter.enter(old).reason == OLD
    # Older than some but newer than the oldest remembered: still fine.
    assert meter.enter(credit_token(cipher, kd, 0, 1, 6000100).token).accepted
    assert meter.credit[0] == 51


def test_older_token_accepted_while_memory_not_full():
    kd, dk, cipher = setup("07", "02", 1993)
    meter = Meter(DRN, kd, dk)
    assert meter.enter(credit_token(cipher, kd, 0, 1, 6000010).token).accepted
    assert meter.enter(credit_token(cipher, kd, 0, 1, 6000000).token).accepted


def test_expired_key():
    kd = KeyData("123456", 1, 1, 2, ken=0x59)
    dk = generate_decoder_key(VK8, kd, DRN)
    full = KeyData("123456", 1, 1, 2, ken=255)
    # Issued under KEN 255 (same decoder key: KEN is not part of DKGA02) but beyond KEN 0x59.
    token = credit_token(dk, full, 0, 1, 0x5A0000).token
    assert Meter(DRN, kd, dk).enter(token).reason == EXPIRED
    assert Meter(DRN, kd, dk).enter(credit_token(dk, kd, 0, 1, 0x59FFFF).token).accepted


def test_management_effects():
    kd, dk, c = setup("07", "02", 1993)
    m = Meter(pan_for_drn(DRN), kd, dk)
    for sub, amount in [(0, 10), (1, 20), (2, 30)]:
        m.enter(credit_token(c, kd, sub, amount, 6000000 + sub).token)
    assert m.enter(management_token(c, kd, 1, 1, 6000010).token).accepted    # clear water only
    assert (m.credit[0], m.credit[1], m.credit[2]) == (10, 0, 30)
    assert m.enter(management_token(c, kd, 1, 0xFFFF, 6000011).token).accepted
    assert all(v == 0 for v in m.credit.values())
    m.set_tamper()
    assert m.tamper
    assert m.enter(management_token(c, kd, 5, 0, 6000012).token).accepted
    assert not m.tamper
    assert m.enter(management_token(c, kd, 0, 1000, 6000013).token).accepted
    assert m.power_limit == 1000
    assert m.enter(management_token(c, kd, 6, 0x4001, 6000014).token).accepted
    assert m.phase_unbalance_limit == 16394
    assert m.enter(management_token(c, kd, 2, 77, 6000015).token).accepted
    assert m.tariff_rate == 77
    assert m.enter(management_token(c, kd, 7, 3, 6000016).token).accepted
    assert m.water_meter_factor == 3


def test_kct_pair_then_new_key_accepted_old_rejected():
    old = KeyData("201457", 1, 1, 2, 255, 2014, "07", "04")
    new = KeyData("201457", 2, 1, 2, 255, 2014, "07", "04")
    odk, ndk = (generate_decoder_key(VK20, k, DRN) for k in (old, new))
    meter = Meter(DRN, old, odk)
    assert meter.enter(credit_token(odk, old, 0, 5, 5000000).token).accepted
    first, second = key_change_tokens(odk, old, ndk, new, False)
    r1 = meter.enter(first)
    assert r1.accepted and not r1.key_changed and meter.pending_key_change == (3,)
    r2 = meter.enter(second)
    assert r2.key_changed and meter.key_data == new
    assert meter.tids == [5000000]                        # no rollover: memory kept
    assert meter.enter(credit_token(ndk, new, 0, 2, 5000001).token).accepted
    assert meter.enter(credit_token(odk, old, 0, 2, 5000002).token).reason == REJECT
    assert meter.enter(first).reason == REJECT            # KCT made with the old key
    assert meter.credit[0] == 7


def test_kct_quad_ea11_with_rollover_to_2014():
    old = KeyData("123457", 1, 1, 2, 255, 1993, "11", "04")
    new = KeyData("123457", 2, 4, 2, 255, 2014, "11", "04")
    odk, ndk = (generate_decoder_key(VK20, k, DRN) for k in (old, new))
    meter = Meter(DRN, old, odk)
    late = tid_for_time(datetime(2024, 11, 1, tzinfo=UTC), 1993)
    assert meter.enter(credit_token(odk, old, 0, 1, late).token).accepted
    tokens = key_change_tokens(odk, old, ndk, new, True)
    assert len(tokens) == 4
    results = [meter.enter(t) for t in tokens]           # no hint: rollover moves the base date
    assert [r.key_changed for r in results] == [False, False, False, True]
    assert meter.key_data == new
    assert meter.tids == []                              # rollover cleared the TID memory
    tid = tid_for_time(datetime(2025, 1, 1, tzinfo=UTC), 2014)
    assert tid < late
    assert meter.enter(credit_token(ndk, new, 0, 3, tid).token).accepted
    assert meter.enter(credit_token(odk, old, 0, 3, late + 5).token).reason == REJECT
    assert meter.credit[0] == 4
