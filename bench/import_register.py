"""import_register and export_register against PostgreSQL's own bulk paths on the same file.

The baseline for the import is psql's `\\copy` into a plain table plus `ADD PRIMARY KEY`; for
the export, psql's `\\copy (SELECT …) TO` of the same rows. The import is measured twice a
round, each time right after a baseline of its own: into an empty register, and into a live
one, already holding BENCH_IMPORT_LIVE numbers (default 100,000), a tenth of them in the file
too (those lines are skipped as registered). Runs in a scratch database of its own,
BENCH_IMPORT_DATABASE (default `dnc_bench_import`), never the developer's: it empties the
register between runs. BENCH_IMPORT_ROWS sets the file size (default 10,000,000),
BENCH_IMPORT_ROUNDS how many rounds (default 3): the machine is shared, so one figure alone
says little, and the medians are printed last.
"""

import logging
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from statistics import median

from django.db import connection
from django_scopes import scopes_disabled

from bench.common import nl_register_file, use_scratch_database


def _psql(database: str, *commands: str) -> None:
    settings = connection.settings_dict
    arguments = ["psql", "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "-d", database]
    if settings.get("HOST"):
        arguments += ["-h", settings["HOST"]]
    if settings.get("PORT"):
        arguments += ["-p", str(settings["PORT"])]
    if settings.get("USER"):
        arguments += ["-U", settings["USER"]]
    for command in commands:
        arguments += ["-c", command]
    subprocess.run(arguments, check=True, env={**os.environ, "PGPASSWORD": settings["PASSWORD"]})


def _empty_register() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE register_blockednumber, register_registerevent, register_registerimport"
        )
        cursor.execute("CHECKPOINT")


class _Phases(logging.Handler):
    """Collects the phase timings register.bulk logs as (phase, seconds)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.phases: list[tuple[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.phases.append(record.args)

    def summary(self, total: float) -> str:
        # What no phase covers is mostly the commit.
        rest = total - sum(seconds for _name, seconds in self.phases)
        return ", ".join(
            f"{name} {seconds:.1f} s" for name, seconds in [*self.phases, ("commit", rest)]
        )


def _baseline(database: str, path, *, keep: bool = False) -> float:
    """Seconds psql takes to copy the file at `path` into a table and add its primary key; the
    table is kept, as `bench_baseline`, when asked."""
    _psql(database, "DROP TABLE IF EXISTS bench_baseline", "CHECKPOINT")
    started = time.perf_counter()
    _psql(
        database,
        "CREATE TABLE bench_baseline (number bigint, registered_on date, categories text)",
        f"\\copy bench_baseline FROM '{path}' (FORMAT csv, DELIMITER ';')",
        "ALTER TABLE bench_baseline ADD PRIMARY KEY (number)",
    )
    seconds = time.perf_counter() - started
    if not keep:
        _psql(database, "DROP TABLE bench_baseline")
    return seconds


@contextmanager
def phases_logged(phases: _Phases) -> Iterator[None]:
    """register.bulk's phase timings go to `phases` (emptied first) while the block runs."""
    from register.bulk import logger

    phases.phases.clear()
    logger.addHandler(phases)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(phases)
        logger.propagate = True


def _seed_live(register, count: int, rows: int) -> int:
    """Make the register a live one: `count` numbers registered over the web, in no order,
    a tenth of them also in the file (spread over it), the rest not in it; the file is the
    baseline's table, dropped here. Returns how many of the file's numbers it holds."""
    in_file = count // 10
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.5)")
        # The others are mobile numbers of the file's prefixes, 31 6 1… to 31 6 5….
        cursor.execute(
            """
            INSERT INTO register_blockednumber
                (number, register_id, categories, registered_on, channel, email)
            SELECT number, %(register)s, 1 + (number %% 7),
                   DATE '2020-01-01' + (number %% 2000)::int, 'web',
                   'seed' || number || '@example.org'
            FROM (
                (SELECT number FROM bench_baseline TABLESAMPLE BERNOULLI (%(percent)s)
                 REPEATABLE (1) LIMIT %(in_file)s)
                UNION ALL
                (SELECT DISTINCT candidate FROM (
                    SELECT 31610000000 + (random() * 49999999)::bigint AS candidate
                    FROM generate_series(1, %(candidates)s)
                ) AS candidates
                WHERE NOT EXISTS (SELECT FROM bench_baseline WHERE number = candidate)
                LIMIT %(others)s)
            ) AS seed (number)
            ORDER BY random()
            """,
            {
                "register": register.pk,
                "in_file": in_file,
                # Half as many again as needed, whatever the file's size.
                "percent": min(100.0, 150.0 * in_file / rows),
                "candidates": 2 * count,
                "others": count - in_file,
            },
        )
        if cursor.rowcount != count:
            raise AssertionError(f"seeded {cursor.rowcount} numbers of {count}")
        cursor.execute("DROP TABLE bench_baseline")
        cursor.execute("VACUUM ANALYZE register_blockednumber")
        cursor.execute("CHECKPOINT")
    return in_file


def _import(register, path, rows: int, phases: _Phases, *, live: int) -> float:
    """Seconds to import the file at `path` into the register, emptied first, then holding
    `live` numbers when not 0 (made from the baseline's table, kept for it)."""
    from register.bulk import SkipReason, register_import

    _empty_register()
    registered = _seed_live(register, live, rows) if live else 0
    started = time.perf_counter()
    with phases_logged(phases), path.open("rb") as source:
        report = register_import(register=register, source=source)
    seconds = time.perf_counter() - started
    if (
        report.loaded != rows - registered
        or report.skipped_total != registered
        or report.skipped[SkipReason.REGISTERED] != registered
    ):
        raise AssertionError(f"loaded {report.loaded} of {rows}, skipped {report.skipped}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM register_blockednumber")
        if cursor.fetchone()[0] != rows - registered + live:
            raise AssertionError("the register does not hold the file and the live numbers")
    return seconds


def _exports(database: str, register) -> tuple[float, float]:
    from register.bulk import register_export

    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        _psql(
            database,
            f"\\copy (SELECT number, registered_on, categories FROM register_blockednumber"
            f" WHERE register_id = {register.pk} ORDER BY number)"
            f" TO '{scratch}/psql.txt' (FORMAT csv, DELIMITER ';')",
        )
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        with open(f"{scratch}/export.txt", "wb") as sink:
            register_export(register=register, sink=sink)
        return baseline, time.perf_counter() - started


def run() -> Iterator[str]:
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", 10_000_000))
    rounds = int(os.environ.get("BENCH_IMPORT_ROUNDS", 3))
    live = int(os.environ.get("BENCH_IMPORT_LIVE", 100_000))
    database = use_scratch_database(os.environ.get("BENCH_IMPORT_DATABASE", "dnc_bench_import"))
    path = nl_register_file(rows)

    from register.models import Register

    with scopes_disabled():
        register = Register.objects.get(slug="nl")
    yield f"{rows:,} Dutch numbers, {path.stat().st_size / 1e6:.0f} MB"
    cases = [("empty", 0, 1.2), (f"live ({live:,} numbers)", live, 1.5)]
    ratios: dict[str, list[tuple[float, float]]] = {name: [] for name, _live, _aim in cases}
    phases = _Phases()
    for round_ in range(1, rounds + 1):
        for name, numbers, aim in cases:
            baseline = _baseline(database, path, keep=bool(numbers))
            imported = _import(register, path, rows, phases, live=numbers)
            ratios[name].append((baseline, imported))
            yield from [
                f"round {round_}, {name}: baseline psql \\copy + ADD PRIMARY KEY "
                f"{baseline:.1f} s, import_register {imported:.1f} s: "
                f"{imported / baseline:.2f}x (aim at most {aim}x); "
                f"load average {os.getloadavg()[0]:.1f}",
                f"  phases: {phases.summary(imported)}; peak memory of the process so far "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
            ]
    for name, _live, aim in cases:
        baseline = median(b for b, _i in ratios[name])
        imported = median(i for _b, i in ratios[name])
        ratio = median(i / b for b, i in ratios[name])
        yield (
            f"median of {rounds}, {name}: baseline {baseline:.1f} s, import_register "
            f"{imported:.1f} s, ratio {ratio:.2f}x (aim at most {aim}x)"
        )
    # The last round's import is still there to export.
    with scopes_disabled():
        psql_export, export = _exports(database, register)
    yield (
        f"export: psql \\copy (SELECT …) TO {psql_export:.1f} s, "
        f"export_register {export:.1f} s: {export / psql_export:.2f}x"
    )
    _empty_register()
