"""tokencore: an STS (IEC 62055-41) token engine and meter simulator, standard library only.

Meter identity (DRN/PAN), decoder key generation (DKGA02, DKGA04), the
encryption algorithms EA07 (STA), EA09 (DEA) and EA11 (MISTY1), amounts,
TIDs, 20-digit tokens of classes 0, 1 and 2 (with key change tokens), and
``tokencore.meter``, a keypad meter that accepts or rejects them.
"""

from .amount import (
    MAX_AMOUNT,
    decode_amount,
    decode_power,
    encode_amount,
    encode_power,
    representable_amount,
    representable_amount_down,
)
from .cipher import TokenCipher
from .errors import (
    AmountOutOfRange,
    BaseDateExhausted,
    InvalidKeyData,
    InvalidMeterNumber,
    KeyExpired,
    MalformedToken,
    TimeBeforeBaseDate,
    TokenCRCError,
    TokenError,
)
from .identity import drn_check_digit, drn_for_pan, meter_pan, pan_for_drn, validate_drn, validate_pan
from .keydata import KeyData
from .keys import generate_decoder_key
from .tid import (
    base_date_end,
    consecutive_tids,
    is_reserved,
    next_tid,
    skip_reserved,
    tid_for_time,
    time_for_tid,
)
from .token import (
    ALL_REGISTERS,
    DecodedToken,
    IssuedToken,
    KeyChangePart,
    class1_token,
    credit_token,
    decode_token,
    format_token,
    key_change_tokens,
    management_token,
    normalise_token,
)

__all__ = [
    "ALL_REGISTERS", "AmountOutOfRange", "BaseDateExhausted", "DecodedToken", "InvalidKeyData",
    "InvalidMeterNumber", "IssuedToken", "KeyChangePart", "KeyData", "KeyExpired", "MAX_AMOUNT",
    "MalformedToken", "TimeBeforeBaseDate", "TokenCRCError", "TokenCipher", "TokenError",
    "base_date_end", "class1_token", "consecutive_tids", "credit_token", "decode_amount",
    "decode_power", "decode_token", "drn_check_digit", "drn_for_pan", "encode_amount",
    "encode_power", "format_token", "generate_decoder_key", "is_reserved", "key_change_tokens",
    "management_token", "meter_pan", "next_tid", "normalise_token", "pan_for_drn",
    "representable_amount", "representable_amount_down", "skip_reserved", "tid_for_time",
    "time_for_tid", "validate_drn", "validate_pan",
]
