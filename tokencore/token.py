"""Token blocks: build, encrypt, transpose and print 20-digit STS tokens, and the reverse.

Clear block (class 0 and 2): subclass(4) | RND(4) | TID(24) | field(16) | CRC(16).
Class 1 blocks are not encrypted: subclass(4) | control | manufacturer code | CRC(16),
with control/manufacturer 36/8 bits for subclass 0 and 28/16 bits for subclass 1.
Key change tokens (class 2, subclasses 3, 4, 8, 9) put their own 44 bits where
RND|TID|field sit; they carry no TID.

After encryption the two class bits are swapped with bits 28 and 27 of the
block, making a 66-bit number printed as 20 decimal digits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .amount import decode_amount, decode_power, encode_amount, decode_value
from .cipher import TokenCipher, as_cipher
from .crc import block_crc
from .errors import AmountOutOfRange, InvalidKeyData, MalformedToken, TokenCRCError
from .keydata import KeyData
from .tid import check_tid, time_for_tid

CLASS_CREDIT = 0
CLASS_ENGINEERING = 1
CLASS_MANAGEMENT = 2

# Class 0 subclasses.
ELECTRICITY, WATER, GAS, TIME = 0, 1, 2, 3
CREDIT_SUBCLASSES = {0: "electricity", 1: "water", 2: "gas", 3: "time",
                     4: "electricity currency", 5: "water currency", 6: "gas currency",
                     7: "time currency"}
# Class 2 subclasses.
SET_MAX_POWER_LIMIT = 0
CLEAR_CREDIT = 1
SET_TARIFF_RATE = 2
SET_1ST_SECTION_KEY = 3
SET_2ND_SECTION_KEY = 4
CLEAR_TAMPER = 5
SET_MAX_PHASE_POWER_UNBALANCE = 6
SET_WATER_METER_FACTOR = 7
SET_3RD_SECTION_KEY = 8
SET_4TH_SECTION_KEY = 9
MANAGEMENT_SUBCLASSES = {0: "set maximum power limit", 1: "clear credit", 2: "set tariff rate",
                         5: "clear tamper condition", 6: "set maximum phase power unbalance limit",
                         7: "set water meter factor"}
KEY_CHANGE_SUBCLASSES = (3, 4, 8, 9)
ALL_REGISTERS = 0xFFFF

M64 = (1 << 64) - 1
_CLASS_BITS = 3 << 27
_KEEP = M64 & ~_CLASS_BITS


@dataclass(frozen=True)
class IssuedToken:
    """A token as issued: its 20 digits and what went into it."""

    token: str
    token_class: int
    subclass: int
    tid: int | None
    clear_block: int
    units: Decimal | None = None
    field: int | None = None
    rnd: int | None = None

    @property
    def formatted(self) -> str:
        return format_token(self.token)


@dataclass(frozen=True)
class KeyChangePart:
    """The fields one key change token carries."""

    section: int            # 1..4 (subclass 3, 4, 8, 9)
    key_part: int           # 32 bits of the new decoder key
    ken_high: int | None = None
    krn: int | None = None
    rollover: bool | None = None
    kt: int | None = None
    ken_low: int | None = None
    ti: int | None = None
    sgc_part: int | None = None  # 12 bits of the new SGC (128-bit key changes)


@dataclass(frozen=True)
class DecodedToken:
    """A token read back: class, subclass and the fields of its kind."""

    token: str
    token_class: int
    subclass: int
    clear_block: int
    rnd: int | None = None
    tid: int | None = None
    issued_at: datetime | None = None
    amount: Decimal | None = None
    field: int | None = None
    control: int | None = None
    manufacturer_code: int | None = None
    key_change: KeyChangePart | None = None

    @property
    def watts(self) -> int | None:
        """Power limits (class 2, subclasses 0 and 6) in W."""
        if self.token_class == 2 and self.subclass in (0, 6) and self.field is not None:
            return decode_power(self.field)
        return None


def format_token(token: str) -> str:
    """'12345678901234567890' -> '1234 5678 9012 3456 7890' (for receipts)."""
    digits = normalise_token(token)
    return " ".join(digits[i:i + 4] for i in range(0, 20, 4))


def normalise_token(token) -> str:
    """The 20 digits of a token typed with spaces or dashes, or MalformedToken."""
    if isinstance(token, int):
        token = f"{token:020d}"
    text = str(token).replace(" ", "").replace("-", "").strip()
    if len(text) != 20 or not (text.isascii() and text.isdigit()):
        raise MalformedToken(f"A token is 20 digits; {token!r} is not.")
    return text


def transpose(token_class: int, block: int) -> int:
    """66-bit token number: class bits swapped with block bits 28 and 27."""
    return (block & _KEEP) | (token_class << 27) | ((block & _CLASS_BITS) << 37)


def untranspose(number: int) -> tuple[int, int]:
    """(class, 64-bit block) from the 66-bit token number."""
    return (number >> 27) & 3, (number & _KEEP) | ((number >> 64) << 27)


def _rnd(rnd: int | None) -> int:
    if rnd is None:
        return secrets.randbelow(16)
    if not 0 <= rnd <= 15:
        raise AmountOutOfRange(f"The random number must be 0..15, not {rnd}.")
    return rnd


def _cipher(cipher_or_key, key_data: KeyData) -> TokenCipher:
    if type(cipher_or_key) is TokenCipher and cipher_or_key.ea == key_data.ea:
        return cipher_or_key
    return as_cipher(cipher_or_key, key_data.ea)


def _seal(encrypt, token_class: int, body: int) -> tuple[str, int]:
    block = (body << 16) | block_crc(token_class, body)
    enc = encrypt(block) if encrypt is not None else block
    n = (enc & _KEEP) | (token_class << 27) | ((enc & _CLASS_BITS) << 37)
    return "%020d" % n, block


def credit_token(cipher_or_decoder_key, key_data: KeyData, subclass: int, units, tid: int,
                 rnd: int | None = None) -> IssuedToken:
    """A class 0 transfer-credit token for ``units`` (rounded up to what a token can carry)."""
    if not 0 <= subclass <= 7:
        raise InvalidKeyData(f"Credit token subclass must be 0..7, not {subclass}.")
    cipher = _cipher(cipher_or_decoder_key, key_data)
    field = encode_amount(units)
    check_tid(tid, key_data)
    r = _rnd(rnd)
    token, block = _seal(cipher.encrypt_block, 0,
                         (subclass << 44) | (r << 40) | (tid << 16) | field)
    return IssuedToken(token, 0, subclass, tid, block, decode_amount(field), field, r)


def management_token(cipher_or_decoder_key, key_data: KeyData, subclass: int, field: int,
                     tid: int, rnd: int | None = None) -> IssuedToken:
    """A class 2 management token (not a key change) carrying a raw 16-bit field."""
    if subclass not in MANAGEMENT_SUBCLASSES:
        if subclass in KEY_CHANGE_SUBCLASSES:
            raise InvalidKeyData("Key change tokens are made with key_change_tokens().")
        raise InvalidKeyData(f"Management token subclass must be 0, 1, 2, 5, 6 or 7, not {subclass}.")
    if not isinstance(field, int) or not 0 <= field <= 0xFFFF:
        raise AmountOutOfRange(f"A management token field is 16 bits (0..65535), not {field!r}.")
    cipher = _cipher(cipher_or_decoder_key, key_data)
    check_tid(tid, key_data)
    r = _rnd(rnd)
    token, block = _seal(cipher.encrypt_block, 2,
                         (subclass << 44) | (r << 40) | (tid << 16) | field)
    return IssuedToken(token, 2, subclass, tid, block, None, field, r)


def class1_token(subclass: int, control: int, manufacturer_code: int) -> str:
    """An unencrypted class 1 engineering token (initiate meter test/display)."""
    if subclass == 0:
        ctl_bits, mfr_bits = 36, 8
    elif subclass == 1:
        ctl_bits, mfr_bits = 28, 16
    else:
        raise InvalidKeyData(f"Class 1 token subclass must be 0 or 1, not {subclass}.")
    if not 0 <= control < (1 << ctl_bits):
        raise AmountOutOfRange(f"Control field for subclass {subclass} must fit in {ctl_bits} bits.")
    if not 0 <= manufacturer_code < (1 << mfr_bits):
        raise AmountOutOfRange(
            f"Manufacturer code for subclass {subclass} must fit in {mfr_bits} bits."
        )
    body = (subclass << 44) | (control << mfr_bits) | manufacturer_code
    return _seal(None, 1, body)[0]


# Key change tokens.
#
# 64-bit keys: subclass 3 carries key bits 63..32 (NKHO), subclass 4 bits 31..0 (NKLO).
# 128-bit keys (EA11): four tokens, in entry order 3, 4, 8, 9:
#   3: KENHO | KRN | RO | res | KT | key bits 127..96
#   4: KENLO | TI                 | key bits  31..0
#   8: SGC bits 11..0 (12)        | key bits  95..64
#   9: SGC bits 23..12 (12)       | key bits  63..32
# with the SGC as a 24-bit binary number.  This is the layout the published
# EA11 compliance examples decrypt to (see tests/tokencore/vectors_extra.json),
# so it is used rather than a layout guessed by analogy with subclasses 3/4.

def _kct_bodies(new_decoder_key: bytes, new: KeyData, rollover: bool) -> list[int]:
    key = int.from_bytes(new_decoder_key, "big")
    ken_hi, ken_lo = new.ken >> 4, new.ken & 15
    head3 = (3 << 44) | (ken_hi << 40) | (new.krn << 36) | (int(bool(rollover)) << 35) | (new.kt << 32)
    head4 = (4 << 44) | (ken_lo << 40) | (new.ti << 32)
    if len(new_decoder_key) == 8:
        return [head3 | (key >> 32), head4 | (key & 0xFFFFFFFF)]
    sgc = int(new.sgc)
    return [
        head3 | (key >> 96),
        head4 | (key & 0xFFFFFFFF),
        (8 << 44) | ((sgc & 0xFFF) << 32) | ((key >> 64) & 0xFFFFFFFF),
        (9 << 44) | ((sgc >> 12) << 32) | ((key >> 32) & 0xFFFFFFFF),
    ]


def key_change_tokens(old_cipher_or_decoder_key, old_key_data: KeyData, new_decoder_key: bytes,
                      new_key_data: KeyData, rollover: bool = False) -> list[str]:
    """The key change tokens (2, or 4 for a 128-bit new key) in the order they are entered.

    They are encrypted with the meter's current (old) key and carry the new
    key with its KEN, KRN, KT and TI.  ``rollover`` asks the meter to clear
    its TID memory: set it when the base date changes, since TIDs restart
    and the old, larger ones would make every new token OLD.
    """
    if not isinstance(new_decoder_key, (bytes, bytearray)) or len(new_decoder_key) != new_key_data.key_bytes:
        raise InvalidKeyData(
            f"The new decoder key for EA{new_key_data.ea} must be {new_key_data.key_bits} bits."
        )
    cipher = _cipher(old_cipher_or_decoder_key, old_key_data)
    return [_seal(cipher.encrypt_block, 2, body)[0]
            for body in _kct_bodies(bytes(new_decoder_key), new_key_data, rollover)]


def _parse_kct(subclass: int, body: int) -> KeyChangePart:
    part = body & 0xFFFFFFFF
    hi12 = (body >> 32) & 0xFFF
    if subclass == 3:
        return KeyChangePart(1, part, ken_high=(body >> 40) & 15, krn=(body >> 36) & 15,
                             rollover=bool((body >> 35) & 1), kt=(body >> 32) & 3)
    if subclass == 4:
        return KeyChangePart(2, part, ken_low=(body >> 40) & 15, ti=(body >> 32) & 0xFF)
    if subclass == 8:
        return KeyChangePart(3, part, sgc_part=hi12)
    return KeyChangePart(4, part, sgc_part=hi12)


def token_number(token) -> int:
    digits = normalise_token(token)
    n = int(digits)
    if n >> 66:
        raise MalformedToken(f"Token {digits} is larger than any 66-bit token.")
    return n


def decode_token(token, cipher_or_decoder_key, key_data: KeyData) -> DecodedToken:
    """Read a token back with the meter's key; TokenCRCError if the CRC does not match."""
    digits = token if (type(token) is str and len(token) == 20 and token.isdigit()) else normalise_token(token)
    n = int(digits)
    if n >> 66:
        raise MalformedToken(f"Token {digits} is larger than any 66-bit token.")
    cls = (n >> 27) & 3
    enc = (n & _KEEP) | ((n >> 64) << 27)
    if cls == 1:
        block = enc
    elif cls == 3:
        raise MalformedToken(f"Token {digits} is a class 3 token, which this system does not use.")
    else:
        block = _cipher(cipher_or_decoder_key, key_data).decrypt_block(enc)
    body = block >> 16
    if block_crc(cls, body) != block & 0xFFFF:
        raise TokenCRCError(
            f"Token {digits} does not check (CRC error): it was mistyped or made for another meter or key."
        )
    subclass = body >> 44
    if cls == 1:
        if subclass == 0:
            return DecodedToken(digits, 1, 0, block, control=(body >> 8) & ((1 << 36) - 1),
                                manufacturer_code=body & 0xFF)
        if subclass == 1:
            return DecodedToken(digits, 1, 1, block, control=(body >> 16) & ((1 << 28) - 1),
                                manufacturer_code=body & 0xFFFF)
        return DecodedToken(digits, 1, subclass, block)
    if cls == 2 and subclass in KEY_CHANGE_SUBCLASSES:
        return DecodedToken(digits, 2, subclass, block, key_change=_parse_kct(subclass, body))
    tid = (body >> 16) & 0xFFFFFF
    field = body & 0xFFFF
    return DecodedToken(
        digits, cls, subclass, block, (body >> 40) & 15, tid,
        time_for_tid(tid, key_data.base_date),
        decode_amount(field) if cls == 0 else None, field,
    )
