"""The shared rate limit: counted in the database, so separate engines (as separate worker processes have)
share one limit, and concurrent requests never take more than the limit between them."""

from __future__ import annotations

import threading

from stron_tui.db.engine import Database
from stron_tui.services.context import AppContext
from stron_tui.services.rate_limits import SharedRateLimiter

MINUTE_START = 1_800_000_000 - 1_800_000_000 % 60


def _limiters(ctx, count: int, clock):
    engines = [Database(ctx.settings.database_url) for _ in range(count)]
    return engines, [SharedRateLimiter(AppContext(settings=ctx.settings, db=db), clock=clock) for db in engines]


def test_concurrent_requests_through_two_engines_take_exactly_the_limit(ctx):
    engines, limiters = _limiters(ctx, 2, clock=lambda: MINUTE_START + 10)
    allowed = []
    barrier = threading.Barrier(16)

    def request(index: int) -> None:
        barrier.wait()
        allowed.append(limiters[index % 2].take("account:77", 7).allowed)

    threads = [threading.Thread(target=request, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for db in engines:
        db.dispose()
    assert sorted(allowed) == [False] * 9 + [True] * 7


def test_the_previous_minute_counts_by_its_share_of_the_window(ctx):
    now = [MINUTE_START + 59]
    engines, (limiter,) = _limiters(ctx, 1, clock=lambda: now[0])
    assert [limiter.take("account:5", 10).allowed for _ in range(12)] == [True] * 10 + [False] * 2
    now[0] = MINUTE_START + 60 + 30  # half a minute later: half of the previous minute's 10 still count
    assert [limiter.take("account:5", 10).allowed for _ in range(6)] == [True] * 5 + [False]
    refused = limiter.take("account:5", 10)
    assert not refused.allowed and 1 <= refused.retry_after <= 60
    assert limiter.take("account:6", 10).allowed  # another bucket is not affected
    now[0] = MINUTE_START + 60 * 3  # two quiet minutes: the full limit again
    assert [limiter.take("account:5", 10).allowed for _ in range(11)] == [True] * 10 + [False]
    engines[0].dispose()
