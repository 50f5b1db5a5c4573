"""Vends through the integration API over HTTP: rate and latency with 16 concurrent clients.

The server is `stron-tui serve-api`'s app on uvicorn in its own process(es),
over a throw-away database; the clients are 16 concurrent keep-alive HTTP/1.1
connections (bare asyncio streams, see HttpConnection) in this process, each
selling to random meters with a fresh Idempotency-Key, as a partner's gateway
would. Client and server share this machine's cores, so the figure is a floor.

    python bench/api.py [--quick] [--database URL] [--workers 2] [--clients 16] [--vends N]

Targets (PostgreSQL): >= 200 vends/s and p99 < 100 ms. SQLite (the default,
one writer at a time) is reported against the same targets for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from stron_tui.db import migrate  # noqa: E402
from stron_tui.db.engine import Database  # noqa: E402
from stron_tui.services import api_accounts  # noqa: E402
from stron_tui.services.bootstrap import ensure_reference_data  # noqa: E402
from stron_tui.services.context import AppContext  # noqa: E402
from stron_tui.services.permissions import SYSTEM_ACTOR  # noqa: E402

from results import percentile, print_results  # noqa: E402
from vending import make_settings, populate  # noqa: E402  (bench/vending.py: the same bench world)

TARGET_RATE = 200.0
TARGET_P99_MS = 100.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, directory: Path, key_file: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRON_")}
    env |= {"STRON_DATABASE_URL": url, "STRON_DATA_DIR": str(directory), "STRON_MASTER_KEY_FILE": str(key_file),
            "STRON_CURRENCY": "USD"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "stron_tui.api.server:app_from_settings", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"], env=env, cwd=str(Path(__file__).resolve().parent.parent))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/openapi.json", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit("the API server did not start")
        time.sleep(0.2)


class HttpConnection:
    """One keep-alive HTTP/1.1 connection, as lean as a load generator should be.

    httpx (the package's client, used by the tests) costs about as much CPU
    per request as the server's own work, and client and server share this
    machine's two cores; a bare asyncio stream leaves them to the server.
    """

    def __init__(self, host: str, port: int, key: str):
        self.host, self.port, self.key = host, port, key

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post_json(self, path: str, body: dict, idempotency_key: str) -> tuple[int, dict]:
        payload = json.dumps(body).encode()
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.key}\r\n"
            f"Idempotency-Key: {idempotency_key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        return status, json.loads(await self.reader.readexactly(length))

    def close(self) -> None:
        self.writer.close()


async def run_clients(base: str, key: str, numbers: list[str], clients: int, per_client: int,
                      seed: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    address = httpx.URL(base)
    connections = [HttpConnection(address.host, address.port, key) for _ in range(clients)]
    await asyncio.gather(*(connection.open() for connection in connections))

    async def client(number: int) -> None:
        nonlocal errors
        rng = random.Random(seed * 1000 + number)
        for _ in range(per_client):
            body = {"meter_number": rng.choice(numbers), "mode": "amount", "value": str(rng.choice([5, 10, 20]))}
            started = time.perf_counter()
            status, answer = await connections[number].post_json("/api/v1/vends", body, uuid.uuid4().hex)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200 or len(answer.get("token", "")) != 20:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    wall = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return latencies, errors, wall


def main() -> int:
    parser = argparse.ArgumentParser(description="Vends per second through the HTTP API.")
    parser.add_argument("--quick", action="store_true", help="fewer meters and vends (under a minute)")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file); for PostgreSQL a "
                                           "throw-away database is created on that server and dropped after")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients (default 16)")
    parser.add_argument("--vends", type=int, help="vends per client")
    args = parser.parse_args()
    meters = 2000 if args.quick else 20000
    per_client = args.vends or (40 if args.quick else 200)

    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        throwaway = admin = None
        if args.database and make_url(args.database).get_backend_name() == "postgresql":
            base_url = make_url(args.database)
            throwaway = f"stron_bench_api_{uuid.uuid4().hex[:8]}"
            admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{throwaway}"'))
            url = base_url.set(database=throwaway).render_as_string(hide_password=False)
        else:
            url = args.database or f"sqlite:///{directory / 'bench.sqlite3'}"
        server = None
        try:
            db = Database(url)
            migrate.upgrade(db)
            ensure_reference_data(db)
            settings = make_settings(directory, url)
            ctx = AppContext(settings=settings, db=db)
            ctx.vault  # noqa: B018
            numbers = populate(ctx, meters)["flat"]  # the flat-tariff meters (populate makes both cases)
            key = api_accounts.create_account(ctx, SYSTEM_ACTOR, name="bench gateway", role="Administrator",
                                              station_code="BENCH", rate_limit_per_minute=100_000).api_key
            db.dispose()
            server, base = start_server(url, directory, settings.master_key_file, args.workers)
            asyncio.run(run_clients(base, key, numbers, args.clients, 5, seed=999))  # warm-up
            latencies, errors, wall = asyncio.run(run_clients(base, key, numbers, args.clients, per_client, 1))
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(15)
                except subprocess.TimeoutExpired:
                    server.kill()
            if throwaway:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{throwaway}" WITH (FORCE)'))
                admin.dispose()

    rate = len(latencies) / wall
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    backend = make_url(url).get_backend_name()
    size = f"{len(latencies)} vends, {args.clients} clients, {args.workers} workers"
    rows = [
        (f"API vends/s on {backend}", size, f"{rate:.0f}/s", f">= {TARGET_RATE:.0f}/s", rate >= TARGET_RATE),
        (f"API p50 latency {backend}", size, f"{p50:.1f} ms", "-", None),
        (f"API p99 latency {backend}", size, f"{p99:.1f} ms", f"< {TARGET_P99_MS:.0f} ms", p99 < TARGET_P99_MS),
        (f"API failed vends {backend}", size, str(errors), "0", errors == 0),
    ]
    print_results(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
