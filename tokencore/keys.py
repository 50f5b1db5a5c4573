"""Decoder key generation: DKGA02 (DES based) and DKGA04 (HMAC-SHA-256 based).

The decoder key is returned in canonical big-endian byte order, the order
DES and HMAC produce it; every cipher here takes it in that order.
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from .dea import DES
from .errors import InvalidKeyData
from .identity import meter_pan
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


def dkga02(vending_key: bytes, key_data: KeyData, pan: str) -> bytes:
    """DK = DES(VK, D) xor D xor VK with D = PAN block xor control block."""
    pan_block = int(pan[1:17], 16)  # digits 2..17 read as hex nibbles
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
