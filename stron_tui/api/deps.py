"""Request dependencies: the application context, the acting API account, the Idempotency-Key."""

from __future__ import annotations

import json
import re
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials

from stron_tui.api.cursors import Cursors
from stron_tui.api.schemas import IDEMPOTENCY_KEY_PATTERN
from stron_tui.api.problems import RateLimited
from stron_tui.api.security import bearer, current_actor
from stron_tui.errors import AuthenticationFailed
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor
from stron_tui.domain.text import describe_unsafe


# Trivial dependencies are async: a sync one costs a hop to the thread pool on every request.
async def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


async def _cursors(request: Request) -> Cursors:
    return request.app.state.cursors


class MinorUnitCache:
    """Currency decimal places, re-read at most once a minute (currencies change rarely)."""

    TTL = 60.0

    def __init__(self, ctx: AppContext):
        self._ctx = ctx
        self._value: dict[str, int] = {}
        self._stamp = float("-inf")

    async def get(self) -> dict[str, int]:
        import time

        from starlette.concurrency import run_in_threadpool

        from stron_tui.services.api_queries import currency_minor_units

        if time.monotonic() - self._stamp > self.TTL:
            self._value = await run_in_threadpool(currency_minor_units, self._ctx)
            self._stamp = time.monotonic()
        return self._value


async def _minor_units(request: Request) -> dict[str, int]:
    return await request.app.state.minor_units.get()


def bearer_credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if not scheme or not key.strip():
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=key.strip())


def authenticate_request(request: Request) -> Actor:
    """The API account of a request, counted against its rate limit, before its body is read.

    Both counts live in the database, so they hold across worker processes and hosts
    (services/rate_limits.py): the account's requests per minute, and the failed keys per minute from
    the client's address; an address over that limit is refused, whatever key it sends.
    Runs in the thread pool (database work), called by the request gate (api/gate.py).
    """
    return counted_authentication(request, lambda: current_actor(request, bearer_credentials(request)))


def counted_authentication(request: Request, check) -> Actor:
    """`check()` (the actor or AuthenticationFailed), counted like every API door: a failure against the
    address's failed-key limit, a success against the account's rate limit (shared by /api/v1 and the
    Stron-compatible surface, api/stron_compat.py)."""
    limiter = request.app.state.rate_limiter
    settings = request.app.state.ctx.settings
    address = f"address:{request.client.host if request.client else ''}"[:100]
    failures_allowed = settings.api_failed_keys_per_minute
    try:
        actor = check()
    except AuthenticationFailed:
        counted = limiter.take(address, failures_allowed)
        if not counted.allowed:
            raise _address_blocked(counted.retry_after) from None
        raise
    per_minute = max(1, actor.extra.get("rate_limit_per_minute", 600))
    decision = limiter.take(f"account:{actor.api_account_id}", per_minute, guard=(address, failures_allowed))
    if decision.by_guard:
        # Even the right key is refused from an address that is guessing: guesses then tell nothing.
        raise _address_blocked(decision.retry_after)
    if not decision.allowed:
        raise RateLimited(f"This API account may make {per_minute} requests a minute; try again in "
                          f"{decision.retry_after} s.", retry_after=decision.retry_after)
    return actor


def _address_blocked(retry_after: int) -> RateLimited:
    return RateLimited(f"Too many requests with a wrong API key came from this address; try again in "
                       f"{retry_after} s.", retry_after=retry_after)


async def _actor(request: Request,
                 _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Actor:
    # The gate authenticated the request before its body was read; without the gate (an app built some
    # other way) the same check runs here. (`bearer` puts the key scheme in the OpenAPI document.)
    actor = request.scope.get("state", {}).get("actor")
    if actor is None:
        from starlette.concurrency import run_in_threadpool

        actor = await run_in_threadpool(authenticate_request, request)
    return actor


Ctx = Annotated[AppContext, Depends(_ctx)]
ApiActor = Annotated[Actor, Depends(_actor)]
Pager = Annotated[Cursors, Depends(_cursors)]
MinorUnits = Annotated[dict, Depends(_minor_units)]
IdempotencyKey = Annotated[str, Header(
    alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN,
    description="8 to 64 letters, digits or . _ : - ; a retry with the same key returns the first result, "
                "the same key with a different body is a 409")]


def _unsafe_text(value) -> str:
    """A description of the first character no field accepts in `value` (nested JSON too), or ''.

    NUL and lone surrogates can't be stored in PostgreSQL text; control characters and direction overrides
    would act on the terminal or receipt printer of whoever reads the text later (text.py)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a "\udXXX" escape
            return "a broken character escape"
        return describe_unsafe(value)
    if isinstance(value, dict):
        return next(filter(None, (_unsafe_text(k) or _unsafe_text(v) for k, v in value.items())), "")
    if isinstance(value, list):
        return next(filter(None, (_unsafe_text(item) for item in value)), "")
    return ""


# A JSON body can only hold an unsafe character as an escape (\u001b, \n ...) or as raw UTF-8 above ASCII.
_MAYBE_UNSAFE = re.compile(rb"[\\\x00-\x1f\x7f-\xff]")


async def refuse_unsafe_text(request: Request) -> None:
    """Every route, before anything else: text with control characters (ESC, CSI, BEL, line breaks ...),
    direction overrides, NUL or broken escapes is refused as bad input, in the path, the query and the body."""
    from stron_tui.errors import ValidationError

    places = [("path", request.url.path)] + [(f"query parameter {name}", name + value)
                                             for name, value in request.query_params.multi_items()]
    for place, value in places:
        found = _unsafe_text(value)
        if found:
            raise ValidationError(f"The {place} holds {found}, which no field accepts "
                                  "(control characters are refused).", field="request")
    if request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()
        if body and _MAYBE_UNSAFE.search(body):
            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                return  # FastAPI reports malformed JSON itself
            found = _unsafe_text(parsed)
            if found:
                raise ValidationError(f"The request body holds {found}, which no field accepts "
                                      "(control characters are refused).", field="body")
    if _unsafe_text(request.headers.get("idempotency-key", "")):
        raise ValidationError("The Idempotency-Key holds characters it may not.", field="Idempotency-Key")
