"""Token engine throughput on one core: issue and decode tokens per second.

    python bench/tokens.py [--quick] [--database URL]

Prints (operation, size, figure, target, met) and ends with "targets met: K/N".
--database is accepted like every bench's, and ignored: tokencore needs no database.
"""

from __future__ import annotations

import argparse
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tokencore import (KeyData, TokenCipher, credit_token, decode_token,  # noqa: E402
                       drn_check_digit, generate_decoder_key)

VK8 = bytes.fromhex("abababababababab")
VK20 = bytes.fromhex("abababababababab949494949494949401234567")
BASE_TID = 6_000_000


def _rate(fn, n: int) -> float:
    fn(min(n, 200))  # warm caches
    start = time.perf_counter()
    fn(n)
    return n / (time.perf_counter() - start)


def cached(ea: str, dkga: str):
    kd = KeyData("123456", 1, 1, 2, 255, 1993, ea, dkga)
    dk = generate_decoder_key(VK8 if dkga == "02" else VK20, kd, "00000000000")
    cipher = TokenCipher(dk, ea)
    units = Decimal("12.5")

    def run(n):
        for i in range(n):
            credit_token(cipher, kd, 0, units, BASE_TID + i, i & 15)
    return run


def with_keygen(ea: str, dkga: str):
    kd = KeyData("123456", 1, 1, 2, 255, 1993, ea, dkga)
    vk = VK8 if dkga == "02" else VK20
    units = Decimal("12.5")
    drns = [f"{n:010d}" + drn_check_digit(f"{n:010d}") for n in range(4_700_000_000, 4_700_002_000)]

    def run(n):
        for i in range(n):
            drn = drns[i % len(drns)]
            credit_token(generate_decoder_key(vk, kd, drn), kd, 0, units, BASE_TID + i, i & 15)
    return run


def decoding(ea: str, dkga: str):
    kd = KeyData("123456", 1, 1, 2, 255, 1993, ea, dkga)
    dk = generate_decoder_key(VK8 if dkga == "02" else VK20, kd, "00000000000")
    cipher = TokenCipher(dk, ea)
    tokens = [credit_token(cipher, kd, 0, Decimal(i % 5000) / 10, BASE_TID + i, i & 15).token
              for i in range(2000)]

    def run(n):
        for i in range(n):
            decode_token(tokens[i % 2000], cipher, kd)
    return run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, well under a minute")
    ap.add_argument("--database", help="ignored: tokencore uses no database")
    args = ap.parse_args(argv)
    n = 5_000 if args.quick else 50_000
    n_keygen = 2_000 if args.quick else 20_000

    rows = [
        ("class 0, cached key, EA07", n, cached("07", "02"), 50_000),
        ("class 0, cached key, EA09", n, cached("09", "02"), None),
        ("class 0, cached key, EA11", n, cached("11", "04"), None),
        ("class 0 + DKGA02 key, EA07", n_keygen, with_keygen("07", "02"), 12_000),
        ("class 0 + DKGA04 key, EA07", n_keygen, with_keygen("07", "04"), 12_000),
        ("class 0 + DKGA04 key, EA11", n_keygen, with_keygen("11", "04"), None),
        ("decode, EA07", n, decoding("07", "02"), 50_000),
        ("decode, EA09", n, decoding("09", "02"), None),
        ("decode, EA11", n, decoding("11", "04"), None),
    ]
    header = f"{'operation':<30} {'size':>7} {'figure':>16} {'target':>16} {'met':>4}"
    print(header)
    print("-" * len(header))
    met = total = 0
    for name, size, fn, target in rows:
        rate = _rate(fn, size)
        if target is None:
            tgt, ok = "-", "-"
        else:
            total += 1
            good = rate >= target
            met += good
            tgt, ok = f">= {target:,} /s", "yes" if good else "NO"
        print(f"{name:<30} {size:>7,} {rate:>12,.0f} /s {tgt:>16} {ok:>4}")
    print(f"targets met: {met}/{total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
