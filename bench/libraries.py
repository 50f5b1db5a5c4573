"""Base Data at scale: a million meters and a million customers.

    .venv/bin/python bench/libraries.py [--quick] [--database URL] [--size N]

Generates the libraries with bulk inserts (and says how long that took), then
times: the first page of the meter list, a meter number prefix search and a
customer name prefix search (first and next page), batch input of 100,000
meters, Excel export of 100,000 rows (in a child process, with its peak
memory) and import of 100,000 new meters. The default database is a temporary
SQLite file; for PostgreSQL a throw-away database is created beside the URL's
database and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import tokencore  # noqa: E402
from stron_tui.db import migrate  # noqa: E402
from stron_tui.db.engine import Database  # noqa: E402
from stron_tui.db.models import Customer, Meter  # noqa: E402
from stron_tui.services.bootstrap import ensure_reference_data  # noqa: E402
from stron_tui.domain.clock import utcnow  # noqa: E402
from stron_tui.services.context import AppContext  # noqa: E402
from stron_tui.services.permissions import SYSTEM_ACTOR  # noqa: E402
from stron_tui.domain.text import fold  # noqa: E402
from stron_tui.settings import Settings  # noqa: E402

FIRST = ["Ngozi", "Amaka", "Chidi", "Tunde", "Zoë", "Wei", "Kwame", "Fatima", "Musa", "Grace", "Ifeoma", "Sipho",
         "Thabo", "Aisha", "John", "Mary", "Olu", "Ada", "Emeka", "Yusuf", "李", "Lerato", "Kofi", "Nia"]
LAST = ["Okonkwo", "Adeyemi", "Mensah", "Dlamini", "Nkosi", "Bello", "Eze", "Okafor", "Abubakar", "Osei", "Zhang",
        "Mokoena", "Achebe", "Balogun", "Ndlovu", "Owusu", "Ibrahim", "Okeke", "Chukwu", "Danjuma"]
SGC = "600727"
BATCH_START = 5_000_000  # batch-input serials: far above the generated ones
IMPORT_START = 6_000_000
CHUNK = 10_000


def drn(serial: int) -> str:
    partial = str(serial).zfill(10)
    return partial + tokencore.drn_check_digit(partial)


def settings_for(url: str, workdir: Path) -> Settings:
    return Settings(data_dir=workdir, database_url=url, export_dir=workdir / "exports",
                    master_key_file=workdir / "master.key", timezone="UTC", currency="USD")


def meter_row(number: str, now) -> dict:
    key = {"sgc": SGC, "ti": 1, "krn": 1, "kt": 2, "ea": "07", "dkga": "02", "base_date": 1993, "ken": 255}
    return {"meter_number": number, "meter_type": "single-phase-integrated", "utility": "electricity",
            "status": "active", **key, **{f"installed_{k}": v for k, v in key.items()},
            "created_at": now, "updated_at": now}


def generate(db: Database, size: int) -> float:
    """`size` meters and `size` customers by bulk insert; returns seconds."""
    rng = random.Random(7)
    now = utcnow()
    started = time.perf_counter()
    with db.engine.begin() as connection:
        for start in range(1, size + 1, CHUNK):
            serials = range(start, min(start + CHUNK, size + 1))
            connection.execute(insert(Meter), [meter_row(drn(s), now) for s in serials])
            rows = []
            for s in serials:
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {s}"
                phone = f"080{s:08d}"
                rows.append({"code": f"C{s:07d}", "code_key": fold(f"C{s:07d}"), "name": name, "name_key": fold(name),
                             "address": f"{s} Marina Road", "phone": phone, "phone_key": phone, "email": "",
                             "district_id": None, "created_at": now, "updated_at": now})
            connection.execute(insert(Customer), rows)
    elapsed = time.perf_counter() - started
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if db.backend == "postgresql" else "ANALYZE"))
    return elapsed


def timed(function, repeat: int = 5) -> tuple[float, object]:
    """Median wall time in ms over `repeat` runs (after one warm-up), and the last result."""
    result = function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def child_export(url: str, workdir: str, prefix: str) -> None:
    """Run in a child process: export the batch meters, report time, rows and peak memory growth."""
    from stron_tui.services.excel_io import export_library

    db = Database(url)
    ctx = AppContext(settings=settings_for(url, Path(workdir)), db=db)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = export_library(ctx, SYSTEM_ACTOR, "meters", prefix)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "rows": result.rows, "peak_mb": peak / 1024,
                      "growth_mb": (peak - baseline) / 1024,
                      "path": str(result.path)}))
    db.dispose()


def write_import_file(path: Path, count: int) -> None:
    import xlsxwriter

    from stron_tui.services import libraries as L

    lib = L.library("meters")
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, [spec.header for spec in lib.fields])
    for index in range(count):
        sheet.write_row(index + 1, 0, [drn(IMPORT_START + index), "single-phase-integrated", "electricity", "active",
                                       SGC, "1", "1", "2", "07", "02", "1993", "255"])
    workbook.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows of each and 10,000-row batch/export/import")
    parser.add_argument("--database", help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--size", type=int, help="meters and customers to generate (default 1,000,000)")
    parser.add_argument("--child-export", nargs=3, metavar=("URL", "DIR", "PREFIX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("STRON_MASTER_KEY", secrets.token_hex(32))
    if args.child_export:
        child_export(*args.child_export)
        return 0
    size = args.size or (20_000 if args.quick else 1_000_000)
    work = 10_000 if args.quick else 100_000
    workdir = Path(tempfile.mkdtemp(prefix="stron-bench-"))
    admin_engine = None
    if args.database:
        base = make_url(args.database)
        name = f"stron_bench_{uuid.uuid4().hex[:8]}"
        admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    db = Database(url)
    try:
        return run(db, url, workdir, size, work)
    finally:
        db.dispose()
        if admin_engine is not None:
            with admin_engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin_engine.dispose()


def run(db: Database, url: str, workdir: Path, size: int, work: int) -> int:
    from stron_tui.services import libraries as L
    from stron_tui.services.excel_io import import_library
    from stron_tui.services.meters import create_batch
    from stron_tui.services.supply_groups import add_supply_group

    migrate.upgrade(db)
    ensure_reference_data(db)
    ctx = AppContext(settings=settings_for(url, workdir), db=db)
    actor = SYSTEM_ACTOR
    add_supply_group(ctx, actor, sgc=SGC, krn=1, dkga="02", label="bench", generate=True)
    print(f"database: {db.display_url}  ({db.backend})", flush=True)
    seconds = generate(db, size)
    print(f"generated {size:,} meters and {size:,} customers by bulk insert in {seconds:.1f} s "
          f"({2 * size / seconds:,.0f} rows/s)", flush=True)

    results = []  # operation, size, figure, target, met

    def add(operation, amount, figure, unit, target, met):
        results.append((operation, amount, f"{figure:,.1f} {unit}", target, "yes" if met else "NO"))
        print(f"  {operation}: {figure:,.1f} {unit}", flush=True)

    ms, page = timed(lambda: L.search(ctx, actor, "meters", "", limit=50))
    add("meter list, first page (50 rows)", f"{size:,} meters", ms, "ms", "< 100 ms", ms < 100)
    prefix = drn(size // 2)[:7]
    ms, page = timed(lambda: L.search(ctx, actor, "meters", prefix, limit=50))
    add(f"meter number prefix {prefix}, first page", f"{size:,} meters", ms, "ms", "< 100 ms", ms < 100 and page.rows)
    after = page.next_after
    ms, _ = timed(lambda: L.search(ctx, actor, "meters", prefix, limit=50, after=after))
    add("meter number prefix, next page", f"{size:,} meters", ms, "ms", "< 100 ms", ms < 100)
    ms, page = timed(lambda: L.search(ctx, actor, "customers", "ngozi ok", limit=50))
    add("customer name prefix 'ngozi ok', first page", f"{size:,} customers", ms, "ms", "< 100 ms",
        ms < 100 and page.rows)
    after = page.next_after
    ms, _ = timed(lambda: L.search(ctx, actor, "customers", "ngozi ok", limit=50, after=after))
    add("customer name prefix, next page", f"{size:,} customers", ms, "ms", "< 100 ms", ms < 100)
    ms, page = timed(lambda: L.search(ctx, actor, "customers", "zo", limit=50))
    add("customer name prefix 'zo' (common), first page", f"{size:,} customers", ms, "ms", "< 100 ms", ms < 100)

    first, last = drn(BATCH_START), drn(BATCH_START + work - 1)
    started = time.perf_counter()
    batch = create_batch(ctx, actor, first, last, {"meter_type": "single-phase-integrated", "utility": "electricity",
                                                   "status": "active", "sgc": SGC, "ti": 1, "krn": 1, "kt": 2,
                                                   "ea": "07", "dkga": "02", "base_date": 1993, "ken": 255})
    seconds = time.perf_counter() - started
    limit = 15 * work / 100_000
    add(f"batch input {first}..{last}", f"{batch.created:,} meters", seconds, "s", f"< {limit:.0f} s",
        seconds < limit and batch.created == work)

    child = subprocess.run([sys.executable, __file__, "--child-export", url, str(workdir), drn(BATCH_START)[:5]],
                           capture_output=True, text=True, env=os.environ)
    if child.returncode != 0:
        print(child.stderr, file=sys.stderr)
        return 1
    exported = json.loads(child.stdout.strip().splitlines()[-1])
    limit = 10 * work / 100_000
    add("Excel export of the batch (search '00050')", f"{exported['rows']:,} rows", exported["seconds"], "s",
        f"< {limit:.0f} s", exported["seconds"] < limit and exported["rows"] == work)
    add(f"Excel export peak RSS of the process (growth {exported['growth_mb']:.0f} MB)", f"{exported['rows']:,} rows",
        exported["peak_mb"], "MB",
        "< 150 MB", exported["peak_mb"] < 150)

    import_file = workdir / "import-meters.xlsx"
    write_import_file(import_file, work)
    started = time.perf_counter()
    report = import_library(ctx, actor, "meters", import_file)
    seconds = time.perf_counter() - started
    limit = 20 * work / 100_000
    add("Excel import of new meters", f"{report.created:,} meters", seconds, "s", f"< {limit:.0f} s",
        seconds < limit and report.ok and report.created == work)

    print()
    header = ("operation", "size", "figure", "target", "met")
    widths = [max(len(str(row[i])) for row in [header, *results]) for i in range(5)]
    for row in [header, tuple("-" * w for w in widths), *results]:
        print(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
    met = sum(1 for row in results if row[4] == "yes")
    print(f"targets met: {met}/{len(results)}")
    return 0 if met == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
