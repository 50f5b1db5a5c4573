"""A keypad prepaid meter, simulated: it accepts or rejects tokens the way a real one does.

    meter = Meter.from_vending_key("00000000000", key_data, vending_key)
    result = meter.enter("2371 6100 5011 8319 4197")
    result.accepted, result.reason, meter.credit[0]

Reasons shown on the display: ACCEPT; REJECT (CRC does not check: wrong
key or a mistyped digit); ERROR (not a 20-digit token, or nothing this
meter can act on); USED (TID already in memory); OLD (older than every TID
the full memory holds); EXPIRED (TID beyond the key's KEN).

Key changes: the tokens of a set (3, 4 and for 128-bit keys 8, 9) are
stored until the set is complete, then the new key applies.  The tokens do
not carry the base date, EA or DKGA: the meter keeps its own unless told
with ``enter(token, new_key_data=...)``, except that a rollover key change
moves it to the next base date (a rollover is what a base-date change
needs, since TIDs restart).  The rollover flag also clears the TID memory.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from .cipher import TokenCipher
from .errors import MalformedToken, TokenCRCError, TokenError
from .identity import drn_for_pan, meter_pan
from .keydata import BASE_DATES, KeyData
from .keys import generate_decoder_key
from .token import DecodedToken, KeyChangePart, decode_token, normalise_token

ACCEPT = "ACCEPT"
REJECT = "REJECT"
ERROR = "ERROR"
USED = "USED"
OLD = "OLD"
EXPIRED = "EXPIRED"

DEFAULT_TID_MEMORY = 50


@dataclass(frozen=True)
class MeterResult:
    """What the meter did with one token."""

    accepted: bool
    reason: str
    message: str
    token: str | None = None
    token_class: int | None = None
    subclass: int | None = None
    tid: int | None = None
    amount: Decimal | None = None
    field: int | None = None
    key_changed: bool = False
    decoded: DecodedToken | None = None

    def __bool__(self) -> bool:
        return self.accepted


class Meter:
    """One meter: key data, decoder key, TID memory, credit registers and settings."""

    def __init__(self, pan_or_drn: str, key_data: KeyData, decoder_key: bytes, *,
                 tid_memory: int = DEFAULT_TID_MEMORY) -> None:
        self.pan = meter_pan(pan_or_drn)
        self.drn = drn_for_pan(self.pan)
        self.key_data = key_data
        self._cipher = TokenCipher(decoder_key, key_data.ea)
        self.tid_memory_size = tid_memory
        self.tids: list[int] = []  # ascending, at most tid_memory_size
        self.credit: dict[int, Decimal] = {s: Decimal(0) for s in range(8)}
        self.tamper = False
        self.power_limit: int | None = None            # W
        self.phase_unbalance_limit: int | None = None  # W
        self.tariff_rate: int | None = None
        self.water_meter_factor: int | None = None
        self.log: list[MeterResult] = []
        self._pending: dict[int, KeyChangePart] = {}

    @classmethod
    def from_vending_key(cls, pan_or_drn: str, key_data: KeyData, vending_key: bytes, **kw) -> "Meter":
        return cls(pan_or_drn, key_data, generate_decoder_key(vending_key, key_data, pan_or_drn), **kw)

    # -- state helpers ----------------------------------------------------
    def set_tamper(self, on: bool = True) -> None:
        self.tamper = on

    @property
    def pending_key_change(self) -> tuple[int, ...]:
        """Subclasses of key change tokens stored and waiting for the rest of their set."""
        return tuple(sorted(self._pending))

    def _result(self, accepted: bool, reason: str, message: str, **kw) -> MeterResult:
        r = MeterResult(accepted, reason, message, **kw)
        self.log.append(r)
        return r

    def _remember(self, tid: int) -> None:
        tids = self.tids
        lo, hi = 0, len(tids)
        while lo < hi:
            mid = (lo + hi) // 2
            if tids[mid] < tid:
                lo = mid + 1
            else:
                hi = mid
        tids.insert(lo, tid)
        if len(tids) > self.tid_memory_size:
            del tids[0]

    # -- entering tokens --------------------------------------------------
    def enter(self, token, *, new_key_data: KeyData | None = None) -> MeterResult:
        """Key in one token; returns what the display would say."""
        try:
            digits = normalise_token(token)
            d = decode_token(digits, self._cipher, self.key_data)
        except TokenCRCError:
            return self._result(False, REJECT, "Token rejected: wrong key or mistyped digit.",
                                token=str(token))
        except (MalformedToken, TokenError) as exc:
            return self._result(False, ERROR, str(exc), token=str(token))
        common = dict(token=digits, token_class=d.token_class, subclass=d.subclass, decoded=d)

        if d.token_class == 1:
            return self._result(True, ACCEPT, f"Test/display {d.subclass} started.", **common)
        if d.token_class == 2 and d.key_change is not None:
            return self._key_change(d, new_key_data, common)

        tid = d.tid
        common.update(tid=tid, field=d.field, amount=d.amount)
        if tid in self.tids:
            return self._result(False, USED, "Token already used.", **common)
        if len(self.tids) >= self.tid_memory_size and tid < self.tids[0]:
            return self._result(False, OLD, "Token older than the meter remembers.", **common)
        if (tid >> 16) > self.key_data.ken:
            return self._result(False, EXPIRED, "Key expired: a key change is needed.", **common)

        if d.token_class == 0:
            self.credit[d.subclass] += d.amount
            message = f"Credit {d.amount} added to register {d.subclass}."
        else:
            message = self._apply_management(d)
            if message is None:
                return self._result(False, ERROR, f"Management token {d.subclass} cannot be applied.",
                                    **common)
        self._remember(tid)
        return self._result(True, ACCEPT, message, **common)

    def _apply_management(self, d: DecodedToken) -> str | None:
        s, f = d.subclass, d.field
        if s == 0:
            self.power_limit = d.watts
            return f"Maximum power limit set to {self.power_limit} W."
        if s == 1:
            if f == 0xFFFF:
                for reg in self.credit:
                    self.credit[reg] = Decimal(0)
                return "All credit registers cleared."
            if f in self.credit:
                self.credit[f] = Decimal(0)
                return f"Credit register {f} cleared."
            return None
        if s == 2:
            self.tariff_rate = f
            return f"Tariff rate set to {f}."
        if s == 5:
            self.tamper = False
            return "Tamper condition cleared."
        if s == 6:
            self.phase_unbalance_limit = d.watts
            return f"Maximum phase power unbalance limit set to {self.phase_unbalance_limit} W."
        if s == 7:
            self.water_meter_factor = f
            return f"Water meter factor set to {f}."
        return None

    def _key_change(self, d: DecodedToken, hint: KeyData | None, common: dict) -> MeterResult:
        self._pending[d.subclass] = d.key_change
        wide = (self.key_data.ea == "11" or (hint is not None and hint.ea == "11")
                or 8 in self._pending or 9 in self._pending)
        needed = (3, 4, 8, 9) if wide else (3, 4)
        have = [s for s in needed if s in self._pending]
        if len(have) < len(needed):
            return self._result(True, ACCEPT, f"Key change token {len(have)} of {len(needed)} stored.",
                                **common)
        p = self._pending
        first, second = p[3], p[4]
        if wide:
            key = ((first.key_part << 96) | (p[8].key_part << 64) | (p[9].key_part << 32)
                   | second.key_part).to_bytes(16, "big")
            sgc = f"{(p[9].sgc_part << 12) | p[8].sgc_part:06d}"
        else:
            key = ((first.key_part << 32) | second.key_part).to_bytes(8, "big")
            sgc = hint.sgc if hint is not None else self.key_data.sgc
        old = self.key_data
        if hint is not None:
            base_date, ea, dkga = hint.base_date, hint.ea, hint.dkga
        else:
            base_date = old.base_date
            if first.rollover:
                newer = [b for b in BASE_DATES if b > old.base_date]
                base_date = newer[0] if newer else old.base_date
            if wide:
                ea, dkga = "11", "04"
            else:
                ea = old.ea if old.ea != "11" else "07"
                dkga = old.dkga
        try:
            new = replace(old, sgc=sgc, ti=second.ti, krn=first.krn, kt=first.kt,
                          ken=(first.ken_high << 4) | second.ken_low, base_date=base_date,
                          ea=ea, dkga=dkga)
            cipher = TokenCipher(key, new.ea)
        except TokenError as exc:
            self._pending.clear()
            return self._result(False, ERROR, f"Key change cannot be applied: {exc}", **common)
        self.key_data = new
        self._cipher = cipher
        self._pending.clear()
        if first.rollover:
            self.tids.clear()
        return self._result(True, ACCEPT, "Key changed.", key_changed=True, **common)
