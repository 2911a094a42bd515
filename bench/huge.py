"""A US-size register (issue #15, item 4): opt-in with BENCH_HUGE=1, never part of CI.

The largest register in the world, the US National Do Not Call Registry, holds about 250 million
numbers: 25 times this bench's usual 10 million, and more than the Dutch number plan has. So the
register here is a US one, a row like any register an operator adds (country US, one full block,
charged in credits), in a scratch database of its own, `dnc_bench_huge`. In one run:

- the free disk space is checked first, on PostgreSQL's data directory and on var/bench; the
  bench says what it needs and stops if it is short;
- a file of about BENCH_HUGE_ROWS (default 250,000,000) distinct US numbers, one per line in
  E.164 digits with the day it was registered (as a register moving to this portal brings its
  numbers), in no order: every area code and exchange libphonenumber holds for fixed or mobile
  lines, each line number taken with the same chance (cached in var/bench);
- psql's `\\copy` of the file into a table of its two columns plus `ADD PRIMARY KEY` (the
  baseline, its table dropped after), then `register_import` of the same file into the empty
  register: both times, the ratio (target at most 1.5x) and the import's phases;
- PostgreSQL's sizes of the register's table and primary key;
- a scrub of 1,000,000 messy rows, a quarter of them registered numbers, through the upload and
  a real Celery worker (bench.marking's), end to end and job time;
- single checks from 8 keep-alive clients and 1,000-number batches against the Procfile's
  gunicorn (bench.checks'), each check charging one credit;
- a full download built as the worker builds it, next to psql's `\\copy` of the same query;
- a delta of 100,000 changes made as the website makes them (half blocks, half unblocks).

Run it alone: `BENCH_HUGE=1 .venv/bin/python -m bench huge`. The register is kept between runs
(imported again only when its size differs); the files the bench writes are removed.
"""

import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from django.db import connection
from django.utils import timezone
from django_scopes import scopes_disabled

from bench.common import BENCH_DIR, use_scratch_database

DATABASE = "dnc_bench_huge"
HOST = "us.localhost"
# Disk per register number, from the row layouts: in the database the register's row and key
# (about 100 bytes) and room for WAL (the baseline's table and key, about 60, are dropped before
# the import); in var/bench the file (23) and the full download and psql's copy of it (about 25
# each).
BYTES_PER_NUMBER = {"database": 140, "files": 70}
CHANGES = 100_000
SCRUB_ROWS = 1_000_000


def _us_blocks() -> np.ndarray:
    """Every US area code and exchange (as 1NPANXX) whose numbers libphonenumber holds valid
    fixed or mobile lines; a number's type in the US follows from these seven digits."""
    import phonenumbers
    from phonenumbers import PhoneNumberType

    lines = {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
    blocks = []
    for npa in range(200, 1000):
        for nxx in range(200, 1000):
            number = phonenumbers.parse(f"+1{npa}{nxx}4567")
            # +1 is also Canada's and the Caribbean's: their numbers are foreign to a US register.
            if (
                phonenumbers.number_type(number) in lines
                and phonenumbers.region_code_for_number(number) == "US"
            ):
                blocks.append(1_000_000 + npa * 1_000 + nxx)
    return np.array(blocks, dtype=np.int64)


# A line: the number's 11 digits, ";", the day it was registered (YYYY-MM-DD), a line break.
LINE_BYTES = 23
# Registration days: since the US register opened (2003), one in a spread of 8,000 days.
_DAYS = np.array(
    [
        np.frombuffer(str(np.datetime64("2003-06-27") + day).encode(), dtype=np.uint8)
        for day in range(8_000)
    ]
)


def _write_lines(out, numbers: np.ndarray, days: np.ndarray) -> None:
    """`numbers` (11 digits each) and their days as ASCII lines, without formatting them one by
    one."""
    text = np.empty((len(numbers), LINE_BYTES), dtype=np.uint8)
    rest = numbers.copy()
    for column in range(10, -1, -1):
        text[:, column] = rest % 10 + ord("0")
        rest //= 10
    text[:, 11] = ord(";")
    text[:, 12:22] = _DAYS[days]
    text[:, 22] = ord("\n")
    out.write(text.tobytes())


def us_register_file(rows: int, blocks: np.ndarray) -> tuple[Path, int]:
    """The register file and how many numbers it holds (about `rows`), cached in var/bench."""
    path = BENCH_DIR / f"register-us-{rows}.txt"
    if path.exists():
        return path, path.stat().st_size // LINE_BYTES
    capacity = len(blocks) * 10_000
    if rows > capacity:
        raise ValueError(f"{rows:,} numbers asked; the US plan here holds {capacity:,}")
    # Each candidate is kept when a multiplicative hash of it falls below the share asked for.
    threshold = np.uint64(int(rows / capacity * 2**32))
    kept = []
    lines = np.arange(10_000, dtype=np.int64)
    for start in range(0, len(blocks), 1_000):
        candidates = (blocks[start : start + 1_000, None] * 10_000 + lines).ravel()
        mixed = (candidates.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)
        kept.append(candidates[mixed < threshold])
    numbers = np.concatenate(kept)
    del kept
    np.random.default_rng(rows).shuffle(numbers)
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    days = np.random.default_rng(rows + 1)
    with partial.open("wb") as out:
        for start in range(0, len(numbers), 10_000_000):
            chunk = numbers[start : start + 10_000_000]
            _write_lines(out, chunk, days.integers(0, len(_DAYS), len(chunk)))
    partial.rename(path)
    return path, len(numbers)


def _sample(path: Path, count: int) -> list[str]:
    """`count` registered numbers: the file is in no order, so its first lines will do."""
    with path.open("rb") as source:
        return [source.readline()[:11].decode() for _n in range(count)]


def _free_bytes(directory: str) -> int:
    return shutil.disk_usage(directory).free


def _disk_check(rows: int) -> str | None:
    """What is missing, or None."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        data_directory = cursor.fetchone()[0]
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    needs = {
        data_directory: rows * BYTES_PER_NUMBER["database"],
        str(BENCH_DIR): rows * BYTES_PER_NUMBER["files"],
    }
    if os.stat(data_directory).st_dev == os.stat(BENCH_DIR).st_dev:
        needs = {data_directory: sum(needs.values())}
    short = [
        f"{directory} has {_free_bytes(directory) / 1e9:.0f} GB free, needs {need / 1e9:.0f} GB"
        for directory, need in needs.items()
        if _free_bytes(directory) < need
    ]
    return "; ".join(short) or None


def _us_register():
    """The bench's US register with a host, a company, a campaign and credits to spare."""
    from campaigns.models import Campaign
    from licences.models import Company, CreditAccount
    from register.models import Register, RegisterHost

    register, _created = Register.objects.get_or_create(
        slug="us",
        defaults={
            "name": "National Do Not Call Registry (bench)",
            "operator": "Bench",
            "support_email": "bench@example.org",
            "country": "US",
            "time_zone": "America/New_York",
            "languages": ["en"],
        },
    )
    RegisterHost.objects.get_or_create(hostname=HOST, defaults={"register": register})
    company, _created = Company.objects.get_or_create(
        register=register, name="Huge bench Inc.", defaults={"country": "US"}
    )
    campaign, _created = Campaign.objects.get_or_create(
        register=register, company=company, name="Bench", defaults={"purpose": "commercial"}
    )
    CreditAccount.objects.update_or_create(
        campaign=campaign,
        defaults={"register": register, "company": company, "balance": 2_000_000_000},
    )
    return register, company, campaign


def _baseline(path: Path) -> float:
    from bench.import_register import _psql

    _psql(DATABASE, "DROP TABLE IF EXISTS bench_baseline", "CHECKPOINT")
    started = time.perf_counter()
    _psql(
        DATABASE,
        "CREATE TABLE bench_baseline (number bigint, registered_on date)",
        f"\\copy bench_baseline FROM '{path}' (FORMAT csv, DELIMITER ';')",
        "ALTER TABLE bench_baseline ADD PRIMARY KEY (number)",
    )
    seconds = time.perf_counter() - started
    _psql(DATABASE, "DROP TABLE bench_baseline", "CHECKPOINT")
    return seconds


def _import(register, path: Path) -> tuple[float, str]:
    import resource

    from bench.import_register import _Phases, phases_logged
    from register.bulk import register_import

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE register_blockednumber, register_registerevent, register_registerimport"
        )
        cursor.execute("CHECKPOINT")
    phases = _Phases()
    started = time.perf_counter()
    with phases_logged(phases), path.open("rb") as source:
        report = register_import(register=register, source=source)
    seconds = time.perf_counter() - started
    line = (
        f"import_register {seconds:.0f} s: {report.loaded:,} loaded, skipped {report.skipped}; "
        f"phases: {phases.summary(seconds)}; peak memory "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GB"
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE register_blockednumber")
    return seconds, line


def _sizes() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pg_size_pretty(pg_relation_size('register_blockednumber')),
                   pg_size_pretty(pg_indexes_size('register_blockednumber')),
                   pg_size_pretty(pg_total_relation_size('register_blockednumber')),
                   pg_size_pretty(pg_database_size(current_database()))
            """
        )
        table, indexes, total, database = cursor.fetchone()
    return (
        f"PostgreSQL: register table {table}, its indexes {indexes} (total {total}); "
        f"database {database}"
    )


_SHAPES = (
    "({npa}) {nxx}-{line}",
    "+1 {npa} {nxx} {line}",
    "{npa}-{nxx}-{line}",
    "1{npa}{nxx}{line}",
    "{npa}.{nxx}.{line}",
    "+1 ({npa}) {nxx}-{line}",
)
_NAMES = ("John Smith", "María García", "Chloé Dubois", "Wei Zhang", "Aisha Khan", "Liam O'Neil")


def _call_file(rows: int, registered: list[str], blocks: np.ndarray) -> Path:
    """A company's export of `rows` records: a quarter registered numbers, one in sixteen
    invalid, the rest anywhere in the plan, in the shapes people type."""
    from bench.marking import HEADER

    rng = random.Random(rows)
    path = BENCH_DIR / f"calls-us-{rows}.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\r\n")
        for row in range(rows):
            draw = rng.random()
            if draw < 1 / 16:
                phone = rng.choice(("555-0199", "n/a", "+1 800 FLOWERS", "12345"))
            else:
                if draw < 0.25 + 1 / 16:
                    digits = rng.choice(registered)[1:]
                else:
                    digits = f"{int(blocks[rng.randrange(len(blocks))]) % 1_000_000:06d}"
                    digits += f"{rng.randrange(10_000):04d}"
                phone = rng.choice(_SHAPES).format(npa=digits[:3], nxx=digits[3:6], line=digits[6:])
            opt_in = (
                f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
                if row % 5 == 0
                else ""
            )
            name = rng.choice(_NAMES)
            out.write(
                f"{name};{row} Main Street;Springfield;{phone};c{row}@example.com;{opt_in}\r\n"
            )
    return path


def _scrub(company, campaign, calls: Path) -> str:
    from bench.marking import _describe, _forget_files, _mark, _Worker, bench_broker
    from config.celery_app import app

    broker = bench_broker(app)
    app.control.purge()
    worker = _Worker(broker)
    try:
        worker.wait_ready(app)
        marked = _mark(worker, company, campaign, calls, SCRUB_ROWS)
        _forget_files(marked["call_file"])
        return f"scrub of {SCRUB_ROWS:,} rows: {_describe(marked)}"
    finally:
        worker.stop()


def _checks(company, campaign, registered: list[str], blocks: np.ndarray) -> list[str]:
    import statistics

    from bench.checks import CLIENTS, _Client, _free_port, _percentile, _singles, _start_server
    from licences.services import api_key_create

    _key, secret = api_key_create(company=company, name="bench")
    client_company = {"host": HOST, "key": secret, "query": f"?campaign={campaign.pk}"}
    rng = random.Random(0)

    def numbers(count: int) -> list[str]:
        return [
            rng.choice(registered)[1:]
            if rng.random() < 0.5
            else f"{int(blocks[rng.randrange(len(blocks))]) % 1_000_000:06d}"
            f"{rng.randrange(10_000):04d}"
            for _n in range(count)
        ]

    port = _free_port()
    server = _start_server(port, DATABASE)
    try:
        timings, elapsed = _singles(port, client_company, numbers(4_000), 60)
        client = _Client(port, client_company)
        client.batch(numbers(1_000), client_company["query"])
        batches = [client.batch(numbers(1_000), client_company["query"]) for _n in range(20)]
        client.connection.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return [
        f"single check, {CLIENTS} clients, {len(timings)} requests: "
        f"p50 {_percentile(timings, 0.5) * 1000:.1f} ms, "
        f"p99 {_percentile(timings, 0.99) * 1000:.1f} ms; {len(timings) / elapsed:.0f} checks/s",
        f"batch of 1,000, one client: median {statistics.median(batches) * 1000:.1f} ms, "
        f"worst {max(batches) * 1000:.1f} ms",
    ]


def _full_download(register, company) -> str:
    from bench.download import _download, _psql_copy, _sha256

    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as scratch:
        psql = _psql_copy(register, Path(scratch) / "psql.txt")
        built = _download(register, company)
        same = _sha256(Path(scratch) / "psql.txt") == built["sha256"]
        Path(built["path"]).unlink()
    return (
        f"full download {built['seconds']:.0f} s ({built['rows']:,} rows, "
        f"{built['size'] / 1e9:.1f} GB), psql \\copy … TO STDOUT {psql:.0f} s: "
        f"{built['seconds'] / psql:.2f}x, same bytes: {same}; peak RSS {built['peak_mb']:.0f} MB"
    )


def _changes(register, registered: list[str], blocks: np.ndarray) -> None:
    """CHANGES changes as the website writes them: half new blocks, half unblocks, each with
    its event."""
    rng = random.Random(1)
    removed = [int(number) for number in registered[: CHANGES // 2]]
    added = {
        int(blocks[rng.randrange(len(blocks))]) * 10_000 + rng.randrange(10_000)
        for _n in range(CHANGES)
    }
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM register_blockednumber WHERE number = ANY(%s)", [removed])
        cursor.execute(
            """
            INSERT INTO register_registerevent (register_id, number, action, channel, occurred_at)
            SELECT %s, number, 'unblock', 'web', now()
            FROM unnest(%s::bigint[]) AS number
            """,
            [register.pk, removed],
        )
        cursor.execute(
            """
            WITH new AS (
                INSERT INTO register_blockednumber
                    (number, register_id, categories, registered_on, channel, email)
                SELECT number, %s, 1, current_date, 'web', 'bench@example.org'
                FROM unnest(%s::bigint[]) AS number
                ON CONFLICT (number) DO NOTHING
                RETURNING number
            )
            INSERT INTO register_registerevent
                (register_id, number, action, categories, channel, occurred_at)
            SELECT %s, number, 'block', 1, 'web', now()
            FROM (SELECT number FROM new LIMIT %s) AS chosen
            """,
            [register.pk, list(added), register.pk, CHANGES - len(removed)],
        )


def _delta(register, company, since) -> str:
    from bench.download import _download

    built = _download(register, company, since=since)
    Path(built["path"]).unlink()
    return (
        f"delta of {CHANGES:,} changes: {built['seconds']:.2f} s, "
        f"{built['rows']:,} rows; peak RSS {built['peak_mb']:.0f} MB"
    )


def run() -> Iterator[str]:
    rows = int(os.environ.get("BENCH_HUGE_ROWS", 250_000_000))
    if os.environ.get("BENCH_HUGE") != "1":
        yield f"not run: BENCH_HUGE=1 runs it ({rows:,} numbers; tens of GB of disk, an hour)"
        return
    use_scratch_database(DATABASE)
    short = _disk_check(rows)
    if short:
        yield f"not run, too little disk for {rows:,} numbers: {short}"
        return
    started = time.perf_counter()
    blocks = _us_blocks()
    path, count = us_register_file(rows, blocks)
    yield (
        f"{count:,} US numbers in {len(blocks):,} exchanges, {path.stat().st_size / 1e9:.1f} GB "
        f"(file ready in {time.perf_counter() - started:.0f} s)"
    )
    from register.models import BlockedNumber

    with scopes_disabled():
        register, company, campaign = _us_register()
        if BlockedNumber.objects.filter(register=register).count() < count - CHANGES:
            baseline = _baseline(path)
            yield f"baseline: psql \\copy + ADD PRIMARY KEY {baseline:.0f} s"
            imported, line = _import(register, path)
            yield line
            yield f"import_register / baseline: {imported / baseline:.2f}x (target ≤ 1.5x)"
        else:
            yield "register reused from an earlier run"
        yield _sizes()
        registered = _sample(path, 250_000)
        calls = _call_file(SCRUB_ROWS, registered[CHANGES:], blocks)
        try:
            yield _scrub(company, campaign, calls)
        finally:
            calls.unlink()
        yield from _checks(company, campaign, registered[CHANGES:], blocks)
        yield _full_download(register, company)
        since = timezone.now()
        _changes(register, registered, blocks)
        yield _delta(register, company, since)
