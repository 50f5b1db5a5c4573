"""Many stations on one SSH host: login time, memory per session, idle CPU, echo time, DB connections, resume.

    python bench/stations.py [--quick] [--stations N] [--database URL]

Starts `stron-tui serve-ssh` as a subprocess over a throw-away data directory (SQLite, or a fresh
PostgreSQL database made from --database), with N cashiers at one sales station. N stations (asyncssh
clients at 80x24, each screen kept by pyte) log in at once; then it measures, with all of them open:

- login time until the menu shows (median and max);
- proportional memory (PSS from /proc/*/smaps_rollup) per session, and of the server and its template;
- CPU of the server's whole process tree over 10 s while every station idles;
- echo time of F2 (the Top-up Center opens) and of a typed digit (once the screen has settled), at one station;
- database connections held (PostgreSQL: pg_stat_activity) with every station idle;
- a sale at every station at once (F2, meter, Enter, amount, Enter, payment password, Enter, TOKEN on
  screen): Enter -> TOKEN median and max, and the peak of database connections meanwhile (PostgreSQL);
- resumes: 20 links dropped mid-screen (F2 and digits typed), reconnected, Enter: is the same screen back?

Prints (operation, size, figure, target, met) and ends with "targets met: K/N". --quick: 20 stations.
"""

from __future__ import annotations

import argparse
import resource
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import asyncssh  # noqa: E402
import pyte  # noqa: E402
from sqlalchemy import create_engine, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from stron_tui.db.models import User  # noqa: E402

MASTER_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
PASSWORD = "Station-Pass-1"
F2 = b"\x1bOQ"
ESCAPE = b"\x1b"
ENTER = b"\r"
TOKEN_SEEN = r"TOKEN\s+\d{4}\s+\d{4}\s+\d{4}\s+\d{4}\s+\d{4}"
SALE_FAILED = r"The sale did not go through|connection to the database was lost"


class Station:
    def __init__(self, index: int, port: int):
        self.user = f"cashier{index:03d}"
        self.port = port
        # Each station from an address of its own, as in the field (the server throttles logins per address).
        self.source = f"127.0.{1 + index // 250}.{1 + index % 250}"
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = 0
        self.arrived = asyncio.Event()  # set when bytes arrive: waits look at the screen then, not on a timer
        self.conn = None
        self.process = None

    async def connect(self) -> None:
        self.screen.reset()
        self.conn = await asyncssh.connect("127.0.0.1", self.port, username=self.user, password=PASSWORD,
                                           known_hosts=None, agent_path=None, client_keys=None,
                                           preferred_auth="password", compression_algs=["zlib@openssh.com"],
                                           local_addr=(self.source, 0))
        self.process = await self.conn.create_process(term_type="xterm-256color", term_size=(80, 24),
                                                      encoding=None)
        asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            while True:
                data = await self.process.stdout.read(65536)
                if not data:
                    return
                self.raw += len(data)
                self.stream.feed(data)
                self.arrived.set()
        except (asyncssh.Error, ConnectionError):
            pass
        finally:
            self.arrived.set()

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    async def wait_for(self, pattern: str, timeout: float = 120.0) -> float:
        # Polling every screen on a timer would cost the client, on the same cores as the server, more
        # than the server's own work at 100 stations: the screen is read again only when bytes arrive.
        started = time.monotonic()
        while not re.search(pattern, self.text):
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                raise TimeoutError(f"{self.user}: {pattern!r} never showed; the screen:\n{self.text}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except asyncio.TimeoutError:
                pass
        return time.monotonic() - started

    def send(self, data: bytes) -> None:
        self.process.stdin.write(data)

    async def settle(self, quiet: float = 0.3, timeout: float = 30.0) -> None:
        """Wait until the app has sent nothing for `quiet` seconds (it has finished drawing)."""
        started = time.monotonic()
        seen, since = self.raw, time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() - started < timeout:
            await asyncio.sleep(0.02)
            if self.raw != seen:
                seen, since = self.raw, time.monotonic()

    async def to_menu(self) -> None:
        """Back to the main menu from the sale screen (confirming the drop of a typed sale when asked)."""
        self.send(ESCAPE)
        await self.wait_for(r"Main menu|Y or Enter: yes")
        if "Y or Enter: yes" in self.text:
            self.send(b"y")
            await self.wait_for(r"Main menu")

    async def sell(self, meter: str) -> tuple[float, float]:
        """One sale from the main menu; (F2 -> TOKEN, Enter on the payment password -> TOKEN) in seconds."""
        begun = time.monotonic()
        self.send(F2)
        await self.wait_for(r"Find a meter to begin")
        await self.settle(0.2)
        self.send(meter.encode())
        await self.wait_for(meter)
        self.send(ENTER)
        await self.wait_for(r"Tariff")
        self.send(b"10" + ENTER)
        await self.wait_for(r"PREVIEW")
        self.send(PASSWORD.encode())
        await asyncio.sleep(0.05)
        entered = time.monotonic()
        self.send(ENTER)
        await self.wait_for(f"{TOKEN_SEEN}|{SALE_FAILED}")
        if not re.search(TOKEN_SEEN, self.text):
            raise RuntimeError(f"{self.user}: the sale failed: {self.text}")
        done = time.monotonic()
        return done - begun, done - entered


def prepare(args, directory: Path) -> tuple[dict, str, list[str]]:
    from stron_tui.db import migrate
    from stron_tui.db.engine import Database
    from stron_tui.db.models import SalesStation
    from stron_tui.services import auth, shifts, users
    from stron_tui.services.bootstrap import ensure_reference_data
    from stron_tui.services.context import AppContext
    from stron_tui.services.passwords import hash_password
    from stron_tui.settings import Settings
    from vending import populate  # bench/vending.py: the same bench world as the other benches

    data = directory / "data"
    data.mkdir(mode=0o700)
    key = data / "master.key"
    key.write_text(MASTER_KEY + "\n")
    key.chmod(0o600)
    if args.database:
        base = make_url(args.database)
        name = f"stron_bench_{uuid.uuid4().hex[:8]}"
        admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin_engine.dispose()
        url = base.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{data / 'stron.sqlite3'}"
    db = Database(url)
    migrate.upgrade(db)
    ensure_reference_data(db)
    settings = Settings(data_dir=data, database_url=url, export_dir=data / "exports", master_key_file=key)
    ctx = AppContext(settings=settings, db=db)
    auth.set_first_admin_password(ctx, "AdminPass1")
    admin = auth.authenticate(ctx, "Admin", "AdminPass1")
    ctx.vault  # noqa: B018 - the master key check is written before the bulk load
    numbers = populate(ctx, args.stations)["flat"]  # a meter with an account for every station
    with db.read_session() as session:
        station_id = session.scalar(select(SalesStation.id).where(SalesStation.code_key == "bench"))
    for index in range(args.stations):
        users.create_user(ctx, admin, user_code=f"cashier{index:03d}", role="OnlyVending", station_id=station_id)
    password_hash = hash_password(PASSWORD)  # one hash for all: argon2 per user would dominate the set-up
    with db.session() as session:
        session.execute(update(User).where(User.user_code.like("cashier%")).values(
            password_hash=password_hash, payment_password_hash=password_hash, must_change_password=False,
            must_change_payment_password=False))
    with db.read_session() as session:  # each cashier's shift is open, as at the start of a trading day
        cashiers = [auth.actor_for(session, user, "cli")
                    for user in session.scalars(select(User).where(User.user_code.like("cashier%")))]
    for actor in cashiers:
        shifts.open_shift(ctx, actor, {"USD": 0})
    db.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRON_")}
    env.update(STRON_DATA_DIR=str(data), STRON_DATABASE_URL=url, STRON_MASTER_KEY_FILE=str(key),
               STRON_SSH_MAX_SESSIONS=str(args.stations + 40), STRON_SSH_SESSIONS_PER_ADDRESS=str(args.stations + 40),
               STRON_SSH_MAX_STARTUPS=str(args.stations + 40), STRON_SSH_STARTUPS_PER_ADDRESS=str(args.stations + 40),
               STRON_SSH_LOGIN_GRACE_SECONDS="120")
    return env, url, numbers


def tree(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children") as handle:
                queue.extend(int(child) for child in handle.read().split())
        except OSError:
            pass
    return found


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run(args) -> list[tuple]:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        env, url, meters = prepare(args, Path(scratch))
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "stron_tui", "serve-ssh", "--listen", f"127.0.0.1:{port}"],
                                  env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            for _ in range(600):
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
                except OSError:
                    await asyncio.sleep(0.1)
            await asyncio.sleep(2)  # the template imports the app
            stations = [Station(index, port) for index in range(args.stations)]

            async def log_in(station: Station) -> float:
                started = time.monotonic()
                await station.connect()
                await station.wait_for(r"Main menu")
                return time.monotonic() - started

            ticks = os.sysconf("SC_CLK_TCK")
            server_before = cpu_ticks(tree(server.pid))
            main_before = cpu_ticks([server.pid])
            client_before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.monotonic()
            times = await asyncio.gather(*(log_in(station) for station in stations))
            wall = time.monotonic() - started
            # Where the logins' time went on this machine's cores: the server's tree, and this client (100
            # SSH clients and their terminal emulators share the cores with the server).
            server_cpu = (cpu_ticks(tree(server.pid)) - server_before) / ticks
            main_cpu = (cpu_ticks([server.pid]) - main_before) / ticks
            client_after = resource.getrusage(resource.RUSAGE_SELF)
            client_cpu = (client_after.ru_utime + client_after.ru_stime
                          - client_before.ru_utime - client_before.ru_stime)
            n = len(stations)
            target = 15.0 if n <= 100 else 40.0
            rows.append(("login until the menu, median", f"{n} at once", f"{statistics.median(times):.2f} s", "-", "-"))
            rows.append(("login until the menu, all", f"{n} at once", f"{wall:.2f} s (max {max(times):.2f} s)",
                         f"< {target:.0f} s", "yes" if wall < target else "NO"))
            rows.append(("CPU of the logins: server tree / this client", f"{n} at once",
                         f"{server_cpu:.1f} s / {client_cpu:.1f} s ({server_cpu / n * 1000:.0f} ms per login, "
                         f"{main_cpu / n * 1000:.0f} ms of it in serve-ssh)", "-", "-"))
            await asyncio.sleep(3)
            pids = tree(server.pid)
            server_pss = pss_kb(server.pid) / 1024
            sessions = [pid for pid in pids if pid != server.pid]
            session_pss = [pss_kb(pid) / 1024 for pid in sessions]
            template = max(session_pss) if session_pss else 0
            per_session = (sum(session_pss) - template) / max(1, n)
            rows.append(("PSS serve-ssh process", "process", f"{server_pss:.1f} MB", "-", "-"))
            rows.append(("PSS per idle session (template excluded)", f"{n} sessions", f"{per_session:.1f} MB",
                         "< 20 MB", "yes" if per_session < 20 else "NO"))
            before = cpu_ticks(tree(server.pid))
            await asyncio.sleep(10)
            used = (cpu_ticks(tree(server.pid)) - before) / ticks / 10 * 100
            rows.append(("idle CPU of the server's tree", f"{n} idle, 10 s", f"{used:.1f}% of a core", "< 5%",
                         "yes" if used < 5 else "NO"))
            probe = stations[0]
            begun = time.monotonic()
            probe.send(F2)
            await probe.wait_for(r"Find a meter to begin")
            f2 = time.monotonic() - begun
            await probe.settle()  # the screen has finished drawing: the digit's echo is measured alone
            digits = []
            for typed in ("7", "71", "712"):
                begun = time.monotonic()
                probe.send(typed[-1].encode())
                await probe.wait_for(rf"(?m)^ {typed}\s")  # in the meter field
                digits.append(time.monotonic() - begun)
                await probe.settle()
            digit = statistics.median(digits)
            rows.append(("echo of F2 (Top-up Center opens)", f"{n} open", f"{f2 * 1000:.0f} ms", "-", "-"))
            rows.append(("echo of a typed digit, median of 3", f"{n} open",
                         f"{digit * 1000:.0f} ms (max {max(digits) * 1000:.0f} ms)", "< 100 ms",
                         "yes" if digit < 0.1 else "NO"))
            await probe.to_menu()
            if url.startswith("postgresql"):
                engine = create_engine(url)
                with engine.connect() as connection:
                    held = connection.execute(text("SELECT count(*) - 1 FROM pg_stat_activity "
                                                   "WHERE datname = current_database()")).scalar()
                engine.dispose()
                rows.append(("database connections held", f"{n} idle stations", str(held), "< 20",
                             "yes" if held < 20 else "NO"))
            peak = 0
            selling = True

            async def watch_connections() -> None:
                nonlocal peak
                engine = create_engine(url)
                try:
                    with engine.connect() as connection:
                        while selling:
                            count = connection.execute(text(
                                "SELECT count(*) - 1 FROM pg_stat_activity WHERE datname = current_database()")).scalar()
                            connection.rollback()
                            peak = max(peak, count)
                            await asyncio.sleep(0.05)
                finally:
                    engine.dispose()

            watcher = asyncio.ensure_future(watch_connections()) if url.startswith("postgresql") else None
            started = time.monotonic()
            outcomes = await asyncio.gather(*(station.sell(meter) for station, meter in zip(stations, meters)),
                                            return_exceptions=True)
            sale_wall = time.monotonic() - started
            selling = False
            if watcher is not None:
                await watcher
            sales = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
            failures = [outcome for outcome in outcomes if not isinstance(outcome, tuple)]
            if failures:
                print(f"{len(failures)} sales failed; the first: {failures[0]}", file=sys.stderr)
            rows.append(("sales that got their token", f"{n} at once", f"{len(sales)}/{n}", "all",
                         "yes" if not failures else "NO"))
            sales = sales or [(float("nan"), float("nan"))]
            to_token = [entered for _, entered in sales]
            whole = [total for total, _ in sales]
            rows.append(("sale at every station, F2 -> TOKEN, median", f"{n} at once",
                         f"{statistics.median(whole):.2f} s (max {max(whole):.2f} s, all in {sale_wall:.1f} s)",
                         "-", "-"))
            rows.append(("sale: Enter on payment password -> TOKEN", f"{n} at once",
                         f"median {statistics.median(to_token):.2f} s, max {max(to_token):.2f} s", "max < 3 s",
                         "yes" if max(to_token) < 3 else "NO"))
            if watcher is not None:
                rows.append(("database connections, peak during the sales", f"{n} sales at once", str(peak),
                             f"<= {n} + 5", "yes" if peak <= n + 5 else "NO"))
            for station in stations:
                station.send(ENTER)  # the next sale: an empty sale screen
            await asyncio.gather(*(station.settle() for station in stations))
            await asyncio.gather(*(station.to_menu() for station in stations))
            resumed = 0
            sample = stations[1:21]
            for station in sample:
                station.send(F2)
            for station in sample:
                await station.wait_for(r"Find a meter to begin")
                station.send(b"4242")
            for station in sample:
                await station.wait_for(r"4242")
                station.conn.abort()
            await asyncio.sleep(1)

            async def resume(station: Station) -> bool:
                await station.connect()
                try:
                    await station.wait_for(r"cut off", timeout=60)
                    station.send(b"\r")
                    await station.wait_for(r"4242", timeout=60)
                    return "Find a meter" in station.text or "Top-up" in station.text
                except TimeoutError:
                    return False

            resumed = sum(await asyncio.gather(*(resume(station) for station in sample)))
            rows.append(("resumes to the same screen", f"{len(sample)} links dropped", f"{resumed}/{len(sample)}",
                         "all", "yes" if resumed == len(sample) else "NO"))
        finally:
            os.killpg(server.pid, 15)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, 9)
            if args.database:
                admin_engine = create_engine(make_url(args.database), isolation_level="AUTOCOMMIT")
                with admin_engine.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
                admin_engine.dispose()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 stations")
    parser.add_argument("--stations", type=int, default=100)
    parser.add_argument("--database", help="a PostgreSQL URL whose server gets a throw-away database")
    args = parser.parse_args()
    if args.quick:
        args.stations = 20
    args.stations = max(args.stations, 21)  # the resume test needs 20 besides the probe
    rows = asyncio.run(run(args))
    print(" | ".join(("operation", "size", "figure", "target", "met")))
    for row in rows:
        print(" | ".join(row))
    checked = [row for row in rows if row[4] != "-"]
    print(f"targets met: {sum(row[4] == 'yes' for row in checked)}/{len(checked)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
