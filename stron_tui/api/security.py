"""Bearer-key authentication and the per-account rate limit.

The rate limit is a token bucket per API account, kept in this process's
memory: capacity = the account's requests per minute, refilled evenly over
the minute. State is per process and per host: with N uvicorn workers or N
hosts behind a balancer an account gets up to N times its limit, and a
restart refills the buckets. That is enough to keep one partner's runaway
loop from starving the others; a shared limit would need a shared store.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from stron_tui.api.problems import RateLimited
from stron_tui.errors import AuthenticationFailed
from stron_tui.services import api_accounts
from stron_tui.services.permissions import Actor

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    capacity: int


class RateLimiter:
    """Per-account token buckets (thread-safe; routes run in a thread pool)."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, account_id: int, per_minute: int) -> None:
        """Spend one request or raise RateLimited with the seconds until the next one is allowed."""
        per_minute = max(1, per_minute)
        now = self._clock()
        rate = per_minute / 60.0
        with self._lock:
            bucket = self._buckets.get(account_id)
            if bucket is None or bucket.capacity != per_minute:
                bucket = self._buckets[account_id] = _Bucket(float(per_minute), now, per_minute)
            bucket.tokens = min(float(per_minute), bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = math.ceil((1.0 - bucket.tokens) / rate)
        raise RateLimited(f"This API account may make {per_minute} requests a minute; try again in {wait} s.",
                          retry_after=max(1, wait))


def current_actor(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("Send the API key as: Authorization: Bearer <key>.")
    ctx = request.app.state.ctx
    remote = request.client.host if request.client else ""
    # The rate limit is counted by the caller, api/deps.authenticate_request, in the database.
    return api_accounts.authenticate(ctx, credentials.credentials, remote=remote)
