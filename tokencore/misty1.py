"""EA11, MISTY1 (RFC 2994): 64-bit block, 128-bit key, 8 rounds.

Written from RFC 2994's description.  The FI function's two S-box passes
are merged into tables where the key does not intervene: S9[x] is stored
with its 7 low bits ready to XOR, and the first half of FI (before the key
enters) is a single 65536-entry table, built once.
"""

from __future__ import annotations

from .tables import MISTY1_S7 as S7, MISTY1_S9 as S9


def _fi_plain(x: int, key: int) -> int:
    d9 = x >> 7
    d7 = x & 0x7F
    d9 = S9[d9] ^ d7
    d7 = S7[d7] ^ (d9 & 0x7F)
    d7 ^= key >> 9
    d9 ^= key & 0x1FF
    d9 = S9[d9] ^ d7
    return (d7 << 9) | d9


def _fi_head(x: int) -> int:
    # The part of FI before the key enters: (d7 << 9) | d9.
    d9 = S9[x >> 7] ^ (x & 0x7F)
    d7 = S7[x & 0x7F] ^ (d9 & 0x7F)
    return (d7 << 9) | d9


_HEAD = [_fi_head(x) for x in range(65536)]
# Last step: d9' = S9[d9] ^ d7 as a function of the keyed (d7 << 9) | d9 word.
_S9X = S9


def _fi(x: int, key: int) -> int:
    h = _HEAD[x] ^ key
    d7 = h >> 9
    return (d7 << 9) | (S9[h & 0x1FF] ^ d7)


class MISTY1:
    """One MISTY1 key with its expanded key computed once."""

    __slots__ = ("_ek",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("A MISTY1 key is 16 bytes.")
        ek = [(key[2 * i] << 8) | key[2 * i + 1] for i in range(8)]
        ek += [_fi_plain(ek[i], ek[(i + 1) % 8]) for i in range(8)]
        self._ek = tuple(ek)

    def _fo(self, x: int, k: int) -> int:
        ek = self._ek
        t0 = x >> 16
        t1 = x & 0xFFFF
        t0 = _fi(t0 ^ ek[k], ek[(k + 5) % 8 + 8]) ^ t1
        t1 = _fi(t1 ^ ek[(k + 2) % 8], ek[(k + 1) % 8 + 8]) ^ t0
        t0 = _fi(t0 ^ ek[(k + 7) % 8], ek[(k + 3) % 8 + 8]) ^ t1
        t1 ^= ek[(k + 4) % 8]
        return (t1 << 16) | t0

    def _fl(self, x: int, k: int) -> int:
        ek = self._ek
        d0 = x >> 16
        d1 = x & 0xFFFF
        if k % 2 == 0:
            d1 ^= d0 & ek[k // 2]
            d0 ^= d1 | ek[(k // 2 + 6) % 8 + 8]
        else:
            d1 ^= d0 & ek[((k - 1) // 2 + 2) % 8 + 8]
            d0 ^= d1 | ek[((k - 1) // 2 + 4) % 8]
        return (d0 << 16) | d1

    def _flinv(self, x: int, k: int) -> int:
        ek = self._ek
        d0 = x >> 16
        d1 = x & 0xFFFF
        if k % 2 == 0:
            d0 ^= d1 | ek[(k // 2 + 6) % 8 + 8]
            d1 ^= d0 & ek[k // 2]
        else:
            d0 ^= d1 | ek[((k - 1) // 2 + 4) % 8]
            d1 ^= d0 & ek[((k - 1) // 2 + 2) % 8 + 8]
        return (d0 << 16) | d1

    def encrypt_block(self, block: int) -> int:
        fo, fl = self._fo, self._fl
        d0 = block >> 32
        d1 = block & 0xFFFFFFFF
        for r in (0, 2, 4, 6):
            d0 = fl(d0, r)
            d1 = fl(d1, r + 1)
            d1 ^= fo(d0, r)
            d0 ^= fo(d1, r + 1)
        d0 = fl(d0, 8)
        d1 = fl(d1, 9)
        return (d1 << 32) | d0

    def decrypt_block(self, block: int) -> int:
        fo, fli = self._fo, self._flinv
        d1 = block >> 32
        d0 = block & 0xFFFFFFFF
        d0 = fli(d0, 8)
        d1 = fli(d1, 9)
        for r in (6, 4, 2, 0):
            d0 ^= fo(d1, r + 1)
            d1 ^= fo(d0, r)
            d0 = fli(d0, r)
            d1 = fli(d1, r + 1)
        return (d0 << 32) | d1
