"""EA07, the Standard Transfer Algorithm (STA): 64-bit block, 64-bit key, 16 rounds.

Per round: each nibble i goes through s2 if bit 4i+3 of the round key is 1,
else s1; then bit i moves to bit p[i]; then the round key rotates left by 1.
The starting round key is NOT(decoder key) rotated right by 12.

Speed: substitution and permutation are folded into per-byte tables
(8 byte positions x 4 selector pairs x 256 values -> permuted 64-bit word),
so one round is 8 lookups ORed together.  The 16 rounds' table choices
depend only on the key, so they are picked once per key; the choice for a
round depends only on the 16 selector bits, so it is shared across keys.
Decryption folds each inverse substitution with the inverse permutation
that precedes it in the forward direction.
"""

from __future__ import annotations

from ._bits import byte_tables, rotl, rotr
from .tables import STA_P, STA_S1, STA_S2

M64 = (1 << 64) - 1
_SEL_MASK = 0x8888888888888888
_INV_S1 = tuple(STA_S1.index(v) for v in range(16))
_INV_S2 = tuple(STA_S2.index(v) for v in range(16))
_INV_P = tuple(STA_P.index(i) for i in range(64))


def _sub_byte(b: int, sel: int, s1, s2) -> int:
    lo = (s2 if sel & 1 else s1)[b & 15]
    hi = (s2 if sel & 2 else s1)[b >> 4]
    return (hi << 4) | lo


def _permute_tables(perm) -> list[list[int]]:
    return byte_tables([(perm[i], i) for i in range(64)], 64)


_P_BYTES = _permute_tables(STA_P)
_PINV_BYTES = _permute_tables(_INV_P)


def _fold(perm_bytes, s1, s2) -> list[list[list[int]]]:
    # out[j][sel][b] = perm(sub_sel(b) << 8j)
    out = []
    for j in range(8):
        pj = perm_bytes
        per_sel = []
        for sel in range(4):
            row = []
            for b in range(256):
                v = _sub_byte(b, sel, s1, s2) << (8 * j)
                row.append(pj[j][(v >> (8 * j)) & 255])
            per_sel.append(row)
        out.append(per_sel)
    return out


_ENC = _fold(_P_BYTES, STA_S1, STA_S2)          # S then P
_DEC = _fold(_PINV_BYTES, _INV_S1, _INV_S2)     # S^-1 then P^-1
_SINV = [[[_sub_byte(b, sel, _INV_S1, _INV_S2) << (8 * j) for b in range(256)]
          for sel in range(4)] for j in range(8)]

def _half_tables(tables) -> tuple[dict, dict]:
    """Round table choices by the selector bits of one 32-bit half of the round key.

    Keyed by (half & 0x88888888): 256 patterns per half, all built here, so
    choosing a round's 8 tables is two dict lookups and a tuple join.
    """
    lo, hi = {}, {}
    for bits in range(256):
        pattern = 0
        for i in range(8):
            if bits >> i & 1:
                pattern |= 1 << (4 * i + 3)
        sels = [((pattern >> (8 * j + 3)) & 1) | ((pattern >> (8 * j + 6)) & 2) for j in range(4)]
        lo[pattern] = tuple(tables[j][sels[j]] for j in range(4))
        hi[pattern] = tuple(tables[4 + j][sels[j]] for j in range(4))
    return lo, hi


_ENC_LO, _ENC_HI = _half_tables(_ENC)
_DEC_LO, _DEC_HI = _half_tables(_DEC)
_SINV_LO, _SINV_HI = _half_tables(_SINV)
_HALF = 0x88888888


def round_keys(key: int) -> list[int]:
    k = rotr(~key & M64, 12, 64)
    return [rotl(k, r, 64) for r in range(16)]


class STA:
    """One STA key with its 16 rounds' tables chosen once (decryption's on first use)."""

    __slots__ = ("_enc", "_dec", "_last", "_k0")

    def __init__(self, key: bytes | int) -> None:
        if isinstance(key, (bytes, bytearray)):
            if len(key) != 8:
                raise ValueError("An STA key is 8 bytes.")
            key = int.from_bytes(key, "big")
        k = ((~key & M64) >> 12) | ((~key << 52) & M64)
        self._k0 = k
        self._dec = None
        lo, hi, h = _ENC_LO, _ENC_HI, _HALF
        enc = []
        for _ in range(16):
            enc.append(lo[k & h] + hi[(k >> 32) & h])
            k = ((k << 1) & M64) | (k >> 63)
        self._enc = tuple(enc)

    def _build_decrypt(self) -> None:
        # Decrypt: P^-1, then (S_r^-1 then P^-1) for r = 15..1, then S_0^-1.
        k = self._k0
        ks = []
        for _ in range(16):
            ks.append(k)
            k = ((k << 1) & M64) | (k >> 63)
        h = _HALF
        self._dec = tuple(_DEC_LO[kr & h] + _DEC_HI[(kr >> 32) & h] for kr in ks[15:0:-1])
        self._last = _SINV_LO[ks[0] & h] + _SINV_HI[(ks[0] >> 32) & h]

    def encrypt_block(self, x: int) -> int:
        for t0, t1, t2, t3, t4, t5, t6, t7 in self._enc:
            x = (t0[x & 255] | t1[(x >> 8) & 255] | t2[(x >> 16) & 255] | t3[(x >> 24) & 255]
                 | t4[(x >> 32) & 255] | t5[(x >> 40) & 255] | t6[(x >> 48) & 255] | t7[x >> 56])
        return x

    def decrypt_block(self, x: int) -> int:
        if self._dec is None:
            self._build_decrypt()
        t0, t1, t2, t3, t4, t5, t6, t7 = _PINV_BYTES
        x = (t0[x & 255] | t1[(x >> 8) & 255] | t2[(x >> 16) & 255] | t3[(x >> 24) & 255]
             | t4[(x >> 32) & 255] | t5[(x >> 40) & 255] | t6[(x >> 48) & 255] | t7[x >> 56])
        for t0, t1, t2, t3, t4, t5, t6, t7 in self._dec:
            x = (t0[x & 255] | t1[(x >> 8) & 255] | t2[(x >> 16) & 255] | t3[(x >> 24) & 255]
                 | t4[(x >> 32) & 255] | t5[(x >> 40) & 255] | t6[(x >> 48) & 255] | t7[x >> 56])
        t0, t1, t2, t3, t4, t5, t6, t7 = self._last
        return (t0[x & 255] | t1[(x >> 8) & 255] | t2[(x >> 16) & 255] | t3[(x >> 24) & 255]
                | t4[(x >> 32) & 255] | t5[(x >> 40) & 255] | t6[(x >> 48) & 255] | t7[x >> 56])


def encrypt_reference(block: int, key: int) -> int:
    """STA straight from its definition, bit by bit (for checking the tables)."""
    k = rotr(~key & M64, 12, 64)
    x = block
    for _ in range(16):
        y = 0
        for i in range(16):
            s = STA_S2 if (k >> (4 * i + 3)) & 1 else STA_S1
            y |= s[(x >> (4 * i)) & 15] << (4 * i)
        x = 0
        for i in range(64):
            if (y >> i) & 1:
                x |= 1 << STA_P[i]
        k = rotl(k, 1, 64)
    return x


def decrypt_reference(block: int, key: int) -> int:
    ks = round_keys(key)
    x = block
    for k in reversed(ks):
        y = 0
        for i in range(64):
            if (x >> STA_P[i]) & 1:
                y |= 1 << i
        x = 0
        for i in range(16):
            s = _INV_S2 if (k >> (4 * i + 3)) & 1 else _INV_S1
            x |= s[(y >> (4 * i)) & 15] << (4 * i)
    return x
