"""Key types and the DKGA02 PAN block (IEC 62055-41, 6.5.3.1).

DDTK/DUTK (KT 1, 2) bind the decoder key to the DRN; DITK/DCTK (KT 0, 3)
put zeros where the DRN would be, so every meter of a supply group shares
the key. The hand-worked numbers are derived in docs/sts-key-types.md; the
DES output there was checked with OpenSSL's DES-ECB, a separate engine.
"""

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from tokencore import KeyData, credit_token, generate_decoder_key, tid_for_time
from tokencore.keys import dkga02_pan_block
from tokencore.meter import Meter

VK = bytes.fromhex("abababababababab")
METER_A = "01234567897"        # PAN 600727 01234567897 7
METER_B = "04123456784"        # another 11-digit meter of the same supply group
METER_13 = "0123456789015"     # a 13-digit meter: PAN 0000 0123456789015 x


@pytest.mark.parametrize(("kt", "drn", "block"), [
    (2, METER_A, "0072701234567897"),
    (1, METER_A, "0072701234567897"),
    (3, METER_A, "0072700000000000"),
    (0, METER_A, "0072700000000000"),
    (2, METER_13, "0000123456789015"),
    (3, METER_13, "0000000000000000"),
])
def test_pan_block_follows_the_key_type(kt, drn, block):
    from tokencore import pan_for_drn
    assert dkga02_pan_block(kt, pan_for_drn(drn)) == block


def test_common_key_hand_worked():
    # D = 0072700000000000 xor 3123456011FFFFFF = 3151356011FFFFFF
    # DES(VK, D) = 989C8E1CA05829BF;  DK = DES xor D xor VK
    kd = KeyData("123456", 1, 1, 3)
    assert generate_decoder_key(VK, kd, METER_A).hex() == "026610d71a0c7deb"
    # 13-digit DRN: D = 0000000000000000 xor 3123456011FFFFFF, DES(VK, D) = 057A90736462C6FD
    assert generate_decoder_key(VK, kd, METER_13).hex() == "9ff27eb8de3692a9"


def test_common_key_is_shared_by_the_group_unique_key_is_not():
    common = KeyData("123456", 1, 1, 3)
    unique = KeyData("123456", 1, 1, 2)
    assert generate_decoder_key(VK, common, METER_A) == generate_decoder_key(VK, common, METER_B)
    assert generate_decoder_key(VK, unique, METER_A) != generate_decoder_key(VK, unique, METER_B)
    assert generate_decoder_key(VK, common, METER_A) != generate_decoder_key(VK, unique, METER_A)
    # The IIN still separates 11- and 13-digit meters under one common key.
    assert generate_decoder_key(VK, common, METER_A) != generate_decoder_key(VK, common, METER_13)


def test_meter_accepts_a_common_key_token_made_for_its_group():
    when = datetime(2024, 3, 1, 13, 55, tzinfo=timezone.utc)
    for kt, accepted_by_b in ((3, True), (2, False)):
        kd = KeyData("123456", 1, 1, kt)
        token = credit_token(generate_decoder_key(VK, kd, METER_A), kd, 0, Decimal("12.5"),
                             tid_for_time(when, kd.base_date), 5).token
        meter_b = Meter.from_vending_key(METER_B, kd, VK)
        result = meter_b.enter(token)
        assert result.accepted is accepted_by_b
        assert meter_b.credit[0] == (Decimal("12.5") if accepted_by_b else Decimal(0))


def test_unique_key_vectors_unchanged():
    # 531-1-0-02 CTSA01: the published DUTK decoder key for PAN 600727000000000009.
    kd = KeyData("123456", 1, 1, 2)
    assert generate_decoder_key(VK, kd, "600727000000000009").hex() == "e653341f9d5bf36f"
