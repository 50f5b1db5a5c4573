"""TokenCipher: one decoder key bound to its encryption algorithm, schedule precomputed."""

from __future__ import annotations

from .dea import DES
from .errors import InvalidKeyData
from .keydata import EAS
from .misty1 import MISTY1
from .sta import STA

_KEY_BYTES = {"07": 8, "09": 8, "11": 16}
_IMPL = {"07": STA, "09": DES, "11": MISTY1}


class TokenCipher:
    """Encrypts and decrypts 64-bit token blocks with one decoder key.

    Building one costs the key schedule; keep it (e.g. per meter) for
    repeated tokens.  The key itself is not kept as an attribute.
    """

    __slots__ = ("ea", "key_bits", "encrypt_block", "decrypt_block", "_fingerprint")

    def __init__(self, decoder_key: bytes, ea: str) -> None:
        if isinstance(ea, int):
            ea = f"{ea:02d}"
        if ea not in EAS:
            raise InvalidKeyData(f"Encryption algorithm must be one of {', '.join(EAS)}, not {ea!r}.")
        if not isinstance(decoder_key, (bytes, bytearray)):
            raise InvalidKeyData("The decoder key must be given as bytes.")
        want = _KEY_BYTES[ea]
        if len(decoder_key) != want:
            raise InvalidKeyData(
                f"An EA{ea} decoder key is {want * 8} bits, not {len(decoder_key) * 8}."
            )
        impl = _IMPL[ea](bytes(decoder_key))
        self.ea = ea
        self.key_bits = want * 8
        # Bound methods straight from the algorithm: one call per block.
        self.encrypt_block = impl.encrypt_block
        self.decrypt_block = impl.decrypt_block

    def __repr__(self) -> str:  # never show key material
        return f"TokenCipher(ea={self.ea!r})"


def as_cipher(cipher_or_key, ea: str) -> TokenCipher:
    if isinstance(cipher_or_key, TokenCipher):
        if cipher_or_key.ea != ea:
            raise InvalidKeyData(
                f"The cipher is for EA{cipher_or_key.ea} but the key data says EA{ea}."
            )
        return cipher_or_key
    return TokenCipher(cipher_or_key, ea)
