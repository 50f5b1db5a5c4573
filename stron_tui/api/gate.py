"""The request gate: what every request passes before the application spends anything on it.

A pure ASGI middleware, in this order:

1. A declared Content-Length over the body limit is refused (413) before a byte is read.
2. A request under /api/v1 is authenticated (the key, the failed-key count of its address, the account's
   rate limit) before its body is read: an unauthenticated 300 MB upload costs one header parse.
   Health probes (/healthz, /readyz) are outside /api/v1: no key, no rate limit, and their body is never
   read (step 3 skipped); a declared oversized body is still refused by step 1.
3. The body is read while counting bytes (a chunked upload has no Content-Length to trust) and refused
   at the limit; a JSON body nested deeper than the limit is refused before any parser sees it.
4. Any error nothing else handled becomes a 500 problem document with one log line (problems.unexpected),
   and is not raised on to the server: the keep-alive connection stays usable for the next request.

Refusals sent before the body was read carry `Connection: close` (the rest of the body is never read).
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stron_tui.api import problems
from stron_tui.errors import StronError

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays/objects deeper than `limit`, by counting brackets outside strings
    (no parser, no recursion, linear time)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class _TooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class RequestGate:
    def __init__(self, app: ASGIApp, *, api_prefix: str, authenticate, unread_paths=frozenset()):
        self.app = app
        self.api_prefix = api_prefix
        self.authenticate = authenticate  # sync callable(Request) -> actor, raises StronError
        self.unread_paths = unread_paths  # health probes: answered without reading a body or a key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._handle(scope, receive, send_tracked)
        except Exception as error:  # noqa: BLE001 - the last line of defence: answer, log one line, go on
            if isinstance(error, StronError):
                response = problems.for_error(error)
            else:
                response = problems.unexpected(error, scope.get("method", ""), scope.get("path", ""))
            if not started:
                await response(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = scope["app"].state.ctx.settings if "app" in scope else None
        limit = settings.api_max_body_bytes if settings else 1_048_576
        depth = settings.api_max_json_depth if settings else 32
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        declared = headers.get("content-length")
        has_body = scope["method"] in BODY_METHODS or bool(declared and declared != "0") \
            or "transfer-encoding" in headers
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, 413, "too_large",
                               f"The request body may be at most {limit:,} bytes.")
            return
        if scope["path"].startswith(self.api_prefix):
            try:
                actor = await run_in_threadpool(self.authenticate, Request(scope))
            except StronError as error:
                response = problems.for_error(error)
                if has_body:
                    response.headers["Connection"] = "close"
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["actor"] = actor
        if not has_body or scope["path"] in self.unread_paths:
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read_body(receive, limit)
        except _TooLarge:
            await self._refuse(scope, receive, send, 413, "too_large",
                               f"The request body may be at most {limit:,} bytes.")
            return
        except _ClientGone:
            return  # nobody to answer
        if json_depth_exceeds(body, depth):
            await problems.problem(400, "too_deep", f"The JSON body may nest at most {depth} levels deep.")(
                scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _read_body(receive: Receive, limit: int) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, detail: str) -> None:
        response = problems.problem(status, code, detail, headers={"Connection": "close"})
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would tell it

    return replay
