"""The one place that reads the time, so tests and reports agree on it."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The business date of an instant at the station's time zone."""
    return instant.astimezone(zone).date()


def local_text(instant: datetime | None, zone: ZoneInfo, with_seconds: bool = False) -> str:
    if instant is None:
        return ""
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")
