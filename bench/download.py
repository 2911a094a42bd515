"""A full download of 1,000,000 and 10,000,000 numbers against psql's `\\copy … TO STDOUT`.

Each size has a scratch database of its own, `dnc_bench_download_<rows>` (the import bench
empties `dnc_bench` at its start and end), whose nl register is loaded once through
import_register from the file the import benchmark generates and reused by later runs. The
download runs the build task's function in a child process of its own, whose peak resident
memory (VmHWM: ru_maxrss would carry over the forking parent's) is the download's alone; psql
writes the same rows, from the same query, to a file through its standard output.
BENCH_DOWNLOAD_SIZES sets the sizes (default "1000000,10000000"), BENCH_DOWNLOAD_ROUNDS how often
each pair is measured (default 2): the machine is shared, so one figure alone says little.

Run it alone with `python -m bench download`.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection
from django_scopes import scopes_disabled

from bench.common import nl_register_file, use_scratch_database

DATABASE = "dnc_bench_download_{rows}"


def _register_of_size(register, rows: int) -> float | None:
    """Loads the nl register with `rows` numbers unless it holds that many; the seconds taken."""
    from register.bulk import register_import
    from register.models import BlockedNumber

    if BlockedNumber.objects.filter(register=register).count() == rows:
        return None
    path = nl_register_file(rows)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE register_blockednumber, register_registerevent, register_registerimport"
        )
    started = time.perf_counter()
    with path.open("rb") as source:
        report = register_import(register=register, source=source)
    if report.loaded != rows:
        raise AssertionError(f"loaded {report.loaded} of {rows}, skipped {report.skipped}")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE register_blockednumber")
    return time.perf_counter() - started


def _psql_copy(register, target: Path) -> float:
    """psql's `\\copy (the download's own query) TO STDOUT`, its output sent to a file."""
    import psycopg

    from campaigns.downloads.build import full_download_query

    query, params = full_download_query(register)
    database = connection.settings_dict
    with psycopg.ClientCursor(connection.connection) as cursor:
        # \copy takes its command on one line.
        select = " ".join(cursor.mogrify(query, params).split())
    arguments = ["psql", "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "-d", database["NAME"]]
    for option, key in (("-h", "HOST"), ("-p", "PORT"), ("-U", "USER")):
        if database.get(key):
            arguments += [option, str(database[key])]
    arguments += ["-c", f"\\copy ({select}) TO STDOUT (FORMAT csv, DELIMITER ';')"]
    started = time.perf_counter()
    with target.open("wb") as out:
        subprocess.run(
            arguments,
            stdout=out,
            check=True,
            env={**os.environ, "PGPASSWORD": database["PASSWORD"] or ""},
        )
    return time.perf_counter() - started


def _download(register, company, *, since=None) -> dict:
    """Queues a full download (a delta when `since` is given) and builds it in a child process;
    its time, memory and file."""
    from campaigns.models import Download, DownloadKind

    download = Download.objects.create(
        register=register,
        company=company,
        kind=DownloadKind.FULL if since is None else DownloadKind.DELTA,
        since=since,
    )
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.download",
            connection.settings_dict["NAME"],
            str(download.pk),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(child.stdout.splitlines()[-1])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _company(register):
    from licences.models import Company

    company, _created = Company.objects.get_or_create(
        register=register, name="Download bench B.V.", defaults={"country": register.country}
    )
    return company


def run() -> list[str]:
    sizes = [
        int(size) for size in os.environ.get("BENCH_DOWNLOAD_SIZES", "1000000,10000000").split(",")
    ]
    rounds = int(os.environ.get("BENCH_DOWNLOAD_ROUNDS", 2))
    from register.models import Register

    lines = []
    with scopes_disabled(), tempfile.TemporaryDirectory() as scratch:
        for rows in sizes:
            use_scratch_database(DATABASE.format(rows=rows))
            register = Register.objects.get(slug="nl")
            company = _company(register)
            loaded = _register_of_size(register, rows)
            lines.append(
                f"{rows:,} numbers"
                + (f" (loaded by import_register in {loaded:.0f} s)" if loaded else " (reused)")
            )
            ratios = []
            for round_ in range(1, rounds + 1):
                psql = _psql_copy(register, Path(scratch) / "psql.txt")
                built = _download(register, company)
                same = _sha256(Path(scratch) / "psql.txt") == built["sha256"]
                ratios.append(built["seconds"] / psql)
                lines.append(
                    f"  round {round_}: psql \\copy … TO STDOUT {psql:.2f} s, download "
                    f"{built['seconds']:.2f} s ({built['rows']:,} rows, "
                    f"{built['size'] / 1e6:.0f} MB, same bytes as psql: {same}): "
                    f"{ratios[-1]:.2f}x; peak RSS {built['peak_mb']:.0f} MB "
                    f"({built['before_mb']:.0f} MB before the build, "
                    f"+{built['peak_mb'] - built['before_mb']:.1f} MB); "
                    f"load average {os.getloadavg()[0]:.1f}"
                )
                Path(built["path"]).unlink()
            lines.append(f"  best {min(ratios):.2f}x (target at most 2x, aim 1.3x)")
    return lines


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports it in kB)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _build(database: str, download_id: int) -> None:
    """The child: builds one download as the worker would and prints what it measured."""
    import django

    django.setup()
    # The parent migrated: the child's memory before the build is Django's alone.
    use_scratch_database(database, migrate=False)
    from campaigns.downloads.build import download_build

    before = _peak_rss_mb()
    started = time.perf_counter()
    with scopes_disabled():
        download = download_build(download_id=download_id)
    seconds = time.perf_counter() - started
    peak = _peak_rss_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": download.rows,
                "size": download.size,
                "sha256": download.sha256,
                "path": download.file.path,
                "before_mb": before,
                "peak_mb": peak,
            }
        )
    )


if __name__ == "__main__":
    _build(sys.argv[1], int(sys.argv[2]))
