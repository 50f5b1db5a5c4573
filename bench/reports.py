"""Reports at scale: first page and totals of every report, and 100,000-row exports.

    python bench/reports.py [--quick] [--database URL] [--explain] [--meters N] [--receipts N]

Default: 1,000,000 meters and 10,000,000 receipts over two years in a
temporary SQLite file; --quick: 10,000 meters, 100,000 receipts. With a
PostgreSQL URL the data goes into a throw-away database `stron_bench_reports`
on that server, dropped at the end. Data is generated in bulk inside the
database (generate_series on PostgreSQL, a recursive CTE on SQLite), the
vends' secondary indexes are built after the load, and the report aggregates
are rebuilt once with set-based SQL. --explain prints the plans the reports use.

Prints (operation, size, figure, target, met) and ends with "targets met: K/N".
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from stron_tui.db import migrate  # noqa: E402
from stron_tui.db.engine import Database  # noqa: E402
from stron_tui.db.models import Vend, VendDailyTotal  # noqa: E402
from stron_tui.services import reports  # noqa: E402
from stron_tui.services.bootstrap import ensure_reference_data  # noqa: E402
from stron_tui.services.context import AppContext  # noqa: E402
from stron_tui.services.permissions import SYSTEM_ACTOR  # noqa: E402
from stron_tui.services.reports import ReportFilters  # noqa: E402
from stron_tui.services.reports.scope import resolve  # noqa: E402
from stron_tui.settings import Settings  # noqa: E402

BENCH_DATABASE = "stron_bench_reports"
DISTRICTS, STATIONS, OPERATORS = 20, 100, 200
DAYS = 730
START = date(2023, 1, 1)
SILENT_SHARE = 0.1  # the last tenth of the meters never buys
CHUNK = 1_000_000
PAYMENT_TYPES = ("cash", "cash", "cash", "cash", "mobile", "mobile", "e-card", "cheque", "transfer", "cash")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- Generation ------------------------------------------------------------------


def _series(backend: str, start: int, end: int) -> tuple[str, str]:
    """(prefix, FROM clause) giving integers i from start to end inclusive."""
    if backend == "postgresql":
        return "", f"FROM generate_series({start}::bigint, {end}::bigint) AS s(i)"
    return (f"WITH RECURSIVE s(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM s WHERE i < {end}) ", "FROM s")


def _sql(backend: str) -> dict:
    pg = backend == "postgresql"
    return {
        "lpad11": (lambda e: f"lpad(({e})::text, 11, '0')") if pg else (lambda e: f"substr('00000000000' || ({e}), -11, 11)"),
        "txt": (lambda e: f"({e})::text") if pg else (lambda e: f"CAST(({e}) AS TEXT)"),
        "ts": (lambda seconds: f"(timestamp '{START} 00:00:00' + ({seconds}) * interval '1 second')") if pg else
              (lambda seconds: f"strftime('%Y-%m-%d %H:%M:%S.000000', '{START}', '+' || ({seconds}) || ' seconds')"),
        "day": (lambda seconds: f"(date '{START}' + (({seconds}) / 86400)::int)") if pg else
               (lambda seconds: f"date('{START}', '+' || (({seconds}) / 86400) || ' days')"),
        "money": (lambda e: f"round(({e})::numeric, 2)") if pg else (lambda e: f"round({e}, 2)"),
        "int_div": (lambda a, b: f"(({a}) / {b})"),
        "pad4": (lambda e: f"lpad(({e})::text, 4, '0')") if pg else (lambda e: f"substr('0000' || ({e}), -4, 4)"),
        "now": "now()" if pg else "strftime('%Y-%m-%d %H:%M:%S.000000', 'now')",
        "true": "true" if pg else "1",
    }


def generate(db: Database, meters: int, receipts: int) -> float:
    backend = db.backend
    q = _sql(backend)
    started = time.perf_counter()
    selling = max(1, int(meters * (1 - SILENT_SHARE)))
    seconds_per_vend = DAYS * 86400 / receipts

    def run(sql: str, what: str) -> None:
        t = time.perf_counter()
        if backend == "postgresql":
            sql = sql.replace("%", "%%")  # psycopg reads % as a placeholder
        with db.engine.begin() as connection:
            connection.exec_driver_sql(sql)
        log(f"  {what}: {time.perf_counter() - t:.1f} s")

    def bulk(table: str, columns: str, select_list: str, total: int, what: str) -> None:
        for first in range(1, total + 1, CHUNK):
            last = min(total, first + CHUNK - 1)
            prefix, source = _series(backend, first, last)
            run(f"{prefix}INSERT INTO {table} ({columns}) SELECT {select_list} {source}"
                if backend == "postgresql" else
                f"INSERT INTO {table} ({columns}) {prefix}SELECT {select_list} {source}", f"{what} {first:,}-{last:,}")

    now = q["now"]
    bulk("districts", "code, code_key, name, name_key, kind, description, created_at, updated_at",
         f"'D' || {q['txt']('i')}, 'd' || {q['txt']('i')}, 'District ' || {q['txt']('i')}, "
         f"'district ' || {q['txt']('i')}, 'residential', '', {now}, {now}", DISTRICTS, "districts")
    bulk("sales_stations", "code, code_key, name, name_key, district_id, address, phone, receipt_width, active, "
         "created_at, updated_at",
         f"'S' || {q['txt']('i')}, 's' || {q['txt']('i')}, 'Station ' || {q['txt']('i')}, "
         f"'station ' || {q['txt']('i')}, 1 + (i - 1) % {DISTRICTS}, '', '', 40, {q['true']}, {now}, {now}",
         STATIONS, "stations")
    with db.engine.begin() as connection:
        role_id = connection.execute(text("SELECT id FROM roles ORDER BY id")).scalar()
    bulk("users", "user_code, user_key, name, phone, role_id, station_id, must_change_password, "
         "must_change_payment_password, failed_logins, enabled, builtin_admin, created_at",
         f"'op' || {q['txt']('i')}, 'op' || {q['txt']('i')}, 'Operator ' || {q['txt']('i')}, '', {role_id}, "
         f"1 + (i - 1) % {STATIONS}, {q['true']}, {q['true']}, 0, {q['true']}, "
         f"{'false' if backend == 'postgresql' else '0'}, {now}", OPERATORS, "operators")
    with db.engine.begin() as connection:
        first_operator = connection.execute(text("SELECT min(id) FROM users WHERE user_code LIKE 'op%'")).scalar()
    bulk("tariffs", "name, name_key, utility, unit, price_per_unit, currency_code, vat_rate, excise_rate, "
         "prices_include_vat, min_purchase, active, created_at, updated_at",
         f"'Tariff ' || {q['txt']('i')}, 'tariff ' || {q['txt']('i')}, 'electricity', 'kWh', 0.5, 'USD', 0.15, "
         f"0.02, {q['true']}, 0, {q['true']}, {now}, {now}", 1, "tariff")
    bulk("customers", "code, code_key, name, name_key, address, phone, phone_key, email, district_id, created_at, "
         "updated_at",
         f"'C' || {q['txt']('i')}, 'c' || {q['txt']('i')}, 'Customer ' || {q['txt']('i')}, "
         f"'customer ' || {q['txt']('i')}, '', '', '', '', 1 + (i - 1) % {DISTRICTS}, {now}, {now}", meters,
         "customers")
    bulk("meters", "meter_number, meter_type, utility, status, sgc, ti, krn, kt, ea, dkga, base_date, ken, "
         "installed_sgc, installed_ti, installed_krn, installed_kt, installed_ea, installed_dkga, "
         "installed_base_date, installed_ken, created_at, updated_at",
         f"{q['lpad11']('i')}, 'single-phase', 'electricity', 'active', '123456', 1, 1, 2, '07', '02', 2014, 255, "
         f"'123456', 1, 1, 2, '07', '02', 2014, 255, {now}, {now}", meters, "meters")
    bulk("accounts", "account_number, customer_id, meter_id, station_id, tariff_id, status, opened_at",
         f"'A' || {q['txt']('i')}, i, i, 1 + (i - 1) % {STATIONS}, 1, 'open', {now}", meters, "accounts")

    vend_indexes = list(Vend.__table__.indexes)
    with db.engine.begin() as connection:
        for index in vend_indexes:
            index.drop(connection)
    meter = f"(1 + (i * 7919) % {selling})"
    station = f"(1 + ({meter} - 1) % {STATIONS})"
    seconds = f"{q['int_div'](f'i * {int(seconds_per_vend * 1000)}', 1000)}"
    gross = "(2 * (1 + i % 50))"
    net = q["money"](f"{gross} / 1.173")
    excise = q["money"](f"{net} * 0.02")
    # Operator and payment type vary independently of the station (i / 3, i / 7), as in real shifts,
    # so the daily totals hold one row per day, station, operator and payment type.
    payment = "CASE (i / 7) % 10 " + " ".join(f"WHEN {n} THEN '{p}'" for n, p in enumerate(PAYMENT_TYPES)) + " END"
    bulk("vends", "transaction_number, receipt_number, request_id, created_at, business_date, source, operator_id, "
         "station_id, district_id, account_id, customer_id, meter_id, meter_number, tariff_id, tariff_name, "
         "utility, unit, price_per_unit, vat_rate, excise_rate, prices_include_vat, mode, payment_type, "
         "paid_currency, paid_amount, exchange_rate, currency, gross_amount, vat_amount, excise_amount, net_amount, "
         "units, token, tid, key_change_tokens",
         f"'V' || {q['txt']('i')}, 'R' || {q['txt']('i')}, 'q' || {q['txt']('i')}, {q['ts'](seconds)}, "
         f"{q['day'](seconds)}, 'tui', {first_operator} + ({station} - 1) * 2 + (i / 3) % 2, {station}, "
         f"1 + ({station} - 1) % {DISTRICTS}, {meter}, {meter}, {meter}, {q['lpad11'](meter)}, 1, 'Tariff 1', "
         f"'electricity', 'kWh', 0.5, 0.15, 0.02, {q['true']}, 'amount', {payment}, 'USD', {gross}, 1, 'USD', "
         f"{gross}, {gross} - {net} - {excise}, {excise}, {net}, {gross} * 2, "
         f"'1234567890123456' || {q['pad4']('i % 10000')}, i % 1000000, ''",
         receipts, "vends")
    t = time.perf_counter()
    with db.engine.begin() as connection:
        for index in vend_indexes:
            index.create(connection)
    log(f"  vend indexes: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    with db.session() as session:
        reports.rebuild_report_aggregates(session)
    log(f"  report aggregates: {time.perf_counter() - t:.1f} s")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


# --- Measuring ---------------------------------------------------------------------


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    """Best of `repeat` runs (the first warms the cache), in seconds."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def explain(ctx: AppContext, title: str, query) -> None:
    db = ctx.db
    with db.engine.connect() as connection:
        compiled = query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " if db.backend == "postgresql" else "EXPLAIN QUERY PLAN "
        rows = connection.exec_driver_sql(prefix + str(compiled)).all()
    print(f"\n-- {title}")
    for row in rows:
        print("   " + (str(row[0]) if db.backend == "postgresql" else " | ".join(str(v) for v in row[1:])))


def run_benchmark(ctx: AppContext, meters: int, receipts: int, show_plans: bool) -> list[tuple]:
    actor = SYSTEM_ACTOR
    with ctx.db.read_session() as session:
        last_day = session.scalar(select(func.max(VendDailyTotal.business_date)))
        # The latest days that together hold at least 100,000 sales (all of them in --quick).
        per_day = session.execute(select(VendDailyTotal.business_date, func.sum(VendDailyTotal.vend_count))
                                  .group_by(VendDailyTotal.business_date)
                                  .order_by(VendDailyTotal.business_date.desc())).all()
    export_from, counted = last_day, 0
    for day, count in per_day:
        export_from, counted = day, counted + int(count)
        if counted >= 100_000:
            break
    month = ReportFilters(date_from=last_day - timedelta(days=30), date_to=last_day)
    one_day = ReportFilters(date_from=last_day, date_to=last_day)
    station_month = month.with_changes(station="S7")
    # Generated sales end before today, so "the last 90 days of sales" is given as a closed period:
    # the report then also checks meters whose last sale came after it (the slower, general case).
    silent = ReportFilters(date_from=last_day - timedelta(days=90), date_to=last_day)
    sample_numbers = [f"V{n}" for n in range(1, receipts, max(1, receipts // 10))][:10]
    size = f"{receipts:,} receipts"
    checks = [
        ("receipts: first page, no filter", lambda: reports.receipts(ctx, actor, ReportFilters())),
        ("receipts: first page, station + 30 days", lambda: reports.receipts(ctx, actor, station_month)),
        ("receipts: first page, payment type cheque",
         lambda: reports.receipts(ctx, actor, ReportFilters(payment_type="cheque"))),
        ("receipts: first page, one meter", lambda: reports.receipts(ctx, actor, ReportFilters(meter_number="00000000007"))),
        ("receipts: totals, all time", lambda: reports.receipt_totals(ctx, actor, ReportFilters())),
        ("receipts: totals, station + 30 days", lambda: reports.receipt_totals(ctx, actor, station_month)),
        ("receipts: totals, one customer", lambda: reports.receipt_totals(ctx, actor, ReportFilters(customer="C7"))),
        ("monthly summary, all time", lambda: reports.monthly_summary(ctx, actor, ReportFilters())),
        ("customer payments per station, all time", lambda: reports.station_payments(ctx, actor, ReportFilters())),
        ("customer payments: one station's customers, 30 days",
         lambda: reports.customer_payments(ctx, actor, month, 7)),
        ("transaction numbers: 10 looked up", lambda: reports.transactions(ctx, actor, sample_numbers)),
        ("district report, all time", lambda: reports.district_report(ctx, actor, ReportFilters())),
        ("non-vending meters: first page, 90 days", lambda: reports.silent_meters(ctx, actor, silent)),
        ("non-vending meters: count, 90 days", lambda: reports.silent_meter_count(ctx, actor, silent)),
        ("non-vending meters: count, since a date up to today",
         lambda: reports.silent_meter_count(ctx, actor, silent.with_changes(date_to=None))),
        ("cash-up: all operators, one day", lambda: reports.cashup(ctx, actor, one_day)),
        ("cash-up: one operator, 30 days by day", lambda: reports.cashup(ctx, actor, month.with_changes(operator="op7"))),
    ]
    results = []
    for name, fn in checks:
        seconds, _ = timed(fn)
        results.append((name, size, f"{seconds * 1000:.0f} ms", "< 1000 ms", seconds < 1.0))
        log(f"  {name}: {seconds * 1000:.0f} ms")
    export_filters = ReportFilters(date_from=export_from, date_to=last_day)
    for fmt, limit in (("xlsx", 10.0), ("pdf", 15.0), ("csv", 10.0)):
        t = time.perf_counter()
        result = reports.export_report(ctx, actor, "receipts", fmt, export_filters)
        seconds = time.perf_counter() - t
        results.append((f"export receipts to {fmt}", f"{result.rows:,} rows", f"{seconds:.1f} s", f"< {limit:.0f} s",
                        seconds < limit))
        log(f"  export {fmt}: {result.rows:,} rows in {seconds:.1f} s ({result.path.stat().st_size / 1e6:.1f} MB)")
        result.path.unlink()
    if show_plans:
        from stron_tui.db.queries import keyset_page
        from stron_tui.db.models import Meter
        from stron_tui.services.reports.catalog import non_vending
        from stron_tui.services.reports.catalog.districts import district_query
        from stron_tui.services.reports.catalog.monthly import monthly_query
        from stron_tui.services.reports.catalog.receipts import receipt_query

        zone = ctx.settings.zone
        with ctx.db.read_session() as session:
            scope_all = resolve(session, actor, ReportFilters())
            scope_station = resolve(session, actor, station_month)
            scope_customer = resolve(session, actor, ReportFilters(customer="C7"))
            scope_silent = resolve(session, actor, silent)
        page = lambda scope: keyset_page(receipt_query(scope, zone), [Vend.created_at, Vend.id], after=None,
                                         limit=50, descending=True, key_of=None)[0]
        explain(ctx, "receipts: first page, no filter", page(scope_all))
        explain(ctx, "receipts: first page, station + 30 days", page(scope_station))
        explain(ctx, "monthly summary (daily totals)", monthly_query(scope_all))
        explain(ctx, "monthly summary, one customer (vends via ix_vends_customer)", monthly_query(scope_customer))
        explain(ctx, "district report (daily totals)", district_query(scope_all))
        silent_walk = non_vending.silent_meter_window_query(scope_silent, silent.date_from, silent.date_to,
                                                            today=date.today(), after=None, window=non_vending.SILENT_WINDOW)
        explain(ctx, f"non-vending meters: first page, tried on the next {non_vending.SILENT_WINDOW:,} meters by number",
                non_vending.silent_meter_details(keyset_page(silent_walk, [Meter.meter_number], after=None, limit=50,
                                                      key_of=None)[0]))
        silent_keys = non_vending.silent_meter_query(scope_silent, silent.date_from, silent.date_to, today=date.today())
        explain(ctx, "non-vending meters: first page from the silent rows (when the window held less than a page)",
                non_vending.silent_meter_details(keyset_page(silent_keys, [Meter.meter_number], after=None, limit=50,
                                                      key_of=None)[0]))
        explain(ctx, "non-vending meters: count",
                non_vending.silent_meter_count_query(scope_silent, silent.date_from, silent.date_to,
                                              today=date.today()))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database", default="")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--meters", type=int)
    parser.add_argument("--receipts", type=int)
    args = parser.parse_args()
    meters = args.meters or (10_000 if args.quick else 1_000_000)
    receipts = args.receipts or (100_000 if args.quick else 10_000_000)

    workdir = Path(tempfile.mkdtemp(prefix="stron-bench-reports-"))
    admin_engine = None
    if args.database and make_url(args.database).get_backend_name() == "postgresql":
        base = make_url(args.database)
        admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
        url = base.set(database=BENCH_DATABASE).render_as_string(hide_password=False)
    elif args.database:
        url = args.database
    else:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    settings = Settings(data_dir=workdir, database_url=url, export_dir=workdir / "exports",
                        master_key_file=workdir / "master.key", timezone="UTC")
    db = Database(url)
    try:
        migrate.upgrade(db)
        ensure_reference_data(db)
        log(f"generating {meters:,} meters and {receipts:,} receipts in {db.backend} ...")
        generation = generate(db, meters, receipts)
        log(f"generated in {generation:.0f} s")
        ctx = AppContext(settings=settings, db=db)
        results = run_benchmark(ctx, meters, receipts, args.explain)
    finally:
        db.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
        if admin_engine is not None:
            with admin_engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
            admin_engine.dispose()
    print(f"\nreports benchmark on {db.backend}: {meters:,} meters, {receipts:,} receipts "
          f"(generated in {generation:.0f} s)\n")
    print(f"{'operation':<52} | {'size':>18} | {'figure':>9} | {'target':>9} | met")
    print("-" * 104)
    for name, size, figure, target, met in results:
        print(f"{name:<52} | {size:>18} | {figure:>9} | {target:>9} | {'yes' if met else 'NO'}")
    met = sum(1 for row in results if row[4])
    print(f"targets met: {met}/{len(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
