"""Request dependencies: the application context, the acting API account, the Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials

from stron_tui.api.cursors import Cursors
from stron_tui.api.schemas import IDEMPOTENCY_KEY_PATTERN
from stron_tui.api.security import bearer, current_actor
from stron_tui.services.context import AppContext
from stron_tui.services.permissions import Actor


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


def _actor(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Actor:
    return current_actor(request, credentials)


Ctx = Annotated[AppContext, Depends(_ctx)]
ApiActor = Annotated[Actor, Depends(_actor)]
Pager = Annotated[Cursors, Depends(_cursors)]
MinorUnits = Annotated[dict, Depends(_minor_units)]
IdempotencyKey = Annotated[str, Header(
    alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN,
    description="8 to 64 letters, digits or . _ : - ; a retry with the same key returns the first result, "
                "the same key with a different body is a 409")]


def _unusable(value) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a "\udXXX" escape
            return True
        return False
    if isinstance(value, dict):
        return any(_unusable(k) or _unusable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unusable(item) for item in value)
    return False


async def refuse_unstorable_text(request: Request) -> None:
    """NUL characters and lone surrogates can't be stored in PostgreSQL text: refuse them as bad input
    up front, for every route, instead of letting the database fail on them."""
    from stron_tui.errors import ValidationError

    if "\x00" in request.url.path or any(_unusable(k) or _unusable(v) for k, v in request.query_params.multi_items()):
        raise ValidationError("The request holds a NUL character, which no field accepts.", field="request")
    if request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()
        if body and (b"\\u0000" in body or b"\x00" in body or b"\\ud" in body.lower()):
            import json

            try:
                parsed = json.loads(body)
            except (ValueError, RecursionError):
                return  # FastAPI reports malformed JSON itself
            if _unusable(parsed):
                raise ValidationError("The request holds a NUL character or a broken character escape.",
                                      field="body")
        for name in ("idempotency-key",):
            if _unusable(request.headers.get(name, "")):
                raise ValidationError("The Idempotency-Key holds characters it may not.", field="Idempotency-Key")
