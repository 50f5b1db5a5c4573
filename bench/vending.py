"""Complete vends through the service layer (lookup, price, token, commit): rate and latency.

SQLite runs one process; PostgreSQL runs 8 concurrent worker processes
selling to random meters, timed from the moment all of them are connected
and warm (process start-up is not selling). The seller is an API account (a cashier at the
screen also types the payment password, an argon2 check of ~20 ms that is
deliberately slow and not part of this figure).

    python bench/vending.py [--quick] [--database URL] [--workers 8] [--meters N] [--vends N] [--quoted]
                            [--case flat|full|float|both|all]

Three cases: "flat" (one price) and "full" (the revenue model: 3 blocks, a
monthly fixed charge, 25 % debt recovery, free units registered, so most sales
also issue the month's free-units token), each on its own meters; "float": the
flat meters sold by a second API account whose every sale is taken from one
shared vendor float (2 % commission) under its row lock, all workers at once.
"both" is flat and full; "all" (the default) adds float.

Targets: SQLite >= 150 vends/s; PostgreSQL >= 300 vends/s with p99 < 50 ms;
the full tariff >= 90 % of the flat throughput; the float >= 80 % of the flat
throughput, and no oversell: the float's balance is its deposit less exactly
what its sale entries took, one entry per sale, never below its limit.
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
from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from stron_tui.db import migrate  # noqa: E402
from stron_tui.db.engine import Database  # noqa: E402
from stron_tui.db.models import (  # noqa: E402
    Account, ApiAccount, Customer, District, Meter, Role, SalesStation, Tariff, TariffBlock, TariffVersion, Vend,
    VendingKey, VendorFloat, VendorFloatEntry,
)
from stron_tui.services.bootstrap import ensure_reference_data  # noqa: E402
from stron_tui.services.reports.aggregates import start_meter_activity_by_number  # noqa: E402
from stron_tui.domain.clock import utcnow  # noqa: E402
from stron_tui.services.context import AppContext  # noqa: E402
from stron_tui.settings import Settings  # noqa: E402
from results import percentile, print_results  # noqa: E402

SGC = "600777"
FLOAT_ACCOUNT = "bench-float"  # the API account selling on the shared vendor float
FLOAT_DEPOSIT = Decimal("10000000")  # enough for every sale: the figure is the float's lock, not refusals


def make_settings(directory: Path, url: str) -> Settings:
    key_file = directory / "master.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return Settings(data_dir=directory, database_url=url, export_dir=directory / "exports",
                    master_key_file=key_file)


def populate(ctx: AppContext, meters: int) -> dict[str, list[str]]:
    """`meters` meters with accounts on the flat tariff and as many on the full one."""
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
        full = Tariff(name="Bench full", name_key="bench full", utility="electricity", unit="kWh",
                      price_per_unit=Decimal("0.15"), currency_code="USD", vat_rate=Decimal("0.15"),
                      excise_rate=Decimal("0.02"), prices_include_vat=True, fixed_charge_vat=True,
                      charge_accrue_months=3, created_at=now, updated_at=now)
        session.add_all([station, tariff, full, VendingKey(sgc=SGC, krn=1, dkga="02", nonce=nonce, ciphertext=sealed,
                                                           created_at=now)])
        session.flush()
        version = TariffVersion(tariff_id=full.id, effective_from=now.replace(year=now.year - 1),
                                fixed_charge=Decimal("2.00"), created_at=now)
        session.add(version)
        session.flush()
        session.add_all([TariffBlock(version_id=version.id, position=1, up_to=Decimal(50), price_per_unit=Decimal("0.10")),
                         TariffBlock(version_id=version.id, position=2, up_to=Decimal(200),
                                     price_per_unit=Decimal("0.15")),
                         TariffBlock(version_id=version.id, position=3, up_to=None, price_per_unit=Decimal("0.25"))])
        role = session.scalar(select(Role).where(Role.name_key == "administrator"))
        session.add(ApiAccount(name="bench", name_key="bench", role_id=role.id, station_id=None,
                               key_prefix="bench", key_hash="-", created_at=now))
        on_float = ApiAccount(name=FLOAT_ACCOUNT, name_key=FLOAT_ACCOUNT, role_id=role.id, station_id=None,
                              key_prefix="benchfl", key_hash="-", created_at=now)
        session.add(on_float)
        session.flush()
        session.add(VendorFloat(api_account_id=on_float.id, currency="USD", balance=FLOAT_DEPOSIT,
                                credit_limit=Decimal(0), commission_rate=Decimal("0.02"), created_at=now,
                                updated_at=now))
        session.flush()
        key = dict(sgc=SGC, ti=1, krn=1, kt=2, ea="07", dkga="02", base_date=2014, ken=255)
        installed = {f"installed_{name}": value for name, value in key.items()}
        for start in range(0, 2 * meters, 5000):
            batch = []
            for index in range(start, min(2 * meters, start + 5000)):
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
        cases = {"flat": numbers[:meters], "full": numbers[meters:]}
        cases["float"] = cases["flat"]
        revenue = dict(debt_balance=Decimal("1000"), recovery_percent=Decimal("0.25"), free_units=Decimal("10"))
        for case in ("flat", "full"):
            chosen = cases[case]
            extra = revenue if case == "full" else {}
            for start in range(0, meters, 5000):
                session.execute(insert(Account), [
                    dict(account_number=f"BA{number}", customer_id=customer_ids[f"B{number}"],
                         meter_id=meter_ids[number], station_id=station.id,
                         tariff_id=(full if case == "full" else tariff).id, status="open", opened_at=now, **extra)
                    for number in chosen[start:start + 5000]])
    return cases


def batch_numbers(batch: list[dict]) -> list[str]:
    return [row["meter_number"] for row in batch]


def sell(url: str, settings: Settings, numbers: list[str], count: int, seed: int, queue=None,
         ready=None, go=None, quoted: bool = False, account: str = "bench") -> list[float]:
    from stron_tui.services import vending
    from stron_tui.services.permissions import ALL_PERMISSIONS, Actor

    db = Database(url)
    ctx = AppContext(settings=settings, db=db)
    ctx.vault  # noqa: B018
    with db.read_session() as session:
        api_id = session.scalar(select(ApiAccount.id).where(ApiAccount.name == account))
    actor = Actor(user_id=None, user_code="bench", permissions=ALL_PERMISSIONS, source="api",
                  api_account_id=api_id)
    rng = random.Random(seed)
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
        vending.vend(ctx, actor, request)
        latencies.append((time.perf_counter() - began) * 1000)
    finished = time.time()
    db.dispose()
    if queue is not None:
        queue.put((started, finished, latencies))
    return latencies


def sell_one(ctx, actor, rng, numbers) -> None:
    from stron_tui.services import vending

    vending.vend(ctx, actor, vending.VendRequest(rng.choice(numbers), "amount", "10", request_id=uuid.uuid4().hex))



def timed(url: str, settings: Settings, numbers: list[str], workers: int, per_worker: int,
          quoted: bool, account: str = "bench") -> tuple[float, list[float]]:
    """(wall seconds, latencies in ms) of `per_worker` sales by each of `workers` processes."""
    if workers == 1:
        started = time.perf_counter()
        latencies = sell(url, settings, numbers, per_worker, seed=1, quoted=quoted, account=account)
        return time.perf_counter() - started, latencies
    spawn = multiprocessing.get_context("spawn")
    queue, ready, go = spawn.Queue(), spawn.Semaphore(0), spawn.Event()
    processes = [spawn.Process(target=sell, args=(url, settings, numbers, per_worker, n, queue, ready, go, quoted,
                                                  account))
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
    wall = max(end for _, end, _ in results) - min(start for start, _, _ in results)
    return wall, [value for _, _, values in results for value in values]


def check_float(db: Database) -> tuple[str, bool]:
    """The float after its run: its balance is the deposit less what its sale entries took, one entry for
    each of its sales, and never below its limit (figure, met)."""
    with db.read_session() as session:
        account_id = session.scalar(select(ApiAccount.id).where(ApiAccount.name == FLOAT_ACCOUNT))
        account_float = session.scalar(select(VendorFloat).where(VendorFloat.api_account_id == account_id))
        entries, taken = session.execute(select(func.count(), func.coalesce(func.sum(VendorFloatEntry.amount), 0))
                                         .where(VendorFloatEntry.float_id == account_float.id,
                                                VendorFloatEntry.kind == "sale")).one()
        sales = session.scalar(select(func.count()).select_from(Vend).where(Vend.api_account_id == account_id))
    exact = account_float.balance == FLOAT_DEPOSIT + taken and entries == sales
    return (f"{sales} sales, {entries} entries, balance {account_float.balance:.2f}",
            exact and account_float.balance >= -account_float.credit_limit)


def main() -> int:
    parser = argparse.ArgumentParser(description="Vends per second through the service layer.")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--workers", type=int, default=8, help="PostgreSQL worker processes (default 8)")
    parser.add_argument("--meters", type=int)
    parser.add_argument("--vends", type=int, help="vends per worker")
    parser.add_argument("--quoted", action="store_true",
                        help="preview each sale first and sell it bound to its quote (the Top-up screen's path)")
    parser.add_argument("--case", choices=("flat", "full", "float", "both", "all"), default="all")
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
            cases = populate(ctx, meters)
            setup_s = time.perf_counter() - started
            db.dispose()
            measured = {}
            chosen = {"both": ("flat", "full"), "all": ("flat", "full", "float")}.get(args.case, (args.case,))
            for case in chosen:
                numbers = cases[case]
                account = FLOAT_ACCOUNT if case == "float" else "bench"
                sell(url, settings, numbers, 20, seed=999, account=account)  # warm-up: caches, connections
                measured[case] = timed(url, settings, numbers, workers, per_worker, args.quoted, account)
            float_check = check_float(db) if "float" in measured else None
            db.dispose()
        finally:
            if throwaway:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{throwaway}" WITH (FORCE)'))
                admin.dispose()

    backend = make_url(url).get_backend_name()
    rows = []
    for case, (wall, latencies) in measured.items():
        rate = len(latencies) / wall
        p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
        size = f"{case}: {len(latencies)} vends, {workers} worker{'s' if workers > 1 else ''}, {meters} meters"
        rows += [(f"vends/s on {backend}", size, f"{rate:.0f}/s", f">= {target_rate:.0f}/s", rate >= target_rate),
                 (f"p50 latency on {backend}", size, f"{p50:.1f} ms", "-", None)]
        if target_p99 is not None:
            rows.append((f"p99 latency on {backend}", size, f"{p99:.1f} ms", f"< {target_p99:.0f} ms",
                         p99 < target_p99))
        else:
            rows.append((f"p99 latency on {backend}", size, f"{p99:.1f} ms", "-", None))
    rate_of = {case: len(latencies) / wall for case, (wall, latencies) in measured.items()}
    if "flat" in rate_of and "full" in rate_of:
        full_share = rate_of["full"] / rate_of["flat"]
        rows.append((f"full / flat throughput on {backend}", "3 blocks, charge, 25 % debt, free units",
                     f"{full_share:.0%}", ">= 90%", full_share >= 0.9))
    if "flat" in rate_of and "float" in rate_of:
        float_share = rate_of["float"] / rate_of["flat"]
        rows.append((f"float / flat throughput on {backend}", f"one shared float, {workers} worker(s)",
                     f"{float_share:.0%}", ">= 80%", float_share >= 0.8))
    if float_check is not None:
        figure, met = float_check
        rows.append((f"no oversell of the float on {backend}", "balance = deposit - sale entries", figure,
                     "exact, >= -limit", met))
    print(f"(set-up: {meters} meters with accounts in {setup_s:.1f} s)")
    print_results(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
