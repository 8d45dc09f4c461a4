"""How fast a sales file loads: Pulse's pipeline against the COPY floor and django-import-export.

Generates one sales CSV (N rows over ~500 accounts and the past 12 months; 2% bad rows of four
kinds, 5% exact duplicates of earlier rows) and runs on that same file, side by side:
R0  `COPY` of the file into an UNLOGGED table of text columns: the raw floor;
R0c `COPY` of the rows R2 keeps (the valid ones, as stored, in an order unrelated to the key, as
    in the file) into a LOGGED copy of the tenant's sales table: same primary key, unique natural
    key and foreign key to the accounts: the floor of the end state;
R2  Pulse end to end, `upload_receive()` + `upload_process()` in a scratch tenant, each run in
    a fresh child process so its peak RSS (VmHWM) is the worker's alone. Health recompute is
    excluded: the child replaces `ingest.services.health_refresh` with a no-op;
R4  django-import-export with the maintainers' bulk settings on the first --r4-rows rows,
    extrapolated linearly to N.
(Workbooks are timed by bench/xlsx.py.)
R0 and R0c stream the file through psycopg's COPY on Django's own connection (as R2 does): no
client program to find, and it reaches whichever server DATABASE_URL names, the embedded one's
socket included. Prints medians, rows/s, the ratios and whether the targets are met (R2 <= 2x
R0c's time, R2 >= 20x R4's rows/s, R2 peak RSS < 300 MB), then removes the tenant, tables, files.
`--profile` instead runs R2 once under cProfile and prints its top functions by own time, then
its slowest SQL statements (most of R2's time is spent waiting on PostgreSQL).
Runs with DEBUG off, so Django does not keep every query.

Run: `python bench/ingest.py [--rows 1000000] [--runs 3] [--r4-rows 100000]`.
"""

import argparse
import cProfile
import datetime
import json
import os
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

import tablib  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402
from import_export import fields, resources, widgets  # noqa: E402

import ingest.services  # noqa: E402
from ingest.models import SalesRecord, Upload  # noqa: E402
from kpis.models import Account  # noqa: E402
from playbooks.services import catalog_sync  # noqa: E402
from tenants.models import Plan, Tenant  # noqa: E402
from tenants.services import (  # noqa: E402
    AdminSpec,
    base_schema_ensure,
    public_tenant_ensure,
    tenant_provision,
)

SLUG = "bench-ingest"
FLOOR = "public.bench_floor"
# In the scratch tenant's schema, so that its foreign key points at that tenant's accounts.
FLOOR_SALES = "bench_floor_sales"
SALES_COLUMNS = "account_id, date, user_id, product_name, quantity, unit_price, total_amount, region, upload_id, created_at, updated_at"
HEADER = ("date", "user_id", "product_name", "quantity", "unit_price", "total_amount", "region", "account")
ACCOUNTS, USERS, PRODUCTS, DAYS = 500, 20_000, 50, 365
REGIONS = ("EMEA", "NA", "APAC", "LATAM")
BAD_SHARE, DUPLICATE_SHARE = 0.02, 0.05
BAD_KINDS = ("total mismatch", "quantity 0", "future date", "missing product")
DUPLICATE_WINDOW = 10_000  # duplicates copy one of the last N good rows: bounded memory
TARGET_FLOOR_RATIO, TARGET_R4_RATIO, TARGET_RSS_MB = 2.0, 20.0, 300.0
CHUNK = 1024 * 1024
SLOWEST_STATEMENTS = 15
CHILD_TIMEOUT_S = 3600  # an R2 worker that hangs is killed rather than waited for


def timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


# --- the file ------------------------------------------------------------------------------------


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _good_row(rng: random.Random, dates: list[str], prices: list[int]) -> list[str]:
    product = rng.randrange(PRODUCTS)
    quantity = rng.randint(1, 20)
    return [
        rng.choice(dates),
        f"user-{rng.randrange(USERS):05d}",
        f"Product {product:02d}",
        str(quantity),
        _money(prices[product]),
        _money(prices[product] * quantity),
        rng.choice(REGIONS),
        f"acct-{rng.randint(1, ACCOUNTS):04d}",
    ]


def _spoil(rng: random.Random, row: list[str], kind: str, today: datetime.date) -> list[str]:
    if kind == "total mismatch":
        row[5] = _money(round(float(row[5]) * 100) + rng.randint(100, 5_000))
    elif kind == "quantity 0":
        row[3] = "0"
    elif kind == "future date":
        row[0] = (today + datetime.timedelta(days=rng.randint(2, 60))).isoformat()
    else:
        row[2] = ""
    return row


def generate_csv(path: Path, rows: int, seed: int = 42) -> dict[str, int]:
    """Write the file; returns how many rows of each bad kind and duplicates it holds."""
    rng, today = random.Random(seed), timezone.localdate()
    dates = [(today - datetime.timedelta(days=d)).isoformat() for d in range(1, DAYS)]
    prices = [rng.randint(500, 50_000) for _ in range(PRODUCTS)]
    counts = dict.fromkeys((*BAD_KINDS, "duplicate"), 0)
    window, good = [""] * DUPLICATE_WINDOW, 0
    with open(path, "w", newline="") as out:
        out.write(",".join(HEADER) + "\n")
        for _ in range(rows):
            draw = rng.random()
            if draw < DUPLICATE_SHARE and good:
                line, kind = window[rng.randrange(min(good, DUPLICATE_WINDOW))], "duplicate"
            elif draw < DUPLICATE_SHARE + BAD_SHARE:
                kind = rng.choice(BAD_KINDS)
                line = ",".join(_spoil(rng, _good_row(rng, dates, prices), kind, today)) + "\n"
            else:
                line, kind = ",".join(_good_row(rng, dates, prices)) + "\n", None
                window[good % DUPLICATE_WINDOW] = line
                good += 1
            if kind:
                counts[kind] += 1
            out.write(line)
    return counts


# --- scratch tenant ------------------------------------------------------------------------------

ACCOUNTS_SQL = """
    INSERT INTO kpis_account
        (external_id, name, revenue, industry, region, status, renewal_date, owner, created_at, updated_at)
    SELECT 'acct-' || lpad(i::text, 4, '0'), 'Bench account ' || lpad(i::text, 4, '0'),
           10000 + i * 500, 'SaaS', (ARRAY['EMEA', 'NA', 'APAC', 'LATAM'])[1 + i %% 4],
           'active', NULL, '', now(), now()
    FROM generate_series(1, %s) AS i
"""


def tenant_setup() -> None:
    """The scratch tenant, on the largest plan so the upload quota never interferes."""
    tenant_provision(
        name="Bench ingest",
        slug=SLUG,
        admin=AdminSpec("Bench", "bench@example.com", "bench-password-1234"),
        plan=Plan.objects.filter(name="enterprise").first(),
    )
    with schema_context(SLUG), connection.cursor() as cursor:
        cursor.execute(ACCOUNTS_SQL, [ACCOUNTS])


def tenant_reset() -> None:
    """What a previous R2 or R4 run loaded goes, so every run starts from the same state."""
    with schema_context(SLUG), connection.cursor() as cursor:
        cursor.execute("TRUNCATE ingest_salesrecord, ingest_uploaderror")
        cursor.execute("DELETE FROM kpis_kpivalue WHERE source LIKE %s", ["sales:%"])


def cleanup() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR}")
    Tenant.objects.filter(schema_name=SLUG).delete()


# --- R0 and R0c: the floors ---------------------------------------------------------------------


def copy_in(sql: str, path: Path) -> None:
    """Stream the file to `COPY … FROM STDIN`, as the pipeline sends its uploads."""
    with connection.cursor() as cursor, open(path, "rb") as handle, cursor.cursor.copy(sql) as copy:
        while chunk := handle.read(CHUNK):
            copy.write(chunk)


def copy_timed(table: str, sql: str, path: Path) -> tuple[float, int]:
    """Empty `table`, then one timed COPY (autocommit: its commit, and the deferred foreign-key
    checks that come with it, are in the time); returns (seconds, rows in the table)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
    seconds, _ = timed(copy_in, sql, path)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return seconds, cursor.fetchone()[0]


def floor_create() -> None:
    columns = ", ".join(f"{name} text" for name in HEADER)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR}")
        cursor.execute(f"CREATE UNLOGGED TABLE {FLOOR} ({columns})")


def floor_run(path: Path) -> tuple[float, int]:
    return copy_timed(FLOOR, f"COPY {FLOOR} FROM STDIN (FORMAT csv, HEADER true)", path)


def floor_sales_create(path: Path) -> None:
    """The sales table's twin (columns, defaults, checks, primary key, unique natural key, and its
    foreign keys as the table declares them), and in `path` the rows R2 stored, as COPY text, in
    an order unrelated to the natural key (as the file's rows are)."""
    with schema_context(SLUG), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {FLOOR_SALES} (LIKE ingest_salesrecord INCLUDING ALL)")
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'ingest_salesrecord'::regclass AND contype = 'f'"
        )
        for (definition,) in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {FLOOR_SALES} ADD {definition}")
        query = f"SELECT {SALES_COLUMNS} FROM ingest_salesrecord ORDER BY md5(id::text)"
        with open(path, "wb") as out, cursor.cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
            for block in copy:
                out.write(block)


def floor_sales_run(path: Path) -> tuple[float, int]:
    with schema_context(SLUG):
        return copy_timed(FLOOR_SALES, f"COPY {FLOOR_SALES} ({SALES_COLUMNS}) FROM STDIN", path)


# --- R2: Pulse, in a child process ---------------------------------------------------------------


def _no_health_refresh(**_kwargs) -> int:
    return 0


def _peak_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024  # kB


def _pipeline(path: Path) -> tuple[float, float, Upload]:
    tenant = Tenant.objects.get(schema_name=SLUG)
    with schema_context(SLUG), open(path, "rb") as handle:
        started = time.perf_counter()
        upload = ingest.services.upload_receive(
            fileobj=handle,
            request=ingest.services.UploadRequest(
                tenant=tenant,
                original_name=path.name,
                kind="sales",
                acting_role="admin",
                via=Upload.Via.COMMAND,
            ),
        )
        received = time.perf_counter()
        upload = ingest.services.upload_process(upload_id=upload.pk)
        return received - started, time.perf_counter() - received, upload


def _timed_listeners(figures: dict) -> None:
    """Post-load listeners (playbook triggers) stay in R2; their share is reported apart."""
    signal, send = ingest.services.data_loaded, ingest.services.data_loaded.send

    def timed_send(*args, **kwargs):
        started = time.perf_counter()
        try:
            return send(*args, **kwargs)
        finally:
            figures["listeners_s"] += time.perf_counter() - started

    signal.send = timed_send


def _statement_timer(statements: list[tuple[float, str]]):
    """A Django execute wrapper noting each statement's seconds: cProfile sees only the wait."""

    def timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((time.perf_counter() - started, " ".join(sql.split())))

    return timer


def _print_statements(statements: list[tuple[float, str]]) -> None:
    total = sum(seconds for seconds, _ in statements)
    print(f"\n{len(statements)} SQL statements through Django, {total:.2f} s; the slowest:", file=sys.stderr)
    for seconds, sql in sorted(statements, reverse=True)[:SLOWEST_STATEMENTS]:
        print(f"{seconds:8.3f}  {sql[:150]}", file=sys.stderr)


def _profiled_pipeline(path: Path) -> tuple[float, float, Upload]:
    """_pipeline under cProfile and the statement timer; prints both to stderr."""
    profiler, statements = cProfile.Profile(), []
    with connection.execute_wrapper(_statement_timer(statements)):
        profiler.enable()
        figures = _pipeline(path)
        profiler.disable()
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    _print_statements(statements)
    return figures


def r2_child(path: Path, media: Path, profile: bool) -> None:
    """The worker's side: one upload end to end, figures as one JSON line on stdout."""
    ingest.services.health_refresh = _no_health_refresh  # health recompute is excluded
    settings.MEDIA_ROOT = str(media)
    figures = {"listeners_s": 0.0}
    _timed_listeners(figures)
    receive_s, process_s, upload = (_profiled_pipeline if profile else _pipeline)(path)
    figures |= {
        "receive_s": receive_s,
        "process_s": process_s,
        "peak_rss_mb": _peak_rss_mb(),
        "status": upload.status,
        "message": upload.message,
        **{
            key: getattr(upload, key) for key in ("rows_read", "inserted", "updated", "unchanged", "rejected")
        },
    }
    print(json.dumps(figures))


def r2_run(path: Path, media: Path, profile: bool = False) -> dict:
    tenant_reset()
    command = [sys.executable, __file__, "--r2-child", "--csv", str(path), "--media", str(media)]
    command += ["--profile"] if profile else []
    child = subprocess.run(command, check=True, stdout=subprocess.PIPE, timeout=CHILD_TIMEOUT_S)
    shutil.rmtree(media, ignore_errors=True)  # the stored copy of the upload
    figures = json.loads(child.stdout.decode().strip().splitlines()[-1])
    if figures["status"] != Upload.Status.COMPLETED:
        raise SystemExit(f"R2 upload {figures['status']}: {figures['message']}")
    figures["seconds"] = figures["receive_s"] + figures["process_s"]
    return figures


# --- R4: django-import-export --------------------------------------------------------------------


class SalesResource(resources.ModelResource):
    """A plain resource, configured as the maintainers' "Bulk imports" page recommends."""

    account = fields.Field(
        attribute="account", column_name="account", widget=widgets.ForeignKeyWidget(Account, "external_id")
    )

    class Meta:
        model = SalesRecord
        fields = HEADER
        use_bulk = True
        batch_size = 1000
        skip_diff = True
        skip_html_diff = True
        force_init_instance = True
        skip_unchanged = False
        use_transactions = True


def _head_text(path: Path, rows: int) -> str:
    with open(path) as handle:
        return "".join(line for _, line in zip(range(rows + 1), handle, strict=False))


def _import(text: str) -> object:
    dataset = tablib.Dataset().load(text, format="csv")
    return SalesResource().import_data(dataset, dry_run=False)


def r4_run(path: Path, rows: int) -> dict:
    """tablib load + import_data on the first `rows` rows, timed together."""
    tenant_reset()
    text = _head_text(path, rows)
    with schema_context(SLUG):
        seconds, result = timed(_import, text)
        stored = SalesRecord.objects.count()
    return {"seconds": seconds, "stored": stored, "failed_batches": len(result.base_errors)}


# --- report --------------------------------------------------------------------------------------

ROW = "{:<34}{:>11}{:>11}{:>12}"


def line(label: str, rows: int, seconds: float) -> str:
    return ROW.format(label, f"{rows:,}", f"{seconds:.2f}", f"{rows / seconds:,.0f}")


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def report(rows: int, floors: dict, r2: list, r4: list, r4_rows: int) -> None:
    floor_s = statistics.median(s for s, _ in floors["r0"])
    floor_c_s, valid = statistics.median(s for s, _ in floors["r0c"]), floors["r0c"][0][1]
    pulse_s = statistics.median(f["seconds"] for f in r2)
    r4_s = statistics.median(f["seconds"] for f in r4)
    scale = rows / r4_rows
    peak = max(f["peak_rss_mb"] for f in r2)
    time_ratio, speed_ratio = pulse_s / floor_c_s, (rows / pulse_s) / (r4_rows / r4_s)
    print(f"\nmedians of {len(r2)} run(s) for R0, R0c and R2, {len(r4)} for R4")
    print(ROW.format("", "rows", "seconds", "rows/s"))
    print(line("R0 COPY, unlogged text (floor)", rows, floor_s))
    print(line("R0c COPY valid rows, sales twin", valid, floor_c_s))
    print(line("R2 Pulse upload end to end", rows, pulse_s))
    print(line(f"R4 import-export ({r4_rows:,} rows)", r4_rows, r4_s))
    print(line("R4 import-export (extrapolated)", rows, r4_s * scale))
    print(f"R2/R0 time: {pulse_s / floor_s:.2f}x (the raw floor, for reference)")
    print(
        f"R2/R0c time: {time_ratio:.2f}x   target <= {TARGET_FLOOR_RATIO:.0f}x: {verdict(time_ratio <= TARGET_FLOOR_RATIO)}"
    )
    print(
        f"R2/R4 rows/s: {speed_ratio:.1f}x   target >= {TARGET_R4_RATIO:.0f}x: {verdict(speed_ratio >= TARGET_R4_RATIO)}"
    )
    print(
        f"R2 worker peak RSS: {peak:.0f} MB   target < {TARGET_RSS_MB:.0f} MB: {verdict(peak < TARGET_RSS_MB)}"
    )


def print_r2(figures: dict) -> None:
    print(
        f"  R2 {figures['seconds']:.2f} s (receive {figures['receive_s']:.2f} + process {figures['process_s']:.2f}, "
        f"of which post-load listeners {figures['listeners_s']:.2f}), read {figures['rows_read']:,}, "
        f"inserted {figures['inserted']:,}, rejected {figures['rejected']:,}, peak RSS {figures['peak_rss_mb']:.0f} MB"
    )


def floors_run(path: Path, valid_path: Path, runs: int) -> dict:
    """R0 and R0c, `runs` times each; R0c loads what the last R2 run stored."""
    floor_sales_create(valid_path)
    floors = {"r0": [], "r0c": []}
    for _ in range(runs):
        floors["r0"].append(floor_run(path))
        floors["r0c"].append(floor_sales_run(valid_path))
    for (seconds, loaded), (seconds_c, loaded_c) in zip(floors["r0"], floors["r0c"], strict=True):
        print(f"  R0 {seconds:.2f} s, {loaded:,} rows in {FLOOR}; R0c {seconds_c:.2f} s, {loaded_c:,} rows")
    return floors


def run_all(path: Path, folder: Path, args) -> None:
    floor_create()
    print("R2: ingest.services.health_refresh patched to a no-op in the worker (health recompute excluded)")
    r2 = [r2_run(path, folder / "media") for _ in range(args.runs)]
    for figures in r2:
        print_r2(figures)
    floors = floors_run(path, folder / "valid.copy", args.runs)
    r4 = [r4_run(path, min(args.r4_rows, args.rows)) for _ in range(args.runs_r4)]
    for figures in r4:
        print(
            f"  R4 {figures['seconds']:.2f} s: {figures['failed_batches']} bulk batch(es) failed on duplicate keys, "
            f"so import_data rolled the import back ({figures['stored']:,} rows stored)"
        )
    report(args.rows, floors, r2, r4, min(args.r4_rows, args.rows))


def run(args) -> None:
    base_schema_ensure()
    catalog_sync(schema_name=settings.TENANT_BASE_SCHEMA)  # new tenants clone it, catalogs included
    public_tenant_ensure()
    cleanup()
    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        path = folder / "sales.csv"
        seconds, counts = timed(generate_csv, path, args.rows)
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in counts.items())
        print(
            f"generated {args.rows:,} rows ({path.stat().st_size / 2**20:.0f} MB) in {seconds:.1f} s: {kinds}"
        )
        tenant_setup()
        if args.profile:
            print_r2(r2_run(path, folder / "media", profile=True))
        else:
            run_all(path, folder, args)
    finally:
        cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the file (default 1000000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of R0, R0c and R2 (default 3)")
    parser.add_argument("--runs-r4", type=int, default=1, help="runs of R4 (default 1)")
    parser.add_argument("--r4-rows", type=int, default=100_000, help="rows R4 imports (default 100000)")
    parser.add_argument("--profile", action="store_true", help="only profile one R2 run (cProfile, tottime)")
    parser.add_argument("--r2-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--media", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.r2_child:
        r2_child(arguments.csv, arguments.media, arguments.profile)
    else:
        run(arguments)
