"""Hostile requests cost little and leave the API usable.

Text with control characters is refused at the door; bodies are limited in
size and nesting before anything parses them and before an unauthenticated
body is read; every error is a problem document with one log line, on a
connection that stays open; rate limits hold across server processes.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket

import httpx
import pytest
from sqlalchemy import func, select

from stron_tui.api.app import create_app
from stron_tui.api.client import InvalidInput
from stron_tui.api.gate import json_depth_exceeds
from stron_tui.db.engine import Database
from stron_tui.db.models import AuditEntry, ManagementToken, RateCounter
from stron_tui.services import api_accounts
from stron_tui.services.bootstrap import VENDING_ROLE
from stron_tui.services.context import AppContext
from stron_tui.services.rate_limits import SharedRateLimiter
from tests.api.conftest import RunningApi

PROBLEM = "application/problem+json"
NOW = 1_800_000_000 - 1_800_000_000 % 60 + 5  # five seconds into a minute: the window can't roll over


def _tokens(ctx) -> int:
    with ctx.db.read_session() as session:
        return session.scalar(select(func.count(ManagementToken.id)))


def _raw_exchange(port: int, head: bytes) -> bytes:
    """Send only the request head (no body) and read what the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


# ---------------------------------------------------------------- control characters (issue item 15)


def test_a_clear_tamper_reason_with_escape_sequences_is_refused(ctx, client, meter):
    with pytest.raises(InvalidInput) as refused:
        client.clear_tamper(meter, "seal \x1b]0;owned\x07\x1b[4i", idempotency_key="tamper-esc-1")
    assert "U+001B (ESC)" in refused.value.detail and "\x1b" not in refused.value.detail
    with pytest.raises(InvalidInput):
        client.clear_tamper(meter, "seal \x9b2J", idempotency_key="tamper-esc-2")  # C1 CSI, raw UTF-8
    with pytest.raises(InvalidInput):
        client.clear_tamper(meter, "seal \u202eok", idempotency_key="tamper-esc-3")  # right-to-left override
    assert _tokens(ctx) == 0


def test_control_characters_in_the_query_are_refused_and_never_echoed(ctx, api, admin_key):
    response = httpx.get(f"{api.url}/api/v1/customers", params={"q": "x\x1b[2J"},
                         headers={"Authorization": f"Bearer {admin_key}"})
    assert response.status_code == 422 and response.headers["content-type"].startswith(PROBLEM)
    assert "\x1b" not in response.text and "\\u001b" not in response.text


def test_an_unknown_path_with_escapes_is_not_echoed_raw(api, admin_key):
    response = httpx.get(f"{api.url}/api/v1/%1B%5D0;owned%07", headers={"Authorization": f"Bearer {admin_key}"})
    assert response.status_code == 404
    assert "\x1b" not in response.json()["detail"] and "\x07" not in response.json()["detail"]


# ---------------------------------------------------------------- size, nesting, errors (item 16)


def test_a_declared_huge_body_is_refused_before_it_is_sent(api, admin_key):
    head = (f"POST /api/v1/vends HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {300 * 1024 * 1024}\r\n\r\n").encode()
    answer = _raw_exchange(api.port, head)
    assert answer.startswith(b"HTTP/1.1 413") and PROBLEM.encode() in answer


def test_an_unauthenticated_body_is_never_read(api):
    """The server answers 401 from the head alone: the 100 KB the head announces is never sent."""
    head = (b"POST /api/v1/vends HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n")
    answer = _raw_exchange(api.port, head)
    assert answer.startswith(b"HTTP/1.1 401") and PROBLEM.encode() in answer


def test_a_chunked_body_is_counted_while_it_streams(api, admin_key, meter):
    def chunks():
        yield b'{"meter_number": "' + meter.encode() + b'", "value": "10", "padding": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    response = httpx.post(f"{api.url}/api/v1/vends", content=chunks(),
                          headers={"Authorization": f"Bearer {admin_key}", "Idempotency-Key": "chunked-0001",
                                   "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_depth_counting_ignores_brackets_in_strings():
    assert json_depth_exceeds(b"[" * 33 + b"]" * 33, 32)
    assert not json_depth_exceeds(b"[" * 32 + b"]" * 32, 32)
    assert not json_depth_exceeds(json.dumps({"reason": "[" * 500 + '\\"{' * 100}).encode(), 32)


def test_deep_nesting_is_refused_and_the_connection_keeps_serving(ctx, api, admin_key, meter, caplog):
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    headers = {"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json",
               "Idempotency-Key": "deep-000001"}
    nested = b"[" * 600 + b"]" * 600  # 1.2 KB
    with caplog.at_level(logging.INFO):
        connection.request("POST", f"/api/v1/meters/{meter}/clear-tamper", body=nested, headers=headers)
        first = connection.getresponse()
        body = json.loads(first.read())
        sock = connection.sock
        assert first.status == 400 and first.getheader("content-type").startswith(PROBLEM)
        assert body["code"] == "too_deep"
        connection.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {admin_key}"})
        second = connection.getresponse()
        assert second.status == 200 and json.loads(second.read())["name"] == "Partner Admin"
        assert connection.sock is sock  # the same keep-alive connection
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    connection.close()
    assert _tokens(ctx) == 0


def test_an_unexpected_error_is_a_problem_with_one_log_line_and_the_connection_stays(ctx, admin_key, caplog):
    app = create_app(ctx)

    @app.get("/api/v1/fails-unexpectedly")
    def fails():  # a fault no handler expects, deep in a call chain
        def deeper(n):
            return deeper(n + 1) if n < 200 else {}["missing"]
        return deeper(0)

    with RunningApi(app) as api, caplog.at_level(logging.INFO):
        connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
        auth = {"Authorization": f"Bearer {admin_key}"}
        connection.request("GET", "/api/v1/fails-unexpectedly", headers=auth)
        failed = connection.getresponse()
        problem = json.loads(failed.read())
        sock = connection.sock
        assert failed.status == 500 and failed.getheader("content-type").startswith(PROBLEM)
        assert problem["code"] == "internal" and problem["error_id"] in problem["detail"]
        assert "missing" not in json.dumps(problem)  # the error's text stays on the server
        connection.request("GET", "/api/v1/me", headers=auth)
        after = connection.getresponse()
        assert after.status == 200 and after.read()
        assert connection.sock is sock
        connection.close()
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None
    line = errors[0].getMessage()
    assert problem["error_id"] in line and "KeyError" in line and len(line) < 300 and "\n" not in line


# ---------------------------------------------------------------- rate limits across processes (item 19)


@pytest.fixture
def two_servers(ctx):
    """Two API servers as two worker processes would be: each its own Database engine on the one database."""
    other = Database(ctx.settings.database_url)
    second_ctx = AppContext(settings=ctx.settings, db=other)
    apps = [create_app(ctx, rate_limiter=SharedRateLimiter(ctx, clock=lambda: NOW)),
            create_app(second_ctx, rate_limiter=SharedRateLimiter(second_ctx, clock=lambda: NOW))]
    yield apps
    other.dispose()


async def _get_me(app, key: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})


async def test_an_account_limit_holds_across_two_servers(ctx, admin, world, two_servers):
    key = api_accounts.create_account(ctx, admin, name="Busy Partner", role=VENDING_ROLE,
                                      station_code=world.station_code, rate_limit_per_minute=6).api_key
    statuses = [(await _get_me(two_servers[index % 2], key)).status_code for index in range(10)]
    assert statuses == [200] * 6 + [429] * 4
    refused = await _get_me(two_servers[0], key)
    assert refused.headers["content-type"].startswith(PROBLEM) and 55 <= int(refused.headers["Retry-After"]) <= 120
    with ctx.db.read_session() as session:
        assert session.scalar(select(func.sum(RateCounter.hits)).where(RateCounter.bucket.like("account:%"))) == 6


async def test_wrong_keys_from_one_address_are_counted_across_servers(ctx, admin, world, two_servers):
    good = api_accounts.create_account(ctx, admin, name="Real Partner", role=VENDING_ROLE,
                                       station_code=world.station_code).api_key
    limit = ctx.settings.api_failed_keys_per_minute
    statuses = [(await _get_me(two_servers[index % 2], f"stron_guess{index:04d}_{'x' * 30}")).status_code
                for index in range(limit)]
    assert statuses == [401] * limit
    blocked = await _get_me(two_servers[1], good)  # even the right key, from that address, for now
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    with ctx.db.read_session() as session:
        uses = session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.user_code == "api:Real Partner"))
    assert uses == 0


async def test_a_body_of_many_unknown_fields_gets_a_short_answer(ctx, admin_key, meter):
    app = create_app(ctx)
    body = {"meter_number": meter, "value": "10"} | {f"extra{index}": 1 for index in range(20_000)}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        response = await client.post("/api/v1/vends/preview", json=body,
                                     headers={"Authorization": f"Bearer {admin_key}"})
    assert response.status_code == 422 and response.headers["content-type"].startswith(PROBLEM)
    assert len(response.json()["errors"]) == 20 and len(response.content) < 4000
