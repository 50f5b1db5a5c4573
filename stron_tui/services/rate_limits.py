"""Request counts shared by every API worker process and host: kept in the database.

Each bucket ("account:12", "address:203.0.113.9") has one row per minute.
The rate is a sliding window estimated from two rows, as many proxies do:

    recent = hits in the previous minute * (share of the last 60 s that falls in it)
             + hits in this minute

A request is allowed while recent + 1 <= limit. The count is raised with one
conditional UPDATE (hits = hits + 1 WHERE hits < cap), which every database
applies atomically under its row lock, so two workers can never both take the
last request of a minute; the first request of a minute INSERTs the row (a
duplicate-key race falls back to the UPDATE). A guard bucket (the client
address's failed keys) is read in the same statement, so a request costs one
SELECT and one UPDATE in one transaction. No upsert shortcut is used:
the same statements run on SQLite, PostgreSQL and SQL Server. A refused
request is not counted.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from stron_tui.db.models import RateCounter
from stron_tui.errors import DatabaseUnavailable
from stron_tui.services.context import AppContext

WINDOW_SECONDS = 60

log = logging.getLogger("stron_tui.api")

@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # seconds, when refused
    by_guard: bool = False  # refused because the guard bucket is over its limit


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

    def take(self, bucket: str, limit: int, *, guard: tuple[str, int] | None = None) -> Decision:
        """Count one request in `bucket` if its limit allows it and, when a guard (bucket, limit) is given,
        that bucket is not over its own limit (the guard is read, not counted). One transaction."""
        limit = max(1, limit)
        now = self._clock()
        minute, elapsed = int(now // WINDOW_SECONDS), now % WINDOW_SECONDS
        for _attempt in range(3):
            try:
                return self._take_once(bucket, limit, guard, minute, elapsed)
            except IntegrityError:
                continue  # another worker inserted this minute's row first: count on it
        return self._take_once(bucket, limit, guard, minute, elapsed)

    def _take_once(self, bucket, limit, guard, minute, elapsed) -> Decision:
        buckets = [bucket] + ([guard[0]] if guard else [])
        with self._ctx.db.session() as session:
            rows = session.execute(select(RateCounter.bucket, RateCounter.minute, RateCounter.hits)
                                   .where(RateCounter.bucket.in_(buckets),
                                          RateCounter.minute.in_([minute, minute - 1]))).all()
            counts = {(row.bucket, row.minute): row.hits for row in rows}
            if guard:
                guard_bucket, guard_limit = guard
                guard_previous = counts.get((guard_bucket, minute - 1), 0)
                guard_hits = counts.get((guard_bucket, minute), 0)
                if _recent(guard_previous, elapsed) + guard_hits + 1 > guard_limit:
                    return Decision(False, _retry_after(guard_limit, guard_previous, guard_hits, elapsed),
                                    by_guard=True)
            previous = counts.get((bucket, minute - 1), 0)
            hits = counts.get((bucket, minute))
            # The most this minute's row may hold after this request: limit - the previous minute's share.
            cap = math.floor(limit - _recent(previous, elapsed))
            if hits is not None:
                counted = hits < cap and session.execute(
                    update(RateCounter)
                    .where(RateCounter.bucket == bucket, RateCounter.minute == minute, RateCounter.hits < cap)
                    .values(hits=RateCounter.hits + 1)
                ).rowcount
                if counted:
                    return Decision(True)
                return Decision(False, _retry_after(limit, previous, max(hits, cap), elapsed))
            if cap < 1:
                return Decision(False, _retry_after(limit, previous, 0, elapsed))
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
        except (DBAPIError, DatabaseUnavailable) as error:
            log.debug("rate counters not tidied this time: %s", type(error).__name__)
