"""Meter key data: the non-secret values that, with the vending key, make a decoder key."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidKeyData

BASE_DATES = (1993, 2014, 2035)
EAS = ("07", "09", "11")
DKGAS = ("02", "04")
EA_NAMES = {"07": "STA", "09": "DEA", "11": "MISTY1"}


def _norm_code(value, name: str, allowed) -> str:
    # "7", 7 and "07" all mean EA07; store the two-digit form the standard prints.
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:02d}"
    elif isinstance(value, str):
        value = value.strip().upper()
        for prefix in ("EA", "DKGA"):
            if value.startswith(prefix):
                value = value[len(prefix):]
        if value.isdigit() and len(value) == 1:
            value = "0" + value
    if value not in allowed:
        raise InvalidKeyData(f"{name} must be one of {', '.join(allowed)}, not {value!r}.")
    return value


def _norm_int(value, name: str, lo: int, hi: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InvalidKeyData(f"{name} must be a whole number from {lo} to {hi}, not {value!r}.")
    return value


@dataclass(frozen=True)
class KeyData:
    """SGC, TI, KRN, KT, KEN, base date, EA and DKGA of one meter's key."""

    sgc: str
    ti: int
    krn: int
    kt: int
    ken: int = 255
    base_date: int = 1993
    ea: str = "07"
    dkga: str = "02"

    def __post_init__(self) -> None:
        sgc = self.sgc
        if isinstance(sgc, int) and not isinstance(sgc, bool):
            sgc = f"{sgc:06d}"
        if not (isinstance(sgc, str) and len(sgc.strip()) == 6 and sgc.strip().isdigit()
                and sgc.strip().isascii()):
            raise InvalidKeyData(f"Supply group code must be 6 digits, not {self.sgc!r}.")
        s = object.__setattr__
        s(self, "sgc", sgc.strip())
        s(self, "ti", _norm_int(self.ti, "Tariff index", 0, 99))
        s(self, "krn", _norm_int(self.krn, "Key revision number", 1, 9))
        s(self, "kt", _norm_int(self.kt, "Key type", 0, 3))
        s(self, "ken", _norm_int(self.ken, "Key expiry number", 0, 255))
        base_date = _norm_int(self.base_date, "Base date", 0, 9999)
        if base_date not in BASE_DATES:
            raise InvalidKeyData(f"Base date must be 1993, 2014 or 2035, not {base_date}.")
        s(self, "base_date", base_date)
        s(self, "ea", _norm_code(self.ea, "Encryption algorithm", EAS))
        s(self, "dkga", _norm_code(self.dkga, "Decoder key generation algorithm", DKGAS))
        if self.ea == "11" and self.dkga != "04":
            raise InvalidKeyData("Encryption algorithm EA11 (MISTY1) requires DKGA04 (128-bit keys).")

    @property
    def key_bits(self) -> int:
        """Decoder key length: 128 bits for MISTY1, else 64."""
        return 128 if self.ea == "11" else 64

    @property
    def key_bytes(self) -> int:
        return self.key_bits // 8

    @property
    def vending_key_bytes(self) -> int:
        """Vending key length the DKGA expects: 64 bits for DKGA02, 160 for DKGA04."""
        return 8 if self.dkga == "02" else 20

    def replace(self, **changes) -> "KeyData":
        from dataclasses import replace

        return replace(self, **changes)
