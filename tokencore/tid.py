"""Token identifiers: minutes since the key's base date, in 24 bits.

The minute 00:01 of every day is reserved, so normal tokens never use it;
the vending system issues max(now, last + 1) per meter so that two tokens
in one minute still differ.  A KEN limits the key's life: a TID whose top
8 bits exceed the KEN is refused by the meter.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .errors import BaseDateExhausted, InvalidKeyData, KeyExpired, TimeBeforeBaseDate
from .keydata import BASE_DATES

TID_MAX = 0xFFFFFF
MINUTES_PER_DAY = 1440
RESERVED_MINUTE = 1  # 00:01 of each day
UTC = timezone.utc
_BASE = {y: datetime(y, 1, 1, tzinfo=UTC) for y in BASE_DATES}


def base_datetime(base_date: int) -> datetime:
    try:
        return _BASE[base_date]
    except KeyError:
        raise InvalidKeyData(f"Base date must be 1993, 2014 or 2035, not {base_date!r}.") from None


def _fmt(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def base_date_end(base_date: int) -> datetime:
    """The last minute a base date can express."""
    return base_datetime(base_date) + timedelta(minutes=TID_MAX)


def _exhausted(base_date: int, what: str) -> BaseDateExhausted:
    newer = [b for b in BASE_DATES if b > base_date]
    end = base_date_end(base_date).strftime("%Y-%m-%d")
    if newer:
        advice = f"a key change to base date {newer[0]} is needed"
    else:
        advice = "no newer base date exists, so a key change to a new key is needed"
    return BaseDateExhausted(
        f"Base date {base_date} can no longer express {what} (its TIDs ran out on {end}); {advice}."
    )


def tid_for_time(dt: datetime, base_date: int) -> int:
    """Whole minutes from the base date to ``dt`` (naive datetimes are taken as UTC).

    The reserved minute 00:01 maps to 00:02, as the published compliance
    examples do (a token "issued at 00:01" carries the TID of 00:02).
    """
    base = base_datetime(base_date)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - base
    minutes = delta.days * MINUTES_PER_DAY + delta.seconds // 60
    if minutes % MINUTES_PER_DAY == RESERVED_MINUTE:
        minutes += 1
    if minutes < 0:
        raise TimeBeforeBaseDate(
            f"Time {_fmt(dt)} is before the key's base date {base_date}; use a key with an older base date."
        )
    if minutes > TID_MAX:
        raise _exhausted(base_date, _fmt(dt))
    return minutes


def time_for_tid(tid: int, base_date: int) -> datetime:
    """The UTC time a TID stands for."""
    if not 0 <= tid <= TID_MAX:
        raise InvalidKeyData(f"TID {tid} is not a 24-bit value.")
    return base_datetime(base_date) + timedelta(minutes=tid)


def is_reserved(tid: int) -> bool:
    return tid % MINUTES_PER_DAY == RESERVED_MINUTE


def skip_reserved(tid: int) -> int:
    return tid + 1 if tid % MINUTES_PER_DAY == RESERVED_MINUTE else tid


def ken_allows(tid: int, ken: int) -> bool:
    return (tid >> 16) <= ken


def key_expiry_time(ken: int, base_date: int) -> datetime | None:
    """First minute the key no longer covers, or None for KEN 255 (never)."""
    if ken >= 255:
        return None
    return base_datetime(base_date) + timedelta(minutes=(ken + 1) << 16)


def check_tid(tid: int, key_data) -> int:
    """Raise if ``tid`` is beyond the base date or the key's KEN; return it."""
    if tid > TID_MAX:
        raise _exhausted(key_data.base_date, f"TID {tid}")
    if not ken_allows(tid, key_data.ken):
        end = key_expiry_time(key_data.ken, key_data.base_date)
        raise KeyExpired(
            f"The meter's key expired on {_fmt(end)} (key expiry number {key_data.ken}); "
            "a key change is needed."
        )
    return tid


def next_tid(now: datetime, last_tid: int | None, key_data) -> int:
    """max(TID(now), last + 1), never the reserved minute, checked against KEN."""
    tid = tid_for_time(now, key_data.base_date)
    if last_tid is not None and last_tid + 1 > tid:
        tid = last_tid + 1
    tid = skip_reserved(tid)
    return check_tid(tid, key_data)


def consecutive_tids(first: int, count: int, key_data) -> list[int]:
    """``count`` increasing TIDs starting at ``first``, skipping reserved minutes."""
    out = []
    tid = first - 1
    for _ in range(count):
        tid = skip_reserved(tid + 1)
        out.append(check_tid(tid, key_data))
    return out
