"""GET /healthz and /readyz: no key, no rate limit, no body read, and /readyz says what is wrong."""

from __future__ import annotations

import httpx
from sqlalchemy import event, text

from stron_tui.api.app import create_app
from stron_tui.api.health import Readiness
from stron_tui.db.engine import Database
from stron_tui.db.revision import SCHEMA_HEAD
from stron_tui.services.context import AppContext
from tests.api.conftest import RunningApi


def test_health_and_readiness_need_no_key(api):
    with httpx.Client(base_url=api.url) as http:
        alive = http.get("/healthz")
        ready = http.get("/readyz")
        assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        assert ready.headers["cache-control"] == "no-store"
        assert http.get("/api/v1/me").status_code == 401  # the API itself still needs its key


def test_readiness_says_the_schema_is_behind(ctx, database):
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0008'"))
    try:
        with RunningApi(create_app(ctx)) as running, httpx.Client(base_url=running.url) as http:
            answer = http.get("/readyz")
            assert answer.status_code == 503
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["code"] == "not_ready"
            assert f"is at schema 0008, this program needs {SCHEMA_HEAD}; run: stron-tui db upgrade" in \
                answer.json()["detail"]
            assert http.get("/healthz").status_code == 200  # up, though not ready
    finally:
        with database.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": SCHEMA_HEAD})


def test_readiness_says_the_database_is_unreachable(ctx):
    gone = AppContext(settings=ctx.settings, db=Database("postgresql+psycopg://stron@127.0.0.1:9/none"))
    try:
        with RunningApi(create_app(gone)) as running, httpx.Client(base_url=running.url) as http:
            answer = http.get("/readyz")
            assert answer.status_code == 503
            assert "Cannot reach the database at postgresql+psycopg://stron@127.0.0.1:9/none" in \
                answer.json()["detail"]
    finally:
        gone.close()


def test_a_probe_flood_asks_the_database_once_per_interval(ctx):
    app = create_app(ctx)
    app.state.readiness = Readiness(ctx, interval=3600)
    statements = []
    event.listen(ctx.db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with RunningApi(app) as running, httpx.Client(base_url=running.url) as http:
        answers = [http.get("/readyz").status_code for _ in range(50)]
    assert answers == [200] * 50
    assert len([s for s in statements if "alembic_version" in s]) == 1


def test_probes_pass_where_the_api_is_refusing_the_address(ctx, api):
    limit = ctx.settings.api_failed_keys_per_minute
    with httpx.Client(base_url=api.url) as http:
        for index in range(limit + 1):
            http.get("/api/v1/me", headers={"Authorization": f"Bearer stron_guess{index:04d}_{'x' * 30}"})
        assert http.get("/api/v1/me", headers={"Authorization": "Bearer stron_x"}).status_code == 429
        assert [http.get(path).status_code for path in ("/healthz", "/readyz") * 20] == [200] * 40


def test_probes_read_no_body_and_large_bodies_are_still_refused(api):
    with httpx.Client(base_url=api.url) as http:
        assert http.request("GET", "/healthz", content=b"x" * 1000).status_code == 200
        too_large = http.request("GET", "/readyz", content=b"x" * 2_000_000)
        assert too_large.status_code == 413
        assert http.post("/healthz", content=b"{}").status_code == 405
