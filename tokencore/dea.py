"""EA09, DEA: single DES (FIPS 46-3) in ECB mode on one 64-bit block.

Written for speed in pure Python: the initial and final permutations and
the whole key schedule (PC-1, shifts, PC-2) are per-byte lookup tables, and
each S-box is merged with the P permutation ("SP" tables).  The halves are
kept rotated left by one bit so that the expansion E needs no table: the
eight 6-bit S-box inputs are then byte-aligned in two 32-bit words.
"""

from __future__ import annotations

from ._bits import byte_tables, rotl

# FIPS 46-3 tables, bit 1 = most significant.
IP = (58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
      62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
      57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
      61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7)
FP = tuple(IP.index(i) + 1 for i in range(1, 65))
E = (32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
     16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1)
P = (16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
     2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25)
PC1 = (57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
       10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
       63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
       14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4)
PC2 = (14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
       41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32)
SHIFTS = (1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1)
SBOX = (
    (14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
     0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
     4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
     15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13),
    (15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
     3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
     0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
     13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9),
    (10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
     13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
     13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
     1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12),
    (7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
     13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
     10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
     3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14),
    (2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
     14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
     4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
     11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3),
    (12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
     10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
     9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
     4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13),
    (4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
     13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
     1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
     6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12),
    (13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
     1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
     7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
     2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11),
)

_M32 = 0xFFFFFFFF


def _half_pos(i: int) -> int:
    """Integer position of 0-based-from-MSB bit i of a 64-bit block, halves rotated left by 1."""
    if i < 32:
        return 32 + ((31 - i + 1) % 32)
    return (63 - i + 1) % 32


# IP straight into rotated halves; FP straight out of them.
_IP = byte_tables([(_half_pos(i), 64 - IP[i]) for i in range(64)], 64)
_FP = byte_tables([(63 - i, _half_pos(FP[i] - 1)) for i in range(64)], 64)


def _sp_table(box: int) -> list[int]:
    out = []
    for six in range(64):
        row = ((six >> 4) & 2) | (six & 1)
        col = (six >> 1) & 15
        s = SBOX[box][row * 16 + col] << (4 * (7 - box))
        p = 0
        for i in range(32):  # P: output bit i (from MSB) = input bit P[i]
            if (s >> (32 - P[i])) & 1:
                p |= 1 << (31 - i)
        out.append(rotl(p, 1, 32))
    return out


SP1, SP2, SP3, SP4, SP5, SP6, SP7, SP8 = (_sp_table(b) for b in range(8))


def _key_tables() -> list[list[list[int]]]:
    # Subkey r as one "cooked" 64-bit word: odd S-box groups (1,3,5,7) in
    # the high 32 bits, even groups (2,4,6,8) in the low 32, each group
    # byte-aligned the way the round function consumes them.
    rounds = []
    shift = 0
    for r in range(16):
        shift += SHIFTS[r]
        pairs = []
        for i, p in enumerate(PC2):
            cd = p - 1
            if cd < 28:
                src = PC1[(cd + shift) % 28]
            else:
                src = PC1[28 + (cd - 28 + shift) % 28]
            g, t = divmod(i, 6)  # group 0..7, bit t from the group's MSB
            if g % 2 == 0:
                out = 32 + (3 - g // 2) * 8 + (5 - t)
            else:
                out = (3 - g // 2) * 8 + (5 - t)
            pairs.append((out, 64 - src))
        rounds.append(byte_tables(pairs, 64))
    return rounds


_KS = _key_tables()


def key_schedule(key: int) -> tuple[tuple[int, int], ...]:
    """The 16 round keys of a 64-bit DES key, as (odd groups, even groups) pairs."""
    b0, b1, b2, b3 = key & 255, (key >> 8) & 255, (key >> 16) & 255, (key >> 24) & 255
    b4, b5, b6, b7 = (key >> 32) & 255, (key >> 40) & 255, (key >> 48) & 255, key >> 56
    out = []
    for t0, t1, t2, t3, t4, t5, t6, t7 in _KS:
        k = t0[b0] | t1[b1] | t2[b2] | t3[b3] | t4[b4] | t5[b5] | t6[b6] | t7[b7]
        out.append((k >> 32, k & _M32))
    return tuple(out)


def _crypt(block: int, ks) -> int:
    t = _IP
    x = (t[0][block & 255] | t[1][(block >> 8) & 255] | t[2][(block >> 16) & 255]
         | t[3][(block >> 24) & 255] | t[4][(block >> 32) & 255] | t[5][(block >> 40) & 255]
         | t[6][(block >> 48) & 255] | t[7][block >> 56])
    left = x >> 32
    right = x & _M32
    sp1, sp2, sp3, sp4, sp5, sp6, sp7, sp8 = SP1, SP2, SP3, SP4, SP5, SP6, SP7, SP8
    for ko, ke in ks:
        w = (((right >> 4) | (right << 28)) & _M32) ^ ko
        v = right ^ ke
        left, right = right, left ^ (
            sp1[(w >> 24) & 63] | sp3[(w >> 16) & 63] | sp5[(w >> 8) & 63] | sp7[w & 63]
            | sp2[(v >> 24) & 63] | sp4[(v >> 16) & 63] | sp6[(v >> 8) & 63] | sp8[v & 63])
    y = (right << 32) | left
    t = _FP
    return (t[0][y & 255] | t[1][(y >> 8) & 255] | t[2][(y >> 16) & 255]
            | t[3][(y >> 24) & 255] | t[4][(y >> 32) & 255] | t[5][(y >> 40) & 255]
            | t[6][(y >> 48) & 255] | t[7][y >> 56])


class DES:
    """One DES key with its schedule computed once."""

    __slots__ = ("_enc", "_dec")

    def __init__(self, key: bytes | int) -> None:
        if isinstance(key, (bytes, bytearray)):
            if len(key) != 8:
                raise ValueError("A DES key is 8 bytes.")
            key = int.from_bytes(key, "big")
        self._enc = key_schedule(key)
        self._dec = self._enc[::-1]

    def encrypt_block(self, block: int) -> int:
        return _crypt(block, self._enc)

    def decrypt_block(self, block: int) -> int:
        return _crypt(block, self._dec)


def des_encrypt(key: bytes, block: bytes) -> bytes:
    return DES(key).encrypt_block(int.from_bytes(block, "big")).to_bytes(8, "big")


def des_decrypt(key: bytes, block: bytes) -> bytes:
    return DES(key).decrypt_block(int.from_bytes(block, "big")).to_bytes(8, "big")
