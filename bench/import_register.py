"""import_register against PostgreSQL's own bulk load of the same file (psql \\copy + primary key).

Runs in the scratch database `dnc_bench`, never the developer's. BENCH_IMPORT_ROWS sets the file
size (default 10,000,000).
"""

import os
import subprocess
import time

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
        cursor.execute("TRUNCATE register_blockednumber, register_registerevent")
        cursor.execute("CHECKPOINT")


def run() -> list[str]:
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", 10_000_000))
    database = use_scratch_database()
    path = nl_register_file(rows)

    from register.bulk import register_import
    from register.models import Register

    _psql(database, "DROP TABLE IF EXISTS bench_baseline", "CHECKPOINT")
    started = time.perf_counter()
    _psql(
        database,
        "CREATE TABLE bench_baseline (number bigint, registered_on date, categories text)",
        f"\\copy bench_baseline FROM '{path}' (FORMAT csv, DELIMITER ';')",
        "ALTER TABLE bench_baseline ADD PRIMARY KEY (number)",
    )
    baseline = time.perf_counter() - started
    _psql(database, "DROP TABLE bench_baseline")

    _empty_register()
    with scopes_disabled():
        register = Register.objects.get(slug="nl")
    started = time.perf_counter()
    with path.open("rb") as source:
        report = register_import(register=register, source=source)
    imported = time.perf_counter() - started
    if report.loaded != rows or report.skipped_total:
        raise AssertionError(f"loaded {report.loaded} of {rows}, skipped {report.skipped}")
    _empty_register()
    return [
        f"{rows:,} Dutch numbers, {path.stat().st_size / 1e6:.0f} MB",
        f"baseline psql \\copy + ADD PRIMARY KEY: {baseline:.1f} s",
        f"import_register (with history events): {imported:.1f} s",
        f"ratio: {imported / baseline:.2f}x (target at most 2x)",
    ]
