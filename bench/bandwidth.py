"""Bytes and time of a cashier's sale through the embedded SSH server, as a weak link sees them.

    python bench/bandwidth.py [--quick] [--database URL]

A scripted flow at 80x24 (log in, open the Top-up Center, find a meter, sell
by amount, confirm and see the receipt, back to the menu) runs through
`stron-tui serve-ssh` with a counting TCP proxy in between. For each step it
counts bytes on the wire (both directions, after SSH compression and
encryption) and bytes of terminal output (the stream the station's terminal
receives, before SSH compression: in low-bandwidth mode the server leaves out
the cells the station already shows), with and without low-bandwidth mode; then it times the flow with the proxy limiting
the link to 64 kbit/s and 9.6 kbit/s with a 300 ms round trip. A step's time
runs from the first key until the screen shows what the cashier waits for (the
station's output goes through a terminal emulator, as on a real station: the
server sends only the cells that change, so a word is on the screen without
being in one piece in the stream).

Prints (operation, size, figure, target, met) and ends with "targets met: K/N".
--quick skips the 64 kbit/s run and full mode.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncssh  # noqa: E402
import pyte  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from stron_tui.db import migrate  # noqa: E402
from stron_tui.db.engine import Database  # noqa: E402
from stron_tui.db.models import Account, Meter  # noqa: E402
from stron_tui.services import auth  # noqa: E402
from stron_tui.services.bootstrap import ensure_reference_data  # noqa: E402
from stron_tui.services.context import AppContext  # noqa: E402
from stron_tui.settings import Settings  # noqa: E402
from stron_tui.ssh.server import ServerOptions, bound_port, close_server, start_server  # noqa: E402
from stron_tui.ssh.wire import without_padding_packets  # noqa: E402

PASSWORD = "BenchPass1"
SIZE = (80, 24)
KEYS = {"enter": b"\r", "escape": b"\x1b", "f2": b"\x1bOQ"}

TARGET_FLOW_WIRE = 8_000
TARGET_FLOW_TERMINAL = 60_000
TARGET_DIGIT_WIRE = 150
TARGET_SLOW_SECONDS = 30.0


# A TCP proxy that counts bytes and can shape the link ------------------------------------------------

class Link:
    """Counts bytes each way; optionally limits the rate (bit/s) and adds one-way delay."""

    def __init__(self, rate_bps: float | None = None, rtt: float = 0.0):
        self.rate = rate_bps
        self.delay = rtt / 2
        self.up = 0  # station -> server
        self.down = 0  # server -> station

    @property
    def total(self) -> int:
        return self.up + self.down

    async def start(self, target_port: int) -> int:
        async def handle(client_reader, client_writer):
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
            await asyncio.gather(self._pipe(client_reader, server_writer, "up"),
                                 self._pipe(server_reader, client_writer, "down"), return_exceptions=True)

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _pipe(self, reader, writer, direction: str) -> None:
        loop = asyncio.get_running_loop()
        next_free = loop.time()
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                setattr(self, direction, getattr(self, direction) + len(data))
                now = loop.time()
                if self.rate:
                    next_free = max(now, next_free) + len(data) * 8 / self.rate  # serialisation on the line
                    due = next_free + self.delay
                else:
                    due = now + self.delay
                loop.call_at(due, _write, writer, data)  # due times only grow: order is kept
        finally:
            loop.call_at(max(loop.time(), next_free) + self.delay + 0.001, writer.close)

    def close(self) -> None:
        self._server.close()


def _write(writer, data: bytes) -> None:
    if not writer.is_closing():
        writer.write(data)


# The station -----------------------------------------------------------------------------------------

@dataclass
class Step:
    name: str
    wire_up: int = 0
    wire_down: int = 0
    terminal: int = 0
    seconds: float = 0.0

    @property
    def wire(self) -> int:
        return self.wire_up + self.wire_down


@dataclass
class Run:
    label: str
    steps: list[Step] = field(default_factory=list)
    digits: list[int] = field(default_factory=list)  # wire bytes of each typed digit in the amount field

    def total(self, attribute: str) -> float:
        return sum(getattr(step, attribute) for step in self.steps)


class Station:
    def __init__(self, link: Link, quiet: float):
        self.link = link
        self.quiet = quiet
        self.raw = bytearray()
        self.screen = pyte.Screen(*SIZE)
        self._terminal = pyte.ByteStream(self.screen)
        self.last_output = time.monotonic()

    async def open(self, port: int) -> None:
        self.conn = await asyncssh.connect(
            "127.0.0.1", port, username="Admin", password=PASSWORD, client_keys=None, known_hosts=None,
            agent_path=None, preferred_auth="password", compression_algs=["zlib@openssh.com"])
        # Like PuTTY or OpenSSH: no empty IGNORE packet before each packet (asyncssh's own client adds
        # one, 36 bytes per key; the server leaves them out likewise).
        without_padding_packets(self.conn)
        self.process = await self.conn.create_process(term_type="xterm-256color", term_size=SIZE, encoding=None)
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            while True:
                data = await self.process.stdout.read(65536)
                if not data:
                    return
                self.raw += data
                self._terminal.feed(data)
                self.last_output = time.monotonic()
        except (asyncssh.Error, ConnectionError):
            return

    def send(self, *keys: str) -> None:
        for key in keys:
            self.process.stdin.write(KEYS.get(key, key.encode()))

    async def wait_for(self, pattern: str, since: int, timeout: float = 120.0) -> None:
        """Until output has come since `since` and the screen shows `pattern`."""
        deadline = time.monotonic() + timeout
        while len(self.raw) <= since or not re.search(pattern, "\n".join(self.screen.display)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{pattern!r} did not appear: " + "\n".join(self.screen.display))
            await asyncio.sleep(0.01)

    async def settle(self) -> None:
        """Wait until the screen has stopped changing and the link is idle (what the step cost in full)."""
        while time.monotonic() - self.last_output < self.quiet:
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        self.conn.close()
        await self.conn.wait_closed()


async def measured(run: Run, station: Station, name: str, action, pattern: str) -> Step:
    step = Step(name)
    up, down, terminal = station.link.up, station.link.down, len(station.raw)
    started = time.monotonic()
    await action()
    await station.wait_for(pattern, terminal)
    step.seconds = time.monotonic() - started
    await station.settle()
    step.wire_up, step.wire_down = station.link.up - up, station.link.down - down
    step.terminal = len(station.raw) - terminal
    run.steps.append(step)
    return step


async def flow(server_port: int, meter: str, label: str, *, rate=None, rtt=0.0) -> Run:
    link = Link(rate, rtt)
    port = await link.start(server_port)
    station = Station(link, quiet=0.6 + 2 * rtt)
    run = Run(label)

    async def log_in():
        await station.open(port)

    async def keys(*sent):
        station.send(*sent)

    async def typed(text_: str):
        for character in text_:
            station.send(character)
            await asyncio.sleep(0.12)  # a cashier's typing speed

    await measured(run, station, "log in (SSH handshake, auth, menu)", log_in, r"Operator: Admin")
    await measured(run, station, "open Top-up Center (F2)", lambda: keys("f2"), r"Find a meter to begin")
    await measured(run, station, f"find meter: type {meter[:6]}, list", lambda: typed(meter[:6]), meter)
    await measured(run, station, "choose the meter (Enter)", lambda: keys("enter"), r"Tariff")
    for digit in "10":
        step = await measured(run, station, f"type amount digit '{digit}'", lambda d=digit: keys(d),
                              r"\d")
        run.digits.append(step.wire)
    await measured(run, station, "preview (Enter)", lambda: keys("enter"), r"PREVIEW")
    await measured(run, station, "type payment password", lambda: typed(PASSWORD), r"\*{%d}|•{%d}" % (
        len(PASSWORD), len(PASSWORD)))
    await measured(run, station, "confirm (Enter), receipt shown", lambda: keys("enter"), r"TOKEN\s+\d{4}")
    await measured(run, station, "back to the menu (Esc)", lambda: keys("escape"), r"Main menu")
    await station.close()
    link.close()
    return run


# Set-up ------------------------------------------------------------------------------------------------

def prepare(directory: Path, url: str) -> tuple[AppContext, str]:
    key_file = directory / "master.key"
    key_file.write_text(secrets.token_hex(32))
    key_file.chmod(0o600)
    settings = Settings(data_dir=directory, database_url=url, export_dir=directory / "exports",
                        master_key_file=key_file)
    db = Database(url)
    migrate.upgrade(db)
    ensure_reference_data(db, settings)
    ctx = AppContext(settings=settings, db=db)
    ctx.vault  # noqa: B018
    auth.set_first_admin_password(ctx, PASSWORD, source="cli")
    from stron_tui.services.demo import load_demo_data

    load_demo_data(ctx, customers=30, months=1)
    with ctx.db.read_session() as session:
        meter = session.scalar(select(Meter.meter_number).join(Account, Account.meter_id == Meter.id)
                               .where(Account.status == "open", Meter.status == "active").order_by(Meter.id))
    return ctx, meter


async def run_all(ctx: AppContext, meter: str, quick: bool) -> list[Run]:
    runs = []
    for low_bandwidth, conditions in ((True, [("unlimited", None, 0.0), ("9.6 kbit/s, 300 ms RTT", 9_600, 0.3)]
                                       + ([] if quick else [("64 kbit/s, 300 ms RTT", 64_000, 0.3)])),
                                      (False, [] if quick else [("unlimited", None, 0.0)])):
        if not conditions:
            continue
        acceptor, hub = await start_server(ctx, "127.0.0.1", 0, ServerOptions(low_bandwidth=low_bandwidth))
        try:
            for condition, rate, rtt in conditions:
                label = f"{'low-bandwidth' if low_bandwidth else 'full'} mode, {condition}"
                runs.append(await flow(bound_port(acceptor), meter, label, rate=rate, rtt=rtt))
        finally:
            await close_server(acceptor, hub, grace=5.0)
    return runs


def report(runs: list[Run]) -> int:
    print("Per step, 80x24 (wire = both directions through the proxy, after SSH compression):\n")
    for run in runs:
        print(f"  {run.label}")
        print(f"    {'step':<38} {'wire up':>8} {'wire down':>10} {'terminal':>9} {'time':>8}")
        for step in run.steps:
            print(f"    {step.name:<38} {step.wire_up:>8,} {step.wire_down:>10,} {step.terminal:>9,} "
                  f"{step.seconds:>7.2f}s")
        print(f"    {'TOTAL':<38} {run.total('wire_up'):>8,} {run.total('wire_down'):>10,} "
              f"{run.total('terminal'):>9,} {run.total('seconds'):>7.2f}s\n")
    by_label = {run.label: run for run in runs}
    low = by_label["low-bandwidth mode, unlimited"]
    full = by_label.get("full mode, unlimited")
    slow = by_label["low-bandwidth mode, 9.6 kbit/s, 300 ms RTT"]
    medium = by_label.get("low-bandwidth mode, 64 kbit/s, 300 ms RTT")
    login_wire = low.steps[0].wire
    rows = [
        ("whole flow on the wire, low-bandwidth", "80x24", f"{low.total('wire'):,.0f} B "
         f"({login_wire:,} B of it log-in incl. SSH handshake)", f"< {TARGET_FLOW_WIRE:,} B",
         low.total("wire") < TARGET_FLOW_WIRE),
        ("whole flow terminal output, low-bandwidth", "80x24", f"{low.total('terminal'):,.0f} B",
         f"< {TARGET_FLOW_TERMINAL:,} B", low.total("terminal") < TARGET_FLOW_TERMINAL),
        ("typed digit on the wire (max of amount digits)", "80x24", f"{max(low.digits):,} B "
         f"(digits: {', '.join(str(d) for d in low.digits)})", f"< {TARGET_DIGIT_WIRE} B",
         max(low.digits) < TARGET_DIGIT_WIRE),
        ("whole flow at 9.6 kbit/s, 300 ms RTT", "80x24", f"{slow.total('seconds'):.1f} s",
         f"< {TARGET_SLOW_SECONDS:.0f} s", slow.total("seconds") < TARGET_SLOW_SECONDS),
    ]
    info = [] if full is None else [
        ("whole flow on the wire, full mode", "80x24", f"{full.total('wire'):,.0f} B", "(info)"),
        ("whole flow terminal output, full mode", "80x24", f"{full.total('terminal'):,.0f} B", "(info)"),
    ]
    if medium:
        info.append(("whole flow at 64 kbit/s, 300 ms RTT", "80x24", f"{medium.total('seconds'):.1f} s", "(info)"))
    print(f"{'operation':<48} | {'size':<6} | {'figure':<52} | {'target':<10} | met")
    print("-" * 130)
    for operation, size, figure, target, met in rows:
        print(f"{operation:<48} | {size:<6} | {figure:<52} | {target:<10} | {'yes' if met else 'NO'}")
    for operation, size, figure, target in info:
        print(f"{operation:<48} | {size:<6} | {figure:<52} | {target:<10} | -")
    met = sum(1 for row in rows if row[4])
    print(f"targets met: {met}/{len(rows)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Bytes and time of a sale through the SSH server.")
    parser.add_argument("--quick", action="store_true", help="skip the 64 kbit/s run and full mode")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        throwaway = admin = None
        url = args.database or f"sqlite:///{directory / 'bench.sqlite3'}"
        if args.database and make_url(args.database).get_backend_name() == "postgresql":
            base = make_url(args.database)
            throwaway = f"stron_bench_bandwidth_{uuid.uuid4().hex[:8]}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{throwaway}"'))
            url = base.set(database=throwaway).render_as_string(hide_password=False)
        try:
            ctx, meter = prepare(directory, url)
            try:
                runs = asyncio.run(run_all(ctx, meter, args.quick))
            finally:
                ctx.close()
            return report(runs)
        finally:
            if throwaway:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{throwaway}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
