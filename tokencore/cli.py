"""Command line: ``python -m tokencore token|class1|kct|decode ...``, printing JSON.

Errors print one line to stderr and exit with status 2 (as argparse does).
Decode output: class 0 gives "amount"; class 2 gives "field" (and "watts"
is not added, to keep the documented shape); class 1 gives "control" and
"manufacturer_code"; key change tokens give their carried fields:
subclass 3 "ken_high", "krn", "rollover", "kt"; subclass 4 "ken_low", "ti";
subclasses 8 and 9 "sgc_part"; each with "key_part", the 32 key bits as hex.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from datetime import datetime, timezone

from .amount import encode_power
from .cipher import TokenCipher
from .errors import TokenError
from .identity import meter_pan
from .keydata import KeyData
from .keys import generate_decoder_key
from .tid import consecutive_tids, skip_reserved, tid_for_time
from .token import (KEY_CHANGE_SUBCLASSES, class1_token, credit_token, decode_token,
                    key_change_tokens, management_token)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        sys.stderr.write(f"{self.prog}: error: {' '.join(message.split())}\n")
        raise SystemExit(2)


class _Fail(Exception):
    pass


def _hex_bytes(text: str, what: str) -> bytes:
    t = text.strip().lower().removeprefix("0x").replace(" ", "")
    try:
        return bytes.fromhex(t)
    except ValueError:
        raise _Fail(f"{what} must be hexadecimal.") from None


def _int(text: str) -> int:
    t = text.strip().lower()
    try:
        return int(t, 16) if t.startswith("0x") else int(t, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None


def parse_time(text: str) -> datetime:
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: use YYYY-MM-DDTHH:MMZ") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _fmt_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def _key_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dkga", required=True, choices=["02", "04", "2", "4"])
    p.add_argument("--ea", required=True, choices=["07", "09", "11", "7", "9"])
    p.add_argument("--vending-key", required=True, metavar="HEX")
    p.add_argument("--sgc", required=True)
    p.add_argument("--ti", required=True, type=_int)
    p.add_argument("--krn", required=True, type=_int)
    p.add_argument("--kt", required=True, type=_int)
    p.add_argument("--ken", required=True, type=_int)
    p.add_argument("--base-date", required=True, type=_int)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--pan", metavar="18DIGITS")
    who.add_argument("--drn", metavar="11OR13DIGITS")


def _key_data(a) -> KeyData:
    return KeyData(sgc=a.sgc, ti=a.ti, krn=a.krn, kt=a.kt, ken=a.ken, base_date=a.base_date,
                   ea=a.ea, dkga=a.dkga)


def _meter_key(a):
    kd = _key_data(a)
    pan = meter_pan(a.pan if a.pan is not None else a.drn)
    vk = _hex_bytes(a.vending_key, "The vending key")
    return kd, pan, vk, generate_decoder_key(vk, kd, pan)


def _cmd_token(a) -> dict:
    kd, pan, vk, dk = _meter_key(a)
    if a.token_class not in (0, 2):
        raise _Fail("--class must be 0 or 2 (use the class1 command for class 1).")
    if a.token_class == 2 and a.subclass in KEY_CHANGE_SUBCLASSES:
        raise _Fail("Key change tokens are made with the kct command.")
    if (a.amount is None) == (a.field is None):
        raise _Fail("Give exactly one of --amount or --field.")
    if a.token_class == 2 and a.amount is not None:
        if a.subclass not in (0, 6):
            raise _Fail("--amount is only for power limits (class 2 subclass 0 or 6); use --field.")
        field = encode_power(a.amount)
    else:
        field = a.field
    if a.repeat is not None and a.repeat < 1:
        raise _Fail("--repeat must be at least 1.")
    cipher = TokenCipher(dk, kd.ea)
    first = tid_for_time(a.issued_at, kd.base_date)
    tids = [first] if a.repeat is None else consecutive_tids(skip_reserved(first), a.repeat, kd)
    issued = []
    for tid in tids:
        rnd = a.rnd if a.rnd is not None else secrets.randbelow(16)
        if a.token_class == 0:
            if field is not None:
                issued.append(management_like_credit(cipher, kd, a.subclass, field, tid, rnd))
            else:
                issued.append(credit_token(cipher, kd, a.subclass, a.amount, tid, rnd))
        else:
            issued.append(management_token(cipher, kd, a.subclass, field, tid, rnd))
    if a.repeat is not None:
        return {"tokens": [t.token for t in issued], "first_tid": tids[0]}
    t = issued[0]
    return {"token": t.token, "decoder_key": dk.hex(), "clear_block": f"{t.clear_block:016x}",
            "tid": t.tid, "class": t.token_class, "subclass": t.subclass}


def management_like_credit(cipher, kd, subclass, field, tid, rnd):
    """A class 0 token from a raw amount field (--class 0 --field)."""
    from .amount import decode_amount
    return credit_token(cipher, kd, subclass, decode_amount(field), tid, rnd)


def _cmd_class1(a) -> dict:
    return {"token": class1_token(a.subclass, a.control, a.manufacturer_code)}


def _cmd_kct(a) -> dict:
    kd, pan, vk, dk = _meter_key(a)
    new = KeyData(sgc=a.new_sgc, ti=a.new_ti, krn=a.new_krn, kt=a.new_kt, ken=a.new_ken,
                  base_date=a.new_base_date, ea=a.new_ea or kd.ea, dkga=a.new_dkga or kd.dkga)
    new_vk = _hex_bytes(a.new_vending_key, "The new vending key") if a.new_vending_key else vk
    new_dk = generate_decoder_key(new_vk, new, pan)
    tokens = key_change_tokens(dk, kd, new_dk, new, a.rollover)
    return {"tokens": tokens, "new_decoder_key": new_dk.hex()}


def _cmd_decode(a) -> dict:
    kd, pan, vk, dk = _meter_key(a)
    d = decode_token(a.token, dk, kd)
    out: dict = {"class": d.token_class, "subclass": d.subclass}
    if d.token_class == 1:
        out.update(control=d.control, manufacturer_code=d.manufacturer_code)
    elif d.key_change is not None:
        k = d.key_change
        for name in ("ken_high", "krn", "rollover", "kt", "ken_low", "ti", "sgc_part"):
            value = getattr(k, name)
            if value is not None:
                out[name] = value
        out["key_part"] = f"{k.key_part:08x}"
    else:
        out.update(tid=d.tid, issued_at=_fmt_time(d.issued_at))
        if d.token_class == 0:
            out["amount"] = str(d.amount)
        else:
            out["field"] = f"0x{d.field:04x}"
    return out


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m tokencore", description="STS token engine")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("token", help="issue a class 0 or class 2 token")
    _key_flags(t)
    t.add_argument("--class", dest="token_class", required=True, type=_int)
    t.add_argument("--subclass", required=True, type=_int)
    t.add_argument("--issued-at", required=True, type=parse_time)
    t.add_argument("--rnd", type=_int)
    t.add_argument("--amount")
    t.add_argument("--field", type=_int)
    t.add_argument("--repeat", type=_int)
    t.set_defaults(run=_cmd_token)

    c = sub.add_parser("class1", help="issue a class 1 engineering token")
    c.add_argument("--subclass", required=True, type=_int)
    c.add_argument("--control", required=True, type=_int)
    c.add_argument("--manufacturer-code", required=True, type=_int)
    c.set_defaults(run=_cmd_class1)

    k = sub.add_parser("kct", help="issue key change tokens")
    _key_flags(k)
    k.add_argument("--new-sgc", required=True)
    k.add_argument("--new-ti", required=True, type=_int)
    k.add_argument("--new-krn", required=True, type=_int)
    k.add_argument("--new-kt", required=True, type=_int)
    k.add_argument("--new-ken", required=True, type=_int)
    k.add_argument("--new-base-date", required=True, type=_int)
    k.add_argument("--new-dkga", choices=["02", "04", "2", "4"])
    k.add_argument("--new-ea", choices=["07", "09", "11", "7", "9"])
    k.add_argument("--new-vending-key", metavar="HEX")
    k.add_argument("--rollover", action="store_true")
    k.set_defaults(run=_cmd_kct)

    d = sub.add_parser("decode", help="decode a token")
    _key_flags(d)
    d.add_argument("token")
    d.set_defaults(run=_cmd_decode)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        out = args.run(args)
    except (TokenError, _Fail, ValueError, TypeError) as exc:
        sys.stderr.write(f"error: {' '.join(str(exc).split())}\n")
        return 2
    sys.stdout.write(json.dumps(out) + "\n")
    return 0
