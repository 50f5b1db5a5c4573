"""CRC-16 of a token block: reflected polynomial 0xA001, initial value 0xFFFF (MODBUS).

The CRC covers 7 bytes: the token class in its own byte, then the 48 bits
subclass|RND|TID|field (or the class's own 48 bits).  It is stored low byte
first, so the block's last 16 bits are the CRC byte-swapped.
"""

from __future__ import annotations

POLY = 0xA001


def _step8(crc: int) -> int:
    for _ in range(8):
        crc = (crc >> 1) ^ POLY if crc & 1 else crc >> 1
    return crc


_T8 = [_step8(i) for i in range(256)]


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """Plain byte-at-a-time CRC-16/MODBUS (the reference the fast path is checked against)."""
    for b in data:
        crc = (crc >> 8) ^ _T8[(crc ^ b) & 0xFF]
    return crc


def _build_t16() -> list[int]:
    # The CRC is linear, so feeding two bytes is one lookup of (crc ^ word):
    # build all 65536 entries from the 16 single-bit ones.
    t = [0] * 65536
    bits = [_step8(_step8(1 << i)) for i in range(16)]
    for x in range(1, 65536):
        low = x & -x
        t[x] = t[x ^ low] ^ bits[low.bit_length() - 1]
    return t


_T16 = _build_t16()
# State after the class byte, for classes 0..3.
_START = [(0xFFFF >> 8) ^ _T8[(0xFFFF ^ c) & 0xFF] for c in range(4)]


def block_crc(token_class: int, body48: int) -> int:
    """The 16 CRC bits as stored in the block (low byte first) for a 48-bit body."""
    t = _T16
    c = t[_START[token_class] ^ ((body48 >> 40) & 0xFF) ^ ((body48 >> 24) & 0xFF00)]
    c = t[c ^ ((body48 >> 24) & 0xFF) ^ ((body48 >> 8) & 0xFF00)]
    c = t[c ^ ((body48 >> 8) & 0xFF) ^ ((body48 << 8) & 0xFF00)]
    return ((c & 0xFF) << 8) | (c >> 8)


def block_crc_reference(token_class: int, body48: int) -> int:
    """Same as block_crc, byte at a time."""
    c = crc16(bytes([token_class]) + body48.to_bytes(6, "big"))
    return ((c & 0xFF) << 8) | (c >> 8)
