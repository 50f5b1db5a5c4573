"""Health for load balancers and service managers: `GET /healthz` and `GET /readyz`.

- /healthz: the process is up and answering (no database work at all).
- /readyz: the database answers and its schema is the one this program needs; else 503 with a problem
  document that says which.

Both are outside /api/v1: no key, no rate limit, and the request gate never reads a body for them
(api/gate.py). /readyz asks the database at most once per READY_CACHE_SECONDS in each process, so a
flood of probes costs the database nothing.
"""

from __future__ import annotations

import threading
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from stron_tui.api import problems

HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
READY_CACHE_SECONDS = 1.0

router = APIRouter(include_in_schema=False)


class Readiness:
    """The database's readiness, checked at most once per interval (one check at a time)."""

    def __init__(self, ctx, interval: float = READY_CACHE_SECONDS):
        self._ctx = ctx
        self._interval = interval
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._problem: str | None = None

    def problem(self) -> str | None:
        """None when ready, else one sentence on what is wrong."""
        with self._lock:
            if time.monotonic() - self._checked_at >= self._interval:
                self._problem = self._check()
                self._checked_at = time.monotonic()
            return self._problem

    def _check(self) -> str | None:
        from stron_tui.services.context import readiness_problem

        return readiness_problem(self._ctx.db)


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    problem = await run_in_threadpool(request.app.state.readiness.problem)
    if problem is not None:
        return problems.problem(503, "not_ready", problem, headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "ready"}, headers={"Cache-Control": "no-store"})
