"""Soak with faults: cashiers over SSH and partners over HTTP selling at once on two app hosts, then an audit.

    .venv/bin/python bench/soak.py [--quick] [--seconds S] [--meters N] [--sessions N] [--clients N]
                                   [--database URL] [--no-faults] [--restart-postgres]

A throw-away PostgreSQL database (beside --database's, dropped at the end)
gets N meters with accounts (bench/vending.py's populate). Two app hosts are
started as subprocesses on loopback, each a `stron-tui serve-api` and a
`stron-tui serve-ssh` with the same STRON_DATABASE_URL, STRON_DATA_DIR and
master key. For --seconds, SSH cashiers sell by keyboard (F2, meter number,
Enter, amount, Enter, payment password, Enter, TOKEN on screen, Enter for
the next sale) and API clients (StronClient) sell with an Idempotency-Key and
look things up, spread over both hosts. Faults meanwhile (unless --no-faults):
PostgreSQL backends of the database terminated a few times (and the server
restarted with --restart-postgres; never in --quick), an SSH link dropped
right after Enter on the payment password, an API call that times out and is
retried with the same key, and a report export while the export directory is
unwritable.

Afterwards it checks, from the database: no duplicate TID or token per
meter, every committed token accepted in TID order by the meter simulator,
every token a client saw is in the database, report totals equal to the SQL
sum of the vends; and prints latency per channel, peak memory (VmHWM) per
server process, what each fault did, and bytes per vend on disk.
Prints (operation | size | figure | target | met) and ends with "targets met: K/N".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import asyncssh  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tokencore.meter import Meter as MeterSimulator  # noqa: E402
from stron_tui.api.client import ApiError, ServerError, StronClient  # noqa: E402
from stron_tui.db import migrate  # noqa: E402
from stron_tui.db.engine import Database  # noqa: E402
from stron_tui.db.models import Meter, User, Vend, VendDailyTotal, VendingKey  # noqa: E402
from stron_tui.db.queries import chunked  # noqa: E402
from stron_tui.services import api_accounts, auth, tokens, users  # noqa: E402
from stron_tui.services.bootstrap import VENDING_ROLE, ensure_reference_data  # noqa: E402
from stron_tui.services.context import AppContext  # noqa: E402
from stron_tui.services.permissions import SYSTEM_ACTOR  # noqa: E402

from results import percentile  # noqa: E402
from vending import make_settings, populate  # noqa: E402  (bench/vending.py: the same bench world)

PASSWORD = "SoakPass1"
PAYMENT_PASSWORD = "SoakPay12"
ANSI = re.compile(rb"\x1b\[[0-9;?>=<!$]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78MDEc]")
KEYS = {"enter": b"\r", "escape": b"\x1b", "f2": b"\x1bOQ"}
TOKEN_SEEN = re.compile(r"TOKEN\s+(\d{4})\s+(\d{4})\s+(\d{4})\s+(\d{4})\s+(\d{4})")
SALE_FAILED = re.compile(r"The sale did not go through \([A-Za-z]+\)|connection to the database was lost"
                         r"|password is wrong|is locked")
AMOUNTS = ["5", "10", "20"]
BENCH_APPLICATION = "stron-soak-locks"  # the bench's own lock-holding connections, spared by the terminations

# Targets: a soak on one 2-core machine that also runs PostgreSQL, both app hosts and every client.
TARGET_SSH_P99_S = 3.0
TARGET_API_P99_MS = 1000.0
TARGET_API_RSS_MB = 250
TARGET_SSH_SERVER_RSS_MB = 250  # ~130 MB at start and ~3 MB per open session (20 sessions: ~190 MB)
TARGET_SESSION_RSS_MB = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def screen_text(raw: bytes) -> str:
    return ANSI.sub(b" ", raw).decode("utf-8", "replace")


# What happened, as the clients saw it ---------------------------------------------------------------------

@dataclass
class Tally:
    attempted: Counter = field(default_factory=Counter)  # per channel: sales started
    committed: Counter = field(default_factory=Counter)  # per channel: a token came back
    failed: Counter = field(default_factory=Counter)  # (channel, reason) of sales that ended without a token
    retried: Counter = field(default_factory=Counter)  # (channel, reason) of attempts that failed, then retried
    recovered: Counter = field(default_factory=Counter)  # per channel: sales that got their token on a retry
    latency: dict = field(default_factory=lambda: defaultdict(list))  # channel -> seconds
    seen_tokens: dict = field(default_factory=dict)  # token -> meter number, as shown to a client
    queries: Counter = field(default_factory=Counter)
    query_errors: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, counter: str, key, amount: int = 1) -> None:
        with self.lock:
            getattr(self, counter)[key] += amount


@dataclass
class FaultNote:
    name: str
    observed: str
    ok: bool


# The app hosts ---------------------------------------------------------------------------------------------

@dataclass
class Host:
    name: str
    api: subprocess.Popen
    ssh: subprocess.Popen
    api_base: str
    ssh_port: int


def server_environment(url: str, directory: Path, key_file: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRON_")}
    env |= {"STRON_DATABASE_URL": url, "STRON_DATA_DIR": str(directory), "STRON_MASTER_KEY_FILE": str(key_file),
            "STRON_EXPORT_DIR": str(directory / "exports"), "STRON_CURRENCY": "USD"}
    return env


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start")
        time.sleep(0.2)


def start_host(name: str, env: dict, log_dir: Path) -> Host:
    """One app host: `stron-tui serve-api` and `stron-tui serve-ssh`, each in its own process group."""
    api_port, ssh_port = free_port(), free_port()
    command = [sys.executable, "-m", "stron_tui"]
    api_log = open(log_dir / f"{name}-api.log", "wb")
    ssh_log = open(log_dir / f"{name}-ssh.log", "wb")
    api = subprocess.Popen([*command, "serve-api", "--listen", f"127.0.0.1:{api_port}", "--log-level", "warning"],
                           env=env, cwd=str(ROOT), stdout=api_log, stderr=subprocess.STDOUT, start_new_session=True)
    ssh = subprocess.Popen([*command, "serve-ssh", "--listen", f"127.0.0.1:{ssh_port}", "--max-sessions", "100"],
                           env=env, cwd=str(ROOT), stdout=ssh_log, stderr=subprocess.STDOUT, start_new_session=True)
    host = Host(name, api, ssh, f"http://127.0.0.1:{api_port}", ssh_port)
    wait_for_port(ssh_port, ssh, f"serve-ssh of {name}")  # host keys exist before the next host starts
    wait_for_port(api_port, api, f"serve-api of {name}")
    return host


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(5)


def children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class MemoryWatch:
    """VmHWM of each server process, read at the end, and of each SSH session's app, sampled while it lives."""

    def __init__(self, hosts: list[Host]):
        self.hosts = hosts
        self.sessions: dict[int, float] = {}
        self.servers: dict[str, float] = {}

    def sample(self) -> None:
        for host in self.hosts:
            for pid in children_of(host.ssh.pid):
                value = peak_rss_mb(pid)
                if value is not None:
                    self.sessions[pid] = max(value, self.sessions.get(pid, 0.0))
            for label, process in ((f"{host.name} serve-api", host.api), (f"{host.name} serve-ssh", host.ssh)):
                value = peak_rss_mb(process.pid)
                if value is not None:
                    self.servers[label] = max(value, self.servers.get(label, 0.0))

    def leftover_sessions(self) -> list[int]:
        return [pid for pid in self.sessions if Path(f"/proc/{pid}").exists()]


# SSH cashiers ----------------------------------------------------------------------------------------------

class Terminal:
    def __init__(self, conn: asyncssh.SSHClientConnection, process: asyncssh.SSHClientProcess):
        self.conn = conn
        self.process = process
        self.raw = bytearray()
        self.closed = False
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, port: int, user: str) -> "Terminal":
        conn = await asyncssh.connect("127.0.0.1", port, username=user, password=PASSWORD, client_keys=None,
                                      known_hosts=None, agent_path=None, preferred_auth="password",
                                      compression_algs=["zlib@openssh.com"])
        process = await conn.create_process(term_type="xterm-256color", term_size=(80, 24), encoding=None)
        return cls(conn, process)

    async def _read(self) -> None:
        try:
            while True:
                data = await self.process.stdout.read(65536)
                if not data:
                    break
                self.raw += data
        except (asyncssh.Error, ConnectionError):
            pass
        finally:
            self.closed = True

    def mark(self) -> int:
        return len(self.raw)

    def send(self, *keys: str) -> None:
        for key in keys:
            self.process.stdin.write(KEYS.get(key, key.encode()))

    async def wait_for(self, pattern: re.Pattern | str, since: int, timeout: float = 30.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, screen_text(bytes(self.raw[since:])))
            if found:
                return found
            if self.closed or time.monotonic() > deadline:
                tail = screen_text(bytes(self.raw[since:]))[-300:]
                raise TimeoutError(f"{str(getattr(pattern, 'pattern', pattern))[:40]!r} not on screen: {tail!r}")
            await asyncio.sleep(0.03)

    def close(self) -> None:
        self.conn.abort()


async def to_payment_password(terminal: Terminal, meter: str, amount: str) -> None:
    """From the empty sale screen to the typed payment password (the cashier's part before Enter)."""
    mark = terminal.mark()
    terminal.send(meter)
    await terminal.wait_for(meter, mark)
    mark = terminal.mark()
    terminal.send("enter")
    await terminal.wait_for(r"Tariff", mark)
    mark = terminal.mark()
    terminal.send(amount, "enter")
    await terminal.wait_for(r"PREVIEW", mark)
    terminal.send(PAYMENT_PASSWORD)
    await asyncio.sleep(0.05)


async def open_sale_screen(port: int, user: str) -> Terminal:
    terminal = await Terminal.open(port, user)
    await terminal.wait_for(r"Main menu", 0, timeout=90)
    mark = terminal.mark()
    terminal.send("f2")
    await terminal.wait_for(r"Find a meter to begin", mark, timeout=60)
    return terminal


async def cashier(user: str, hosts: list[Host], numbers: list[str], deadline: float, tally: Tally,
                  seed: int) -> None:
    rng = random.Random(seed)
    host = hosts[seed % len(hosts)]
    try:
        terminal = await open_sale_screen(host.ssh_port, user)
    except (TimeoutError, asyncssh.Error, OSError) as error:
        tally.add("failed", ("ssh", f"session did not open: {type(error).__name__}"))
        return
    try:
        while time.monotonic() < deadline:
            meter, amount = rng.choice(numbers), rng.choice(AMOUNTS)
            tally.add("attempted", "ssh")
            try:
                await to_payment_password(terminal, meter, amount)
                for attempt in range(4):
                    mark = terminal.mark()
                    started = time.perf_counter()
                    terminal.send("enter")
                    found = await terminal.wait_for(f"{TOKEN_SEEN.pattern}|{SALE_FAILED.pattern}", mark)
                    if found.group(1):
                        with tally.lock:
                            tally.latency["ssh"].append(time.perf_counter() - started)
                            tally.committed["ssh"] += 1
                            tally.seen_tokens["".join(found.groups()[:5])] = meter
                            if attempt:
                                tally.recovered["ssh"] += 1
                        break
                    # The screen says what went wrong and keeps the sale: retype the password, Enter again
                    # (the same request id, so a sale that did commit comes back instead of a second one).
                    tally.add("retried", ("ssh", found.group(0)))
                    await asyncio.sleep(0.5 * (attempt + 1))
                    terminal.send(PAYMENT_PASSWORD)
                    await asyncio.sleep(0.05)
                else:
                    tally.add("failed", ("ssh", f"gave up after 4 tries: {found.group(0)}"))
                mark = terminal.mark()
                terminal.send("enter")  # the next sale: cursor back in the meter field
                await terminal.wait_for(r"Find a meter to begin", mark)
            except TimeoutError as error:
                tally.add("failed", ("ssh", f"no answer on screen within 30 s ({str(error)[:60]})"))
                terminal.close()
                if time.monotonic() >= deadline:
                    return
                terminal = await open_sale_screen(host.ssh_port, user)
    finally:
        terminal.close()


# API clients -----------------------------------------------------------------------------------------------

def api_client(number: int, hosts: list[Host], key: str, numbers: list[str], deadline: float, tally: Tally) -> None:
    rng = random.Random(10_000 + number)
    host = hosts[number % len(hosts)]
    last_receipt = None
    with StronClient(host.api_base, key, timeout=30) as api:
        while time.monotonic() < deadline:
            meter = rng.choice(numbers)
            if rng.random() < 0.2:  # a look-up between sales, as a partner's gateway does
                what = rng.choice(["meter", "meter_vends", "receipt", "report"])
                try:
                    if what == "meter":
                        api.meter(meter)
                    elif what == "meter_vends":
                        api.meter_vends(meter, limit=5)
                    elif what == "receipt" and last_receipt:
                        api.receipt(last_receipt)
                    else:
                        api.report("receipts", limit=20)
                    tally.add("queries", what)
                except (ApiError, httpx.TransportError) as error:
                    tally.add("query_errors", f"{what}: {getattr(error, 'status', '')} "
                                              f"{getattr(error, 'code', type(error).__name__)}")
                continue
            tally.add("attempted", "api")
            idempotency_key = uuid.uuid4().hex
            amount = rng.choice(AMOUNTS)
            for attempt in range(5):
                started = time.perf_counter()
                try:
                    receipt = api.vend(meter, amount=amount, idempotency_key=idempotency_key, retries=0)
                except (ServerError, httpx.TransportError) as error:
                    reason = (f"{error.status} {error.code}: {error.detail}" if isinstance(error, ApiError)
                              else type(error).__name__)
                    if attempt == 4:
                        tally.add("failed", ("api", f"gave up after 5 tries: {reason}"))
                    else:
                        tally.add("retried", ("api", reason))
                        time.sleep(0.3 * (attempt + 1))
                    continue
                except ApiError as error:
                    tally.add("failed", ("api", f"{error.status} {error.code}: {error.detail}"))
                    break
                with tally.lock:
                    tally.latency["api"].append(time.perf_counter() - started)
                    tally.committed["api"] += 1
                    tally.seen_tokens[receipt.token] = meter
                    if attempt:
                        tally.recovered["api"] += 1
                last_receipt = receipt.receipt_number
                break


# Faults ----------------------------------------------------------------------------------------------------

def terminate_backends(admin, database: str) -> int:
    with admin.connect() as connection:
        return len(connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
            " AND application_name <> :bench"), {"db": database, "bench": BENCH_APPLICATION}).all())


async def fault_terminate(admin, database: str, hosts: list[Host], key: str, numbers: list[str],
                          notes: list[FaultNote], label: str) -> None:
    """Backends ended under load; then a probe sale on each host must get its token."""
    count = await asyncio.to_thread(terminate_backends, admin, database)

    def probe() -> str:
        answers = []
        for host in hosts:
            with StronClient(host.api_base, key, timeout=30) as api:
                receipt = api.vend(numbers[hash(host.name + label) % len(numbers)], amount="5", retries=3)
                answers.append(f"{host.name} {receipt.receipt_number}")
        return ", ".join(answers)

    try:
        observed, ok = f"{count} backends ended; a sale right after on each host: {await asyncio.to_thread(probe)}", True
    except (ApiError, httpx.HTTPError) as error:
        observed, ok = f"{count} backends ended; a sale right after failed: {error}", False
    notes.append(FaultNote(f"PostgreSQL backends terminated under load ({label})", observed, ok))


async def fault_in_flight(url: str, admin, database: str, hosts: list[Host], key: str, user: str,
                          numbers: list[str], ctx: AppContext, notes: list[FaultNote]) -> None:
    """A sale in flight (waiting on its meter's row lock) when its backend is terminated, over API and SSH.

    The bench holds the meter rows locked, so both sales are inside their transaction at the moment
    pg_terminate_backend hits; then it lets go. Each must fail with a clear message and succeed on a retry
    with the same request id, with one vend stored per sale.
    """
    api_meter, ssh_meter = numbers[len(numbers) // 5], numbers[len(numbers) // 5 + 1]
    idempotency_key = f"soak-inflight-{uuid.uuid4().hex[:12]}"
    locker = create_engine(url, connect_args={"application_name": BENCH_APPLICATION})
    connection = await asyncio.to_thread(locker.connect)
    terminal = None
    try:
        await asyncio.to_thread(connection.execute, text(
            "SELECT id FROM meters WHERE meter_number IN (:a, :b) FOR UPDATE"), {"a": api_meter, "b": ssh_meter})
        mine = (await asyncio.to_thread(connection.execute, text("SELECT pg_backend_pid()"))).scalar()
        terminal = await open_sale_screen(hosts[1].ssh_port, user)
        await to_payment_password(terminal, ssh_meter, "10")
        ssh_mark = terminal.mark()
        terminal.send("enter")

        def first_api_call():
            with StronClient(hosts[0].api_base, key, timeout=30) as api:
                try:
                    api.vend(api_meter, amount="10", idempotency_key=idempotency_key, retries=0)
                    return "answered (not in flight?)"
                except ApiError as error:
                    return f"{error.status} {error.code}: {error.detail}"

        api_call = asyncio.ensure_future(asyncio.to_thread(first_api_call))

        def waiting_backends() -> list[int]:
            with admin.connect() as probe:
                return [row[0] for row in probe.execute(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"),
                    {"db": database})]

        deadline = time.monotonic() + 20
        while len(await asyncio.to_thread(waiting_backends)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        waiting = await asyncio.to_thread(waiting_backends)

        def terminate(pids: list[int]) -> None:
            with admin.connect() as killer:
                for pid in pids:
                    if pid != mine:
                        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        await asyncio.to_thread(terminate, waiting)
        api_first = await api_call
        ssh_first = (await terminal.wait_for(f"{TOKEN_SEEN.pattern}|{SALE_FAILED.pattern}", ssh_mark)).group(0)
        await asyncio.to_thread(connection.rollback)  # let go of the meters
        with StronClient(hosts[1].api_base, key, timeout=30) as api:
            retried = await asyncio.to_thread(api.vend, api_meter, amount="10", idempotency_key=idempotency_key)
        terminal.send(PAYMENT_PASSWORD)
        await asyncio.sleep(0.05)
        mark = terminal.mark()
        terminal.send("enter")
        ssh_token = "".join((await terminal.wait_for(TOKEN_SEEN, mark)).groups())

        def stored():
            with ctx.db.read_session() as session:
                return (session.scalars(select(Vend.token).where(Vend.request_id == idempotency_key)).all(),
                        session.scalars(select(Vend.token).where(Vend.meter_number == ssh_meter)).all())

        api_rows, ssh_rows = await asyncio.to_thread(stored)
        ok = (len(waiting) >= 2 and "TOKEN" not in ssh_first and "answered" not in api_first
              and list(api_rows) == [retried.token] and list(ssh_rows) == [ssh_token])
        observed = (f"{len(waiting)} sales waiting on the meter lock terminated; API answered '{api_first[:90]}', "
                    f"the retry with the same key got token {retried.token_grouped} ({len(api_rows)} vend stored); "
                    f"SSH screen said '{' '.join(ssh_first.split())[:110]}', password + Enter again sold "
                    f"({len(ssh_rows)} vend stored)")
    except (TimeoutError, ApiError, httpx.HTTPError, asyncssh.Error, OSError) as error:
        observed, ok = f"failed: {type(error).__name__}: {error}", False
    finally:
        if terminal is not None:
            terminal.close()
        await asyncio.to_thread(connection.close)
        locker.dispose()
    notes.append(FaultNote("a sale in flight when its PostgreSQL backend is terminated", observed, ok))


async def fault_restart_postgres(hosts: list[Host], key: str, numbers: list[str], notes: list[FaultNote]) -> None:
    versions = sorted(os.listdir("/etc/postgresql"))
    started = time.monotonic()
    result = await asyncio.to_thread(subprocess.run, ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1],
                                                      "main", "restart"], capture_output=True, text=True)
    seconds = time.monotonic() - started

    def probe() -> str:
        with StronClient(hosts[0].api_base, key, timeout=30) as api:
            return api.vend(numbers[7], amount="5", retries=4).receipt_number

    try:
        observed, ok = f"restart took {seconds:.1f} s; a sale right after: {await asyncio.to_thread(probe)}", True
    except (ApiError, httpx.HTTPError) as error:
        observed, ok = f"restart took {seconds:.1f} s; a sale right after failed: {error}", False
    notes.append(FaultNote("PostgreSQL server restarted", f"pg_ctlcluster exit {result.returncode}; {observed}",
                           ok and result.returncode == 0))


async def fault_ssh_drop(url: str, hosts: list[Host], user: str, numbers: list[str], ctx: AppContext,
                         notes: list[FaultNote]) -> None:
    """Drop the link right after Enter on the payment password; the sale is whole or absent, shown at next login.

    The meter's row is held locked for a moment so the sale is still inside its transaction when the link
    drops (the app gets SIGHUP and ends; its sale commits or rolls back as a whole).
    """
    meter = numbers[len(numbers) // 3]
    locker = create_engine(url, connect_args={"application_name": BENCH_APPLICATION})
    connection = await asyncio.to_thread(locker.connect)
    try:
        terminal = await open_sale_screen(hosts[0].ssh_port, user)
        await to_payment_password(terminal, meter, "10")
        await asyncio.to_thread(connection.execute, text("SELECT id FROM meters WHERE meter_number = :m FOR UPDATE"),
                                {"m": meter})
        mark = terminal.mark()
        terminal.send("enter")
        await terminal.wait_for(r"Selling|TOKEN", mark)
        terminal.close()
        await asyncio.sleep(1.0)
    except (TimeoutError, asyncssh.Error, OSError) as error:
        notes.append(FaultNote("SSH link dropped right after Enter on the payment password",
                               f"could not reach the payment password: {error}", False))
        return
    finally:
        await asyncio.to_thread(connection.rollback)
        await asyncio.to_thread(connection.close)
        locker.dispose()
    await asyncio.sleep(5)  # the session's app ends on the hang-up; its sale has committed or rolled back

    def vends_of_user():
        with ctx.db.read_session() as session:
            user_id = session.scalar(select(User.id).where(User.user_code == user))
            return session.execute(select(Vend.receipt_number, Vend.meter_number).where(
                Vend.operator_id == user_id)).all()

    rows = await asyncio.to_thread(vends_of_user)
    shown = "no receipt to show"
    try:
        terminal = await Terminal.open(hosts[1].ssh_port, user)
        await terminal.wait_for(r"Main menu", 0, timeout=60)
        if rows:
            await terminal.wait_for(re.escape(rows[0][0]), 0, timeout=10)
            shown = f"next login (other host) shows receipt {rows[0][0]} on the menu"
        terminal.close()
    except (TimeoutError, asyncssh.Error, OSError) as error:
        shown = f"next login failed: {error}"
    ok = len(rows) <= 1 and (not rows or rows[0][1] == meter) and not shown.startswith("next login failed")
    notes.append(FaultNote("SSH link dropped right after Enter on the payment password",
                           f"{len(rows)} sale recorded (whole, or none); {shown}", ok))


async def fault_api_timeout(hosts: list[Host], key: str, numbers: list[str], ctx: AppContext,
                            notes: list[FaultNote]) -> None:
    """A partner whose call times out retries with the same Idempotency-Key: one sale, one token."""
    meter, idempotency_key = numbers[len(numbers) // 2], f"soak-timeout-{uuid.uuid4().hex[:12]}"

    def run() -> str:
        impatient = httpx.Timeout(5.0, read=0.002)
        with StronClient(hosts[0].api_base, key, timeout=30) as api:
            api._http.timeout = impatient  # this partner gives up before the answer comes
            try:
                api.vend(meter, amount="10", idempotency_key=idempotency_key, retries=0)
                first = "answered within 2 ms (no timeout)"
            except httpx.TimeoutException as error:
                first = f"first call timed out ({type(error).__name__})"
        time.sleep(0.5)
        with StronClient(hosts[1].api_base, key, timeout=30) as api:  # the retry goes through the other host
            again = api.vend(meter, amount="10", idempotency_key=idempotency_key)
            third = api.vend(meter, amount="10", idempotency_key=idempotency_key)
        with ctx.db.read_session() as session:
            stored = session.scalars(select(Vend.token).where(Vend.request_id == idempotency_key)).all()
        same = again.token == third.token and list(stored) == [again.token]
        return f"{first}; retry on the other host returned {'the same' if same else 'a DIFFERENT'} token, " \
               f"{len(stored)} vend stored for the key", same

    try:
        observed, ok = await asyncio.to_thread(run)
    except (ApiError, httpx.HTTPError) as error:
        observed, ok = f"retry failed: {error}", False
    notes.append(FaultNote("API call timed out, retried with the same Idempotency-Key", observed, ok))


async def fault_export_unwritable(ctx: AppContext, notes: list[FaultNote]) -> None:
    """A report export while the export directory is unwritable: a clear error, and the next export works."""
    from stron_tui.errors import DatabaseUnavailable
    from stron_tui.exports.files import export_directory
    from stron_tui.services.reports import ReportFilters
    from stron_tui.services.reports.export import export_report

    def run():
        directory = export_directory(ctx.settings, SYSTEM_ACTOR.user_id)
        directory.chmod(0o500)
        # The bench runs as root, which ignores mode bits: the immutable flag makes 500 bite for root too.
        immutable = subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode == 0
        try:
            for _ in range(3):  # a backend terminated meanwhile by another fault: try again, as a user would
                try:
                    export_report(ctx, SYSTEM_ACTOR, "monthly", "csv", ReportFilters())
                    break
                except DatabaseUnavailable:
                    time.sleep(0.5)
            failed = "export succeeded although the directory was read-only"
            clear = False
        except Exception as error:  # noqa: BLE001 - what kind of error is what this fault observes
            failed = f"{type(error).__name__}: {error}"
            clear = type(error).__name__ == "ExportFailed"
        finally:
            if immutable:
                subprocess.run(["chattr", "-i", str(directory)], check=False)
            directory.chmod(0o700)
        result = export_report(ctx, SYSTEM_ACTOR, "monthly", "csv", ReportFilters())
        leftovers = [p.name for p in directory.iterdir() if p.name.startswith(".partial-")]
        return (f"while read-only{'' if immutable else ' (chattr unavailable: mode 500 only)'}: {failed}; "
                f"after: {result.rows} rows written to {result.path.name}, no partial files: {not leftovers}",
                clear and not leftovers and result.rows >= 1)

    try:
        observed, ok = await asyncio.to_thread(run)
    except Exception as error:  # noqa: BLE001
        observed, ok = f"export after the fault failed: {type(error).__name__}: {error}", False
    notes.append(FaultNote("report export into an unwritable directory (chmod 500)", observed, ok))


async def faults(args, seconds: float, url: str, hosts, admin, database, ctx, key, numbers, notes) -> None:
    started = time.monotonic()

    async def at(fraction: float, fault) -> None:
        await asyncio.sleep(max(0.0, started + fraction * seconds - time.monotonic()))
        try:
            await fault
        except Exception as error:  # noqa: BLE001 - a fault the bench could not stage is reported, not fatal
            notes.append(FaultNote(f"fault {fault.__name__}", f"could not be staged: {type(error).__name__}: "
                                                              f"{str(error).splitlines()[0][:150]}", False))

    plan = [at(0.10, fault_api_timeout(hosts, key, numbers, ctx, notes)),
            at(0.20, fault_in_flight(url, admin, database, hosts, key, "soakfault", numbers, ctx, notes)),
            at(0.30, fault_ssh_drop(url, hosts, "soakdrop", numbers, ctx, notes)),
            at(0.50, fault_terminate(admin, database, hosts, key, numbers, notes, "1st")),
            at(0.60, fault_export_unwritable(ctx, notes)),
            at(0.75, fault_terminate(admin, database, hosts, key, numbers, notes, "2nd"))]
    if args.restart_postgres and not args.quick:
        plan.append(at(0.40, fault_restart_postgres(hosts, key, numbers, notes)))
    await asyncio.gather(*plan)


# The run ---------------------------------------------------------------------------------------------------

def make_operators(ctx: AppContext, count: int) -> list[str]:
    codes = [f"soak{n:02d}" for n in range(count)] + ["soakdrop", "soakfault"]
    for code in codes:
        users.create_user(ctx, SYSTEM_ACTOR, user_code=code, role=VENDING_ROLE, station_code="BENCH")
        with ctx.db.read_session() as session:
            actor = auth.actor_for(session, session.scalar(select(User).where(User.user_code == code)), "cli")
        auth.change_own_password(ctx, actor, "123456", PASSWORD)
        auth.change_own_password(ctx, actor, "123456", PAYMENT_PASSWORD, kind="payment")
    return codes


async def soak(args, url: str, seconds: float, sessions: int, clients: int, hosts, admin, database, ctx, key, operators,
               numbers, tally, notes, memory: MemoryWatch) -> float:
    started = time.monotonic()
    deadline = started + seconds
    stop_sampling = asyncio.Event()

    async def sampler():
        while not stop_sampling.is_set():
            memory.sample()
            await asyncio.sleep(1.0)

    sampling = asyncio.ensure_future(sampler())
    cashiers = [asyncio.ensure_future(cashier(operators[n], hosts, numbers, deadline, tally, n))
                for n in range(sessions)]
    partners = [asyncio.ensure_future(asyncio.to_thread(api_client, n, hosts, key, numbers, deadline, tally))
                for n in range(clients)]
    fault_task = (asyncio.ensure_future(faults(args, seconds, url, hosts, admin, database, ctx, key, numbers, notes))
                  if args.faults else None)
    await asyncio.gather(*cashiers, *partners)
    wall = time.monotonic() - started
    if fault_task is not None:
        await fault_task
    stop_sampling.set()
    await sampling
    memory.sample()
    return wall


def audit_database(ctx: AppContext, tally: Tally) -> dict:
    from stron_tui.services.reports import ReportFilters, monthly_summary, receipt_totals

    with ctx.db.read_session() as session:
        vends = session.execute(select(Vend.meter_id, Vend.meter_number, Vend.tid, Vend.token, Vend.source)
                                .order_by(Vend.meter_id, Vend.tid)).all()
        sums = {currency: (count, gross) for currency, count, gross in session.execute(
            select(Vend.currency, func.count(), func.sum(Vend.gross_amount)).group_by(Vend.currency))}
        daily = session.scalar(select(func.coalesce(func.sum(VendDailyTotal.vend_count), 0)))
        key_row = session.scalar(select(VendingKey))
        vending_key = ctx.vault.open(key_row.sgc, key_row.krn, key_row.dkga, key_row.nonce, key_row.ciphertext)
        key_data = {}
        for ids in chunked(sorted({row.meter_id for row in vends}), 1000):
            for meter in session.scalars(select(Meter).where(Meter.id.in_(ids))):
                key_data[meter.id] = tokens.configured_key_data(meter)
        sizes = {}
        for table in ("vends", "audit_log", "vend_daily_totals", "meter_vend_activity", "meters", "accounts",
                      "customers"):
            sizes[table] = (session.scalar(text(f"SELECT pg_total_relation_size('{table}')")),
                            session.scalar(text(f"SELECT pg_relation_size('{table}')")),
                            session.scalar(text(f"SELECT count(*) FROM {table}")))
    by_meter = defaultdict(list)
    for row in vends:
        by_meter[row.meter_id].append(row)
    duplicate_tids = sum(len(rows) - len({r.tid for r in rows}) for rows in by_meter.values())
    duplicate_tokens = len(vends) - len({row.token for row in vends})
    accepted = rejected = 0
    reasons = Counter()
    for meter_id, rows in by_meter.items():
        simulator = MeterSimulator.from_vending_key(rows[0].meter_number, key_data[meter_id], vending_key)
        for row in rows:  # in TID order
            result = simulator.enter(row.token)
            if result.accepted:
                accepted += 1
            else:
                rejected += 1
                reasons[result.reason] += 1
    stored = {row.token for row in vends}
    lost = [token for token in tally.seen_tokens if token not in stored]
    totals = receipt_totals(ctx, SYSTEM_ACTOR, ReportFilters())
    report_sums = {t.currency: (t.vend_count, t.gross_amount) for t in totals}
    monthly = monthly_summary(ctx, SYSTEM_ACTOR, ReportFilters())
    monthly_sums = defaultdict(lambda: [0, Decimal(0)])
    for row in monthly.totals:
        monthly_sums[row.currency][0] += row.vend_count
        monthly_sums[row.currency][1] += row.gross_amount
    return {"vends": len(vends), "meters": len(by_meter), "duplicate_tids": duplicate_tids,
            "duplicate_tokens": duplicate_tokens, "accepted": accepted, "rejected": rejected, "reasons": reasons,
            "lost": lost, "sums": sums, "report_sums": report_sums,
            "monthly_sums": {c: tuple(v) for c, v in monthly_sums.items()}, "daily": daily, "sizes": sizes,
            "by_source": Counter(row.source for row in vends)}


def report(args, meters: int, seconds: float, wall: float, sessions: int, clients: int, tally: Tally,
           found: dict, notes: list[FaultNote], memory: MemoryWatch, setup_s: float) -> int:
    rows = []  # operation, size, figure, target, met (None: for information)
    size = f"{meters:,} meters, {seconds:.0f} s"
    channels = f"{sessions} ssh + {clients} api"
    attempted, committed = sum(tally.attempted.values()), sum(tally.committed.values())
    rows.append(("vends attempted (ssh / api)", channels,
                 f"{attempted} ({tally.attempted['ssh']} / {tally.attempted['api']})", "-", None))
    rows.append(("vends committed, seen by clients", channels,
                 f"{committed} ({tally.committed['ssh']} / {tally.committed['api']})", "> 0", committed > 0))
    rows.append(("vends committed, in the database", size,
                 f"{found['vends']} ({', '.join(f'{k} {v}' for k, v in sorted(found['by_source'].items()))})",
                 ">= seen", found["vends"] >= committed))
    rows.append(("overall committed rate", channels, f"{found['vends'] / wall:.1f}/s", "-", None))
    for (channel, reason), count in sorted(tally.retried.items()):
        rows.append((f"attempt failed, retried same id: {reason[:70]}", channel, str(count), "-", None))
    for channel in ("ssh", "api"):
        rows.append((f"sales recovered on a retry with the same request id", channel,
                     str(tally.recovered[channel]), "-", None))
    for (channel, reason), count in sorted(tally.failed.items()):
        rows.append((f"sale failed: {reason[:80]}", channel, str(count), "-", None))
    unclear = sum(count for (_, reason), count in tally.failed.items() if "within 30 s" in reason
                  or "did not open" in reason)
    rows.append(("sales that failed without a clear reason", channels, str(unclear), "0", unclear == 0))
    for what, count in sorted(tally.query_errors.items()):
        rows.append((f"query failed: {what[:70]}", "api", str(count), "-", None))
    rows.append(("API look-ups answered", "api", f"{sum(tally.queries.values())} "
                 f"({', '.join(f'{k} {v}' for k, v in sorted(tally.queries.items()))})", "-", None))
    rows.append(("duplicate TID per meter", f"{found['meters']} meters", str(found["duplicate_tids"]), "0",
                 found["duplicate_tids"] == 0))
    rows.append(("duplicate token", f"{found['vends']} vends", str(found["duplicate_tokens"]), "0",
                 found["duplicate_tokens"] == 0))
    rows.append(("tokens accepted by the meter simulator, TID order", f"{found['meters']} meters",
                 f"{found['accepted']}/{found['vends']}"
                 + (f" ({dict(found['reasons'])})" if found["rejected"] else ""), "all",
                 found["rejected"] == 0 and found["accepted"] == found["vends"]))
    rows.append(("tokens seen by a client missing from the database", f"{len(tally.seen_tokens)} seen",
                 str(len(found["lost"])), "0", not found["lost"]))
    for currency, (count, gross) in sorted(found["sums"].items()):
        report_count, report_gross = found["report_sums"].get(currency, (0, Decimal(0)))
        rows.append((f"receipt report totals = SQL sum ({currency})", f"{count} vends",
                     f"{report_gross} vs {gross}", "equal", report_gross == gross and report_count == count))
        month_count, month_gross = found["monthly_sums"].get(currency, (0, Decimal(0)))
        rows.append((f"monthly summary totals = SQL sum ({currency})", f"{count} vends",
                     f"{month_gross} vs {gross}", "equal", month_gross == gross and month_count == count))
    rows.append(("daily totals vend count = vends", f"{found['vends']} vends", str(found["daily"]), "equal",
                 found["daily"] == found["vends"]))
    ssh, api = tally.latency["ssh"], tally.latency["api"]
    if ssh:
        rows.append(("ssh p50 Enter on payment password -> TOKEN", f"{len(ssh)} sales",
                     f"{statistics.median(ssh):.2f} s", "-", None))
        rows.append(("ssh p99 Enter on payment password -> TOKEN", f"{len(ssh)} sales",
                     f"{percentile(ssh, 0.99):.2f} s", f"< {TARGET_SSH_P99_S:.0f} s",
                     percentile(ssh, 0.99) < TARGET_SSH_P99_S))
    if api:
        rows.append(("api p50 vend request -> response", f"{len(api)} sales",
                     f"{statistics.median(api) * 1000:.0f} ms", "-", None))
        rows.append(("api p99 vend request -> response", f"{len(api)} sales",
                     f"{percentile(api, 0.99) * 1000:.0f} ms", f"< {TARGET_API_P99_MS:.0f} ms",
                     percentile(api, 0.99) * 1000 < TARGET_API_P99_MS))
    for label, value in sorted(memory.servers.items()):
        target = TARGET_API_RSS_MB if "api" in label else TARGET_SSH_SERVER_RSS_MB
        rows.append((f"peak memory (VmHWM) {label}", "process", f"{value:.0f} MB", f"< {target} MB",
                     value < target))
    if memory.sessions:
        peak = max(memory.sessions.values())
        rows.append(("peak memory (VmHWM) SSH session app, largest", f"{len(memory.sessions)} sessions",
                     f"{peak:.0f} MB (mean {statistics.mean(memory.sessions.values()):.0f})",
                     f"< {TARGET_SESSION_RSS_MB} MB", peak < TARGET_SESSION_RSS_MB))
    for note in notes:
        rows.append((f"fault: {note.name}", note.observed, "recovered" if note.ok else "NOT recovered",
                     "recovers", note.ok))
    vends_total, vends_heap, vend_count = found["sizes"]["vends"]
    audit_total, _, audit_count = found["sizes"]["audit_log"]
    if vend_count:
        rows.append(("bytes per vend row incl. indexes (vends)", f"{vend_count} rows",
                     f"{vends_total / vend_count:,.0f} B (heap {vends_heap / vend_count:,.0f} B)", "-", None))
        rows.append(("bytes per audit row incl. indexes (audit_log)", f"{audit_count} rows",
                     f"{audit_total / max(audit_count, 1):,.0f} B", "-", None))
    for table in ("meters", "accounts", "customers", "meter_vend_activity", "vend_daily_totals"):
        total, _, count = found["sizes"][table]
        rows.append((f"table {table} incl. indexes", f"{count:,} rows", f"{total / 2**20:,.1f} MB", "-", None))

    print(f"\n(set-up: {meters:,} meters with accounts and customers in {setup_s:.0f} s; soak wall {wall:.1f} s)")
    header = ("operation", "size", "figure", "target", "met")
    table = [tuple(str(c) for c in row[:4]) + ("-" if row[4] is None else "yes" if row[4] else "NO",)
             for row in rows]
    widths = [min(90, max(len(r[i]) for r in [header, *table])) for i in range(5)]
    for row in [header, tuple("-" * w for w in widths), *table]:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    judged = [row for row in rows if row[4] is not None]
    met = sum(1 for row in judged if row[4])
    print(f"targets met: {met}/{len(judged)}")
    return 0 if met == len(judged) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description="Soak with faults on two app hosts over PostgreSQL.")
    parser.add_argument("--quick", action="store_true", help="20,000 meters, 20 s, 6 sessions and 6 clients")
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL URL; a throw-away database is made beside it and dropped after")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--meters", type=int)
    parser.add_argument("--sessions", type=int, help="concurrent SSH cashiers (default 20)")
    parser.add_argument("--clients", type=int, help="concurrent API clients (default 16)")
    parser.add_argument("--no-faults", dest="faults", action="store_false", help="a soak without faults")
    parser.add_argument("--restart-postgres", action="store_true",
                        help="also restart the PostgreSQL server mid-run (pg_ctlcluster; never with --quick)")
    args = parser.parse_args()
    seconds = args.seconds or (20.0 if args.quick else 60.0)
    meters = args.meters or (20_000 if args.quick else 1_000_000)
    sessions = args.sessions or (6 if args.quick else 20)
    clients = args.clients or (6 if args.quick else 16)
    base = make_url(args.database)
    if base.get_backend_name() != "postgresql":
        raise SystemExit("The soak runs on PostgreSQL: give --database postgresql+psycopg://...")
    database = f"stron_bench_soak_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    url = base.set(database=database).render_as_string(hide_password=False)
    hosts: list[Host] = []
    memory = MemoryWatch(hosts)
    ctx = None
    with tempfile.TemporaryDirectory(prefix="stron-soak-") as directory:
        directory = Path(directory)
        try:
            db = Database(url)
            migrate.upgrade(db)
            settings = make_settings(directory, url)
            ensure_reference_data(db, settings)
            ctx = AppContext(settings=settings, db=db)
            ctx.vault  # noqa: B018 - the master key check is written before the bulk load
            started = time.perf_counter()
            numbers = populate(ctx, meters)["flat"]  # the flat-tariff meters (populate makes both cases)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
            operators = make_operators(ctx, sessions)
            key = api_accounts.create_account(ctx, SYSTEM_ACTOR, name="soak gateway", role="Administrator",
                                              station_code="BENCH", rate_limit_per_minute=100_000).api_key
            setup_s = time.perf_counter() - started
            print(f"set-up done in {setup_s:.0f} s: {meters:,} meters, {len(operators)} operators", flush=True)
            env = server_environment(url, directory, settings.master_key_file)
            for name in ("host-a", "host-b"):
                hosts.append(start_host(name, env, directory))
            print(f"two app hosts up: {', '.join(f'{h.name} api {h.api_base} ssh :{h.ssh_port}' for h in hosts)}",
                  flush=True)
            tally, notes = Tally(), []
            wall = asyncio.run(soak(args, url, seconds, sessions, clients, hosts, admin, database, ctx, key, operators,
                                    numbers, tally, notes, memory))
            time.sleep(2)  # the sessions' apps end on the hang-up
            memory.sample()
            for host in hosts:
                stop_process(host.ssh)
                stop_process(host.api)
            found = audit_database(ctx, tally)
            return report(args, meters, seconds, wall, sessions, clients, tally, found, notes, memory, setup_s)
        finally:
            for host in hosts:
                stop_process(host.ssh)
                stop_process(host.api)
            for pid in memory.leftover_sessions():
                try:
                    os.killpg(pid, signal.SIGKILL)  # a session app of ours that outlived its server
                except ProcessLookupError:
                    pass
            if ctx is not None:
                ctx.close()
            exports = directory / "exports"
            if exports.exists():
                subprocess.run(["chattr", "-R", "-i", str(exports)], capture_output=True)
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
