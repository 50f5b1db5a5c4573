"""Decoder key generation: DKGA02 (DES based) and DKGA04 (HMAC-SHA-256 based).

The decoder key is returned in canonical big-endian byte order, the order
DES and HMAC produce it; every cipher here takes it in that order.

Key types (KT) and the DKGA02 PAN block (IEC 62055-41, 6.5.2.3 and 6.5.3.1):

====  =====  ==========================  =====================================
KT    name   what it is                  PAN block (16 digits)
====  =====  ==========================  =====================================
0     DITK   initialisation key          IIN digits + zeros (no DRN)
1     DDTK   default key                 IIN digits + DRN
2     DUTK   unique key (the usual one)  IIN digits + DRN
3     DCTK   common key (magnetic cards) IIN digits + zeros (no DRN)
====  =====  ==========================  =====================================

"IIN digits" are the 5 least significant digits of IIN 600727 (11-digit DRN)
or the 3 of IIN 0000 (13-digit DRN), in positions 15 down to 11 (or 13).
Section 6.5.3.1 binds the DRN into the PAN block for DDTK and DUTK decoders
only: a common key is shared by every meter of its supply group, so the DRN
positions are zeros and every meter of the group gets the same key.
Worked example in docs/sts-key-types.md and tests/tokencore/test_tokencore_key_types.py.
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from .dea import DES
from .errors import InvalidKeyData
from .identity import IIN_11, IIN_13, meter_pan
from .keydata import KeyData


def _check_vending_key(vending_key: bytes, key_data: KeyData) -> bytes:
    if not isinstance(vending_key, (bytes, bytearray)):
        raise InvalidKeyData("The vending key must be given as bytes.")
    want = key_data.vending_key_bytes
    if len(vending_key) != want:
        raise InvalidKeyData(
            f"A DKGA{key_data.dkga} vending key is {want * 8} bits ({want} bytes), "
            f"not {len(vending_key)} bytes."
        )
    return bytes(vending_key)


@lru_cache(maxsize=64)
def _des_for(vending_key: bytes) -> DES:
    # A vending key serves a whole supply group: keep its DES schedule.
    return DES(vending_key)


# Key types whose decoder key is bound to the meter's DRN (IEC 62055-41, 6.5.3.1).
DRN_BOUND_KEY_TYPES = frozenset({1, 2})


def dkga02_pan_block(key_type: int, pan: str) -> str:
    """The 16-digit DKGA02 PAN block of an 18-digit meter PAN for a key type.

    DDTK/DUTK (KT 1, 2): the IIN's least significant digits then the DRN,
    which is digits 2..17 of the PAN. DITK/DCTK (KT 0, 3): the same IIN
    digits with the DRN positions zero.
    """
    iin = IIN_11 if pan.startswith(IIN_11) else IIN_13
    drn_length = 17 - len(iin)
    iin_digits = iin[len(iin) - (16 - drn_length):]
    drn = pan[len(iin):17] if key_type in DRN_BOUND_KEY_TYPES else "0" * drn_length
    return iin_digits + drn


def dkga02(vending_key: bytes, key_data: KeyData, pan: str) -> bytes:
    """DK = DES(VK, D) xor D xor VK with D = PAN block xor control block."""
    pan_block = int(dkga02_pan_block(key_data.kt, pan), 16)  # decimal digits read as hex nibbles
    control = int(f"{key_data.kt:X}{key_data.sgc}{key_data.ti:02d}{key_data.krn:X}FFFFFF", 16)
    d = pan_block ^ control
    vk = int.from_bytes(vending_key, "big")
    dk = _des_for(vending_key).encrypt_block(d) ^ d ^ vk
    return dk.to_bytes(8, "big")


def _lv(text: str) -> bytes:
    raw = text.encode("ascii")
    return bytes([len(raw)]) + raw


def dkga04_message(key_data: KeyData, pan: str, bits: int) -> bytes:
    return b"".join((
        b"\x04", _lv("04"), _lv(f"{key_data.base_date % 100:02d}"), _lv(key_data.ea),
        _lv(f"{key_data.ti:02d}"), b"\x00\x04", _lv(key_data.sgc), _lv(f"{key_data.kt:X}"),
        _lv(f"{key_data.krn:X}"), _lv(pan), bits.to_bytes(4, "big"),
    ))


def dkga04(vending_key: bytes, key_data: KeyData, pan: str) -> bytes:
    """DK = first bits/8 bytes of HMAC-SHA-256(VK, field list)."""
    bits = key_data.key_bits
    return hmac.digest(vending_key, dkga04_message(key_data, pan, bits), "sha256")[: bits // 8]


def generate_decoder_key(vending_key: bytes, key_data: KeyData, pan: str) -> bytes:
    """The meter's decoder key (8 bytes, or 16 for EA11) from the vending key.

    ``pan`` may be the 18-digit PAN or the meter's 11/13-digit DRN.
    """
    vk = _check_vending_key(vending_key, key_data)
    pan18 = meter_pan(pan)
    if key_data.dkga == "02":
        return dkga02(vk, key_data, pan18)
    return dkga04(vk, key_data, pan18)
