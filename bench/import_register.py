"""import_register and export_register against PostgreSQL's own bulk paths on the same file.

The baseline for the import is psql's `\\copy` into a plain table plus `ADD PRIMARY KEY`; for
the export, psql's `\\copy (SELECT …) TO` of the same rows. Runs in a scratch database of its
own, `dnc_bench_import`, never the developer's: it empties the register between runs.
BENCH_IMPORT_ROWS sets the file size (default 10,000,000), BENCH_IMPORT_ROUNDS how often
baseline and import are measured, one after the other (default 2): the machine is shared, so
one figure alone says little.
"""

import logging
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Iterator

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


def _baseline(database: str, path) -> float:
    _psql(database, "DROP TABLE IF EXISTS bench_baseline", "CHECKPOINT")
    started = time.perf_counter()
    _psql(
        database,
        "CREATE TABLE bench_baseline (number bigint, registered_on date, categories text)",
        f"\\copy bench_baseline FROM '{path}' (FORMAT csv, DELIMITER ';')",
        "ALTER TABLE bench_baseline ADD PRIMARY KEY (number)",
    )
    seconds = time.perf_counter() - started
    _psql(database, "DROP TABLE bench_baseline")
    return seconds


def _import(register, path, rows: int, phases: _Phases) -> float:
    from register.bulk import logger, register_import

    _empty_register()
    phases.phases.clear()
    logger.addHandler(phases)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    started = time.perf_counter()
    try:
        with path.open("rb") as source:
            report = register_import(register=register, source=source)
    finally:
        logger.removeHandler(phases)
        logger.propagate = True
    seconds = time.perf_counter() - started
    if report.loaded != rows or report.skipped_total:
        raise AssertionError(f"loaded {report.loaded} of {rows}, skipped {report.skipped}")
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
    rounds = int(os.environ.get("BENCH_IMPORT_ROUNDS", 2))
    database = use_scratch_database("dnc_bench_import")
    path = nl_register_file(rows)

    from register.models import Register

    with scopes_disabled():
        register = Register.objects.get(slug="nl")
    yield f"{rows:,} Dutch numbers, {path.stat().st_size / 1e6:.0f} MB"
    phases = _Phases()
    for round_ in range(1, rounds + 1):
        baseline = _baseline(database, path)
        imported = _import(register, path, rows, phases)
        yield from [
            f"round {round_}: baseline psql \\copy + ADD PRIMARY KEY {baseline:.1f} s, "
            f"import_register {imported:.1f} s: {imported / baseline:.2f}x "
            f"(target at most 2x, aim 1.5x); load average {os.getloadavg()[0]:.1f}",
            f"  phases: {phases.summary(imported)}; peak memory of the process so far "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
        ]
    # The last round's import is still there to export.
    with scopes_disabled():
        psql_export, export = _exports(database, register)
    yield (
        f"export: psql \\copy (SELECT …) TO {psql_export:.1f} s, "
        f"export_register {export:.1f} s: {export / psql_export:.2f}x"
    )
    _empty_register()
