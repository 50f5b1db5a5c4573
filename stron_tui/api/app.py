"""The FastAPI application factory: routes under /api/v1, problem-details errors, bearer keys."""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI

from stron_tui.api import health, problems
from stron_tui.api.cursors import Cursors
from stron_tui.api.deps import MinorUnitCache, authenticate_request, refuse_unsafe_text
from stron_tui.api.gate import RequestGate
from stron_tui.api.routes import cash, library, library_write, reports, sales
from stron_tui.api.stron_compat import StronPaths
from stron_tui.api.stron_compat import router as stron_router
from stron_tui.api.schemas import Problem
from stron_tui.services.context import AppContext
from stron_tui.services.rate_limits import SharedRateLimiter

API_PREFIX = "/api/v1"

DESCRIPTION = """\
The same data and rules as the stron-tui screens, for partners with an API account.

* Authenticate with `Authorization: Bearer <API key>` (System Management > API Accounts, or
  `stron-tui api-account create`). The account's role decides what it may do.
* Selling and management tokens need an `Idempotency-Key` header: a retry with the same key returns
  the first receipt, never a second token; the same key with a different body is a 409.
* Money and units are decimal strings ("10.00"); tokens are 20-digit strings with a grouped form.
* Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`.
* Each account has a rate limit per minute (429 with Retry-After when exceeded), shared by every server
  process; too many wrong keys from one address are refused for a while the same way.
* Request bodies are at most 1 MB (413) and JSON nests at most 32 levels (400) unless the operator
  configured other limits; the key is checked before the body is read.
* Library maintenance: create and change customers, meters and accounts one at a time or in batches of up
  to 1,000 rows (all or nothing, as the Excel import); tariffs, districts and stations to read.
* Tokens to customers: `send_token` on a sale, `/receipts/{number}/send`, `/customers/{code}/last-tokens`.
* Beside this API, the same server answers Stron's Vending API shapes (`POST /api/VendingMeter`, ...) and
  MicroPowerManager's Stron plug-in (`/api/login/`, `/api/vending/`): see docs/stron-api.md.
"""

_ERRORS = {status: {"model": Problem, "content": {problems.MEDIA_TYPE: {}}, "description": title}
           for status, title in ((401, "no valid API key"), (403, "the account's role lacks the permission"),
                                 (404, "not found"), (409, "Idempotency-Key reused with a different body"),
                                 (413, "request body too large"),
                                 (422, "bad input"), (429, "rate limit exceeded; see Retry-After"))}


@asynccontextmanager
async def _lifespan(app: FastAPI):
    # Requests do their database work in a thread pool. With anyio's 40 threads, every request in flight
    # shares the interpreter lock with all the others and each crawls; with a few threads (enough to
    # overlap the database round trips) the rest wait their turn and each finishes fast: on two cores,
    # 16 clients selling at once get the same throughput with half the 99th percentile latency.
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.ctx.settings.api_threads
    sender = _start_message_sender(app.state.ctx)
    try:
        yield
    finally:
        if sender is not None:
            sender[0].set()
            sender[1].join(10)


def _start_message_sender(ctx: AppContext):
    """Tokens to customers go out from the API server when a channel is configured (services/messages.py);
    several workers may each run one: a message is claimed by one sender only."""
    import threading

    from stron_tui.services import messages

    if not (ctx.settings.smtp_host or ctx.settings.sms_gateway_url):
        return None
    stop = threading.Event()
    thread = threading.Thread(target=messages.run_sender, args=(ctx, stop), name="message-sender", daemon=True)
    thread.start()
    return stop, thread


DOCS_URL = "/docs"
DOCS_ASSETS = "/docs/assets"


def _serve_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from assets shipped in a Python package: servers often have no internet, and
    FastAPI's default page loads its script and style from a CDN (a blank page offline)."""
    from importlib.resources import files

    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    assets = files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title}: documentation",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png")


def create_app(ctx: AppContext, *, rate_limiter: SharedRateLimiter | None = None) -> FastAPI:
    app = FastAPI(title="stron-tui integration API", version="1.0", description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None, lifespan=_lifespan)
    _serve_docs(app)
    app.state.ctx = ctx
    app.state.rate_limiter = rate_limiter or SharedRateLimiter(ctx)
    app.state.cursors = Cursors(ctx.settings.database_url)
    app.state.minor_units = MinorUnitCache(ctx)
    app.state.readiness = health.Readiness(ctx)
    problems.install(app)
    app.add_middleware(RequestGate, api_prefix=API_PREFIX, authenticate=authenticate_request,
                       unread_paths=health.HEALTH_PATHS)
    app.include_router(health.router)
    common = {"prefix": API_PREFIX, "responses": _ERRORS, "dependencies": [Depends(refuse_unsafe_text)]}
    app.include_router(sales.router, **common)
    app.include_router(library.router, **common)
    app.include_router(library_write.router, **common)
    app.include_router(reports.router, **common)
    app.include_router(cash.router, **common)
    # Stron's Vending API shapes beside ours (docs/stron-api.md): after /api/v1, so no v1 route is shadowed.
    app.include_router(stron_router)
    app.add_middleware(StronPaths)  # outermost: the gate sees the folded path
    return app
