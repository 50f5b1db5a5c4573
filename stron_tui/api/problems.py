"""Errors as RFC 9457 problem details: application/problem+json with a stable `code`.

Every StronError maps to one status; FastAPI's own validation errors are
reshaped to the same form (422, code "invalid", `errors` by field). An
unexpected error is a 500 with a fixed message and an error id; the log gets
one line with the same id, the error's type and where it happened (never its
text, which could hold a SQL statement or a secret, and never a traceback
flood). Unexpected errors are answered by the request gate (api/gate.py), so
the connection stays usable for the next request.
"""

from __future__ import annotations

import logging
import secrets
import traceback
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from stron_tui.errors import (
    AccountLocked,
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    StronError,
    ValidationError,
)
from stron_tui.domain.text import printable

log = logging.getLogger("stron_tui.api")

MEDIA_TYPE = "application/problem+json"
MAX_FIELD_ERRORS = 20
TYPE_BASE = "https://stron-tui.invalid/problems/"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class RateLimited(StronError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def status_for(error: StronError) -> int:
    if isinstance(error, RateLimited):
        return 429
    if isinstance(error, ValidationError):
        return 422
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, AccountLocked):
        return 403
    if isinstance(error, AuthenticationFailed):
        return 401
    if error.code == "database_unavailable":
        return 503
    return 422


def problem(status: int, code: str, detail: str, *, headers: dict | None = None, **extra) -> JSONResponse:
    # The detail may echo the request (a path, a field's text): never with control characters in it.
    body = {"type": TYPE_BASE + code, "title": TITLES.get(status, "Error"), "status": status,
            "detail": printable(detail), "code": code}
    body.update({key: value for key, value in extra.items() if value is not None})
    if isinstance(body.get("errors"), dict):
        body["errors"] = {printable(key): printable(value) for key, value in body["errors"].items()}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_name(location: tuple) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(location[-1] if location else "request")


def for_error(error: StronError) -> JSONResponse:
    """The problem document for a domain error."""
    status = status_for(error)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="stron-tui"'
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    errors = getattr(error, "errors", None) or None
    return problem(status, error.code, error.message, headers=headers or None, errors=errors)


def unexpected(error: BaseException, method: str, path: str) -> JSONResponse:
    """A 500 for an error no handler expected: one log line with an id the client also gets."""
    error_id = secrets.token_hex(6)
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}" if frames else "unknown"
    log.error("unexpected error %s on %s %s: %s at %s", error_id, method, printable(path)[:200],
              type(error).__name__, where)
    return problem(500, "internal", f"The server could not complete the request; the error is logged as {error_id}.",
                   error_id=error_id)


def install(app: FastAPI) -> None:
    @app.exception_handler(StronError)
    async def stron_error(request: Request, error: StronError):
        return for_error(error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):
        errors: dict[str, str] = {}
        for item in error.errors():
            if len(errors) >= MAX_FIELD_ERRORS:  # a body of 100,000 unknown keys gets a short answer
                break
            errors.setdefault(_field_name(tuple(item.get("loc", ()))), str(item.get("msg", "invalid")))
        first_field, first_message = next(iter(errors.items()), ("request", "invalid input"))
        return problem(422, "invalid", f"{first_field}: {first_message}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        status = error.status_code
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 400: "bad_request"}.get(
            status, "error")
        detail = error.detail if isinstance(error.detail, str) else TITLES.get(status, "Error")
        if status == 404 and detail == "Not Found":
            detail = f"There is no {request.method} {request.url.path} in this API."
        return problem(status, code, detail, headers=getattr(error, "headers", None))
