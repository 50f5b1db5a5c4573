"""Request counts shared by every API worker process and host: kept in the database.

Each bucket ("account:12", "address:203.0.113.9") has one row per minute.
The rate is a sliding window estimated from two rows, as many proxies do:

    recent = hits in the previous minute * (share of the last 60 s that falls in it)
             + hits in this minute

A request is allowed while recent + 1 <= limit. The count is raised with one
conditional UPDATE (hits = hits + 1 WHERE hits < cap), which every database
applies atomically under its row lock, so two workers can never both take the
last request of a minute; the first request of a minute INSERTs the row (a
duplicate-key race falls back to the UPDATE). No upsert shortcut is used:
the same statements run on SQLite, PostgreSQL and SQL Server. A refused
request is not counted.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from stron_tui.db.models import RateCounter
from stron_tui.services.context import AppContext

WINDOW_SECONDS = 60

log = logging.getLogger("stron_tui.api")

_COUNTS = (select(RateCounter.minute, RateCounter.hits)
           .where(RateCounter.bucket == bindparam("bucket"),
                  RateCounter.minute.in_([bindparam("minute"), bindparam("previous")])))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # seconds, when refused


def _recent(previous_hits: int, elapsed: float) -> float:
    return previous_hits * (1.0 - elapsed / WINDOW_SECONDS)


def _retry_after(limit: int, previous_hits: int, hits: int, elapsed: float) -> int:
    """Seconds until recent + 1 <= limit again, if nobody else counts meanwhile."""
    if hits + 1 > limit:
        # Wait for the next minute, then until this minute's share of the window has shrunk enough.
        share = max(0.0, 1.0 - (limit - 1) / hits) if hits else 0.0
        wait = (WINDOW_SECONDS - elapsed) + share * WINDOW_SECONDS
    else:
        share = max(0.0, 1.0 - (limit - 1 - hits) / previous_hits) if previous_hits else 0.0
        wait = share * WINDOW_SECONDS - elapsed
    return max(1, math.ceil(wait))


class SharedRateLimiter:
    """Counts requests per bucket in the database; `clock` gives Unix seconds (tests pass their own)."""

    def __init__(self, ctx: AppContext, clock=time.time):
        self._ctx = ctx
        self._clock = clock

    def _now(self) -> tuple[int, float]:
        now = self._clock()
        return int(now // WINDOW_SECONDS), now % WINDOW_SECONDS

    def check(self, bucket: str, limit: int) -> Decision:
        """Whether one more request would be allowed, without counting it (a read)."""
        minute, elapsed = self._now()
        rows = self._ctx.db.read_rows(_COUNTS, {"bucket": bucket, "minute": minute, "previous": minute - 1})
        counts = {row.minute: row.hits for row in rows}
        previous, hits = counts.get(minute - 1, 0), counts.get(minute, 0)
        if _recent(previous, elapsed) + hits + 1 <= limit:
            return Decision(True)
        return Decision(False, _retry_after(limit, previous, hits, elapsed))

    def take(self, bucket: str, limit: int) -> Decision:
        """Count one request in `bucket` if the limit allows it."""
        limit = max(1, limit)
        minute, elapsed = self._now()
        for _attempt in range(3):
            try:
                return self._take_once(bucket, limit, minute, elapsed)
            except IntegrityError:
                continue  # another worker inserted this minute's row first: count on it
        return self._take_once(bucket, limit, minute, elapsed)

    def _take_once(self, bucket: str, limit: int, minute: int, elapsed: float) -> Decision:
        with self._ctx.db.session() as session:
            previous = session.scalar(select(RateCounter.hits).where(RateCounter.bucket == bucket,
                                                                     RateCounter.minute == minute - 1)) or 0
            # The most this minute's row may hold after this request: limit - 1 - previous minute's share.
            cap = math.floor(limit - _recent(previous, elapsed))
            if cap < 1:
                hits = session.scalar(select(RateCounter.hits).where(RateCounter.bucket == bucket,
                                                                     RateCounter.minute == minute)) or 0
                return Decision(False, _retry_after(limit, previous, hits, elapsed))
            counted = session.execute(
                update(RateCounter)
                .where(RateCounter.bucket == bucket, RateCounter.minute == minute, RateCounter.hits < cap)
                .values(hits=RateCounter.hits + 1)
            ).rowcount
            if counted:
                return Decision(True)
            hits = session.scalar(select(RateCounter.hits).where(RateCounter.bucket == bucket,
                                                                 RateCounter.minute == minute))
            if hits is not None:
                return Decision(False, _retry_after(limit, previous, hits, elapsed))
            # The first request of this minute in this bucket.
            session.execute(insert(RateCounter).values(bucket=bucket, minute=minute, hits=1))
        self._forget_before(minute - 1)
        return Decision(True)

    def _forget_before(self, minute: int) -> None:
        """Rows of minutes no window needs any more go, in their own short transaction: tidying that
        fails (a lock conflict with another worker doing the same) is left to the next minute."""
        try:
            with self._ctx.db.session() as session:
                session.execute(delete(RateCounter).where(RateCounter.minute < minute))
        except DBAPIError as error:
            log.debug("rate counters not tidied this time: %s", type(error).__name__)
