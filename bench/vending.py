"""Complete vends through the service layer (lookup, price, token, commit): rate and latency.

SQLite runs one process; PostgreSQL runs 8 concurrent worker processes
selling to random meters, timed from the moment all of them are connected
and warm (process start-up is not selling). The seller is an API account (a cashier at the
screen also types the payment password, an argon2 check of ~20 ms that is
deliberately slow and not part of this figure).

    python bench/vending.py [--quick] [--database URL] [--workers 8] [--meters N] [--vends N] [--quoted]
                            [--float]

Targets: SQLite >= 150 vends/s; PostgreSQL >= 300 vends/s with p99 < 50 ms.
--float adds the same sales against ONE vendor float shared by every worker (the partner sells on a
prepaid float, 2 % commission): at least 80 % of the throughput without a float; then a float that runs
out mid-run: no sale past its limit (balance never below -limit, every recorded sale in the float).
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tokencore  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from stron_tui.db import migrate  # noqa: E402
from stron_tui.db.engine import Database  # noqa: E402
from stron_tui.db.models import (  # noqa: E402
    Account, ApiAccount, Customer, District, Meter, Role, SalesStation, Tariff, VendingKey,
)
from stron_tui.services.bootstrap import ensure_reference_data  # noqa: E402
from stron_tui.services.reports.aggregates import start_meter_activity_by_number  # noqa: E402
from stron_tui.services.clock import utcnow  # noqa: E402
from stron_tui.services.context import AppContext  # noqa: E402
from stron_tui.settings import Settings  # noqa: E402
from results import percentile, print_results  # noqa: E402

SGC = "600777"


def make_settings(directory: Path, url: str) -> Settings:
    key_file = directory / "master.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return Settings(data_dir=directory, database_url=url, export_dir=directory / "exports",
                    master_key_file=key_file)


def populate(ctx: AppContext, meters: int) -> list[str]:
    now = utcnow()
    numbers = []
    with ctx.db.session() as session:
        district = District(code="B", code_key="b", name="Bench", name_key="bench", created_at=now, updated_at=now)
        session.add(district)
        session.flush()
        station = SalesStation(code="BENCH", code_key="bench", name="Bench", name_key="bench",
                               district_id=district.id, created_at=now, updated_at=now)
        tariff = Tariff(name="Bench", name_key="bench", utility="electricity", unit="kWh",
                        price_per_unit=Decimal("0.15"), currency_code="USD", vat_rate=Decimal("0.15"),
                        excise_rate=Decimal("0.02"), prices_include_vat=True, created_at=now, updated_at=now)
        nonce, sealed = ctx.vault.seal(SGC, 1, "02", secrets.token_bytes(8))
        session.add_all([station, tariff, VendingKey(sgc=SGC, krn=1, dkga="02", nonce=nonce, ciphertext=sealed,
                                                     created_at=now)])
        role = session.scalar(select(Role).where(Role.name_key == "administrator"))
        session.add(ApiAccount(name="bench", name_key="bench", role_id=role.id, station_id=None,
                               key_prefix="bench", key_hash="-", created_at=now))
        session.flush()
        key = dict(sgc=SGC, ti=1, krn=1, kt=2, ea="07", dkga="02", base_date=2014, ken=255)
        installed = {f"installed_{name}": value for name, value in key.items()}
        for start in range(0, meters, 5000):
            batch = []
            for index in range(start, min(meters, start + 5000)):
                serial = str(5100000000 + index)
                number = serial + tokencore.drn_check_digit(serial)
                numbers.append(number)
                batch.append(dict(meter_number=number, meter_type="single-phase", utility="electricity",
                                  status="active", created_at=now, updated_at=now, **key, **installed))
            session.execute(insert(Meter), batch)
            session.execute(insert(Customer), [dict(code=f"B{n}", code_key=f"b{n}", name=f"Bench {n}",
                                                    name_key=f"bench {n}", created_at=now, updated_at=now)
                                               for n in batch_numbers(batch)])
        start_meter_activity_by_number(session, numbers)  # as Base Data does for every meter it creates
        meter_ids = {number: meter_id for number, meter_id in session.execute(select(Meter.meter_number, Meter.id))}
        customer_ids = {code: customer_id for code, customer_id in session.execute(select(Customer.code, Customer.id))}
        for start in range(0, meters, 5000):
            session.execute(insert(Account), [
                dict(account_number=f"BA{number}", customer_id=customer_ids[f"B{number}"],
                     meter_id=meter_ids[number], station_id=station.id, tariff_id=tariff.id, status="open",
                     opened_at=now)
                for number in numbers[start:start + 5000]])
    return numbers


def batch_numbers(batch: list[dict]) -> list[str]:
    return [row["meter_number"] for row in batch]


def sell(url: str, settings: Settings, numbers: list[str], count: int, seed: int, queue=None,
         ready=None, go=None, quoted: bool = False) -> tuple[list[float], int]:
    from stron_tui.services import vending
    from stron_tui.services.permissions import ALL_PERMISSIONS, Actor

    db = Database(url)
    ctx = AppContext(settings=settings, db=db)
    ctx.vault  # noqa: B018
    with db.read_session() as session:
        api_id = session.scalar(select(ApiAccount.id))
    actor = Actor(user_id=None, user_code="bench", permissions=ALL_PERMISSIONS, source="api",
                  api_account_id=api_id)
    from stron_tui.services.vendor_floats import FloatExhausted

    rng = random.Random(seed)
    refused = 0
    if ready is not None:
        # Start-up (spawning, imports, the first connection) is not selling: wait for every worker.
        sell_one(ctx, actor, rng, numbers)
        ready.release()
        go.wait()
    latencies = []
    started = time.time()
    for _ in range(count):
        request = vending.VendRequest(rng.choice(numbers), "amount", str(rng.choice([5, 10, 20])),
                                      request_id=uuid.uuid4().hex)
        if quoted:  # as the Top-up screen sells: preview first (not timed), then the sale bound to its quote
            request = dataclasses.replace(request, quote_id=vending.preview(ctx, actor, request).quote_id)
        began = time.perf_counter()
        try:
            vending.vend(ctx, actor, request)
        except FloatExhausted:
            refused += 1
            continue
        latencies.append((time.perf_counter() - began) * 1000)
    finished = time.time()
    db.dispose()
    if queue is not None:
        queue.put((started, finished, latencies, refused))
    return latencies, refused


def sell_one(ctx, actor, rng, numbers) -> None:
    from stron_tui.services import vending

    vending.vend(ctx, actor, vending.VendRequest(rng.choice(numbers), "amount", "10", request_id=uuid.uuid4().hex))



def run(url, settings, numbers, workers, per_worker, quoted) -> tuple[float, list[float], int]:
    """(wall seconds, latencies of the sales made, sales refused for an exhausted float)."""
    if workers == 1:
        started = time.perf_counter()
        latencies, refused = sell(url, settings, numbers, per_worker, seed=1, quoted=quoted)
        return time.perf_counter() - started, latencies, refused
    spawn = multiprocessing.get_context("spawn")
    queue, ready, go = spawn.Queue(), spawn.Semaphore(0), spawn.Event()
    processes = [spawn.Process(target=sell, args=(url, settings, numbers, per_worker, n, queue, ready, go, quoted))
                 for n in range(workers)]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire(timeout=600)
    go.set()
    results = [queue.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    # From the first worker's first sale to the last worker's last sale.
    wall = max(end for _, end, _, _ in results) - min(start for start, _, _, _ in results)
    return wall, [value for _, _, values, _ in results for value in values], sum(r[3] for r in results)


def float_cases(url, settings, numbers, workers, per_worker, quoted, plain_rate) -> list[tuple]:
    """The same sales against one shared vendor float; then a float that runs out mid-run."""
    from sqlalchemy import func, update

    from stron_tui.db.models import VendorFloat, VendorFloatEntry

    db = Database(url)
    with db.session() as session:
        api_id = session.scalar(select(ApiAccount.id))
        session.add(VendorFloat(api_account_id=api_id, currency="USD", balance=Decimal("1000000000"),
                                credit_limit=Decimal(0), commission_rate=Decimal("0.02"), created_at=utcnow(),
                                updated_at=utcnow()))
    wall, latencies, _ = run(url, settings, numbers, workers, per_worker, quoted)
    rate = len(latencies) / wall
    backend = make_url(url).get_backend_name()
    size = f"{len(latencies)} vends, {workers} workers, one float"
    rows = [(f"vends/s with a shared float on {backend}", size, f"{rate:.0f}/s ({rate / plain_rate:.0%})",
             f">= {0.8 * plain_rate:.0f}/s (80 %)", rate >= 0.8 * plain_rate)]
    # Room for about half the sales (2 % commission, amounts 5/10/20: 11.43 on average, less commission).
    room = Decimal(int(workers * per_worker * 11.43 * 0.98 / 2))
    with db.session() as session:
        first_entry = session.scalar(select(func.max(VendorFloatEntry.id))) or 0
        session.execute(update(VendorFloat).values(balance=room - Decimal(50), credit_limit=Decimal(50)))
    _, sold, refused = run(url, settings, numbers, workers, per_worker, quoted)
    with db.read_session() as session:
        balance, limit = session.execute(select(VendorFloat.balance, VendorFloat.credit_limit)).one()
        taken = -(session.scalar(select(func.sum(VendorFloatEntry.amount))
                                 .where(VendorFloatEntry.id > first_entry)) or Decimal(0))
        lowest = session.scalar(select(func.min(VendorFloatEntry.balance_after))
                                .where(VendorFloatEntry.id > first_entry))
    db.dispose()
    sound = balance >= -limit and lowest >= -limit and room - Decimal(50) - taken == balance and refused > 0
    rows.append((f"float exhausted mid-run on {backend}", f"{len(sold)} sold, {refused} refused",
                 f"balance {balance:.2f}, lowest {lowest:.2f}", f">= -{limit:.2f}, no oversell", sound))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description="Vends per second through the service layer.")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--workers", type=int, default=8, help="PostgreSQL worker processes (default 8)")
    parser.add_argument("--meters", type=int)
    parser.add_argument("--vends", type=int, help="vends per worker")
    parser.add_argument("--float", action="store_true",
                        help="also sell against one vendor float shared by every worker (see above)")
    parser.add_argument("--quoted", action="store_true",
                        help="preview each sale first and sell it bound to its quote (the Top-up screen's path)")
    args = parser.parse_args()
    meters = args.meters or (2000 if args.quick else 20000)
    per_worker = args.vends or (60 if args.quick else 400)

    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        throwaway = None
        if args.database and make_url(args.database).get_backend_name() == "postgresql":
            base = make_url(args.database)
            throwaway = f"stron_bench_vending_{uuid.uuid4().hex[:8]}"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{throwaway}"'))
            url = base.set(database=throwaway).render_as_string(hide_password=False)
            workers, target_rate, target_p99 = args.workers, 300.0, 50.0
        else:
            url = args.database or f"sqlite:///{directory / 'bench.sqlite3'}"
            workers, target_rate, target_p99 = 1, 150.0, None
            per_worker *= 4
        try:
            db = Database(url)
            migrate.upgrade(db)
            ensure_reference_data(db)
            settings = make_settings(directory, url)
            ctx = AppContext(settings=settings, db=db)
            ctx.vault  # noqa: B018 - the master key check is written before the bulk load
            started = time.perf_counter()
            numbers = populate(ctx, meters)
            setup_s = time.perf_counter() - started
            db.dispose()
            sell(url, settings, numbers, 20, seed=999)  # warm-up: caches, connections
            wall, latencies, _ = run(url, settings, numbers, workers, per_worker, args.quoted)
            float_rows = float_cases(url, settings, numbers, workers, per_worker, args.quoted,
                                     len(latencies) / wall) if args.float else []
        finally:
            if throwaway:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{throwaway}" WITH (FORCE)'))
                admin.dispose()

    rate = len(latencies) / wall
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    backend = make_url(url).get_backend_name()
    size = f"{len(latencies)} vends, {workers} worker{'s' if workers > 1 else ''}, {meters} meters"
    rows = [(f"vends/s on {backend}", size, f"{rate:.0f}/s", f">= {target_rate:.0f}/s", rate >= target_rate),
            (f"p50 latency on {backend}", size, f"{p50:.1f} ms", "-", None)]
    if target_p99 is not None:
        rows.append((f"p99 latency on {backend}", size, f"{p99:.1f} ms", f"< {target_p99:.0f} ms", p99 < target_p99))
    else:
        rows.append((f"p99 latency on {backend}", size, f"{p99:.1f} ms", "-", None))
    print(f"(set-up: {meters} meters with accounts in {setup_s:.1f} s)")
    print_results(rows + float_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
