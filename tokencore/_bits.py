"""Helpers that turn bit permutations into per-byte lookup tables.

A linear bit map (output bit <- input bit) is split by input byte: the
output for a whole block is then the OR of one table lookup per byte.
Positions are integer bit positions, 0 = least significant.
"""

from __future__ import annotations


def byte_tables(pairs, in_bits: int) -> list[list[int]]:
    """Tables[j][b] = OR of 1 << out for every (out, in) pair whose input bit is in byte j of b."""
    nbytes = (in_bits + 7) // 8
    single = [[0] * 8 for _ in range(nbytes)]
    for out_pos, in_pos in pairs:
        single[in_pos // 8][in_pos % 8] |= 1 << out_pos
    tables = []
    for j in range(nbytes):
        t = [0] * 256
        bits = single[j]
        for b in range(1, 256):
            low = b & -b
            t[b] = t[b ^ low] | bits[low.bit_length() - 1]
        tables.append(t)
    return tables


def rotl(x: int, n: int, width: int) -> int:
    n %= width
    mask = (1 << width) - 1
    return ((x << n) | (x >> (width - n))) & mask


def rotr(x: int, n: int, width: int) -> int:
    return rotl(x, width - n % width, width)
