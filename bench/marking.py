"""Marking a call file (SPEC §8, issue #4): the real upload and Celery job against DuckDB.

What it measures, in one run of `python -m bench marking`:

- end to end, upload accepted → result ready, of a messy 1,000,000-row call file against a
  10,000,000-number nl register: `campaigns.marking.services.call_file_upload(…, confirm=True)`
  (stores the file, hashes it, detects its dialect and columns, queues the job on commit), then a
  real Celery worker subprocess (solo pool, the scratch database) runs the job while this process
  polls CallFile.status; next to DuckDB reading, normalising, joining and writing the same files;
- the job time (started_at → finished_at) of 100,000 rows;
- the worker's peak resident memory (VmHWM of the worker process, reset through
  /proc/<pid>/clear_refs before each job) for 1,000,000 and 5,000,000 rows.

The call file is a company's export: `naam;straat;plaats;telefoon;email;opt_in` in Windows-1252
with CRLF line endings, names with é and ë, some quoted fields with the delimiter (and doubled
quotes) inside, the phone in the shapes people type (06-12345678, +31 6 1234 5678,
0031612345678, (020) 123 4567, 06.12.34.56.78, +31 (0)6 12345678, 31612345678), about one row in
sixteen invalid, foreign or a service number, a quarter drawn from the register (about a third
registered in all, since the random rest hits registered ranges too), one number in a hundred on
the company's opt-out list, an opt-in date in every fifth row (YYYY-MM-DD or DD-MM-YYYY).

DuckDB, the competitor, gets the same call file, the register as the bench's register file (the
rows import_register loaded; export_register writes the same rows in number order) and the
opt-out numbers as a file, and in one `COPY (…) TO` reads the call file, strips spaces, dots,
dashes, slashes and parentheses (and the "(0)" of +31 (0)6), maps +31…/0031…/31…/0… to E.164
digits, calls 0800/0900/0906/0909 service numbers, other +…/00… numbers foreign and everything
else invalid, parses the opt-in date, joins register and opt-outs, applies the §8.5 rules
(opt-out first, registration covering the campaign's purpose, a later opt-in) and writes the
file with the four columns appended, in the original row order. What it does not check, and our
normaliser does (libphonenumber metadata): whether the number's range exists and its exact
length per range (any 9 national digits starting 1-7 pass), the number types (VoIP, M2M,
company numbers), the other spreadsheet artefacts (apostrophes, ".0", a dropped leading 0), and
foreign numbers' validity; nor does it keep the file's bytes: its writer re-quotes and writes
UTF-8, where ours keeps every original byte and the encoding. It is measured twice: reading the
register from its file (the same files, as the issue asks) and with the register preloaded
into a DuckDB table (as PostgreSQL has it; the load is not timed). A comparison of the two
results row by row says how often the simpler rules disagree.

Sizes: BENCH_MARKING_REGISTER_ROWS (default 10,000,000), BENCH_MARKING_ROWS (the end-to-end
file, default 1,000,000), BENCH_MARKING_SMALL_ROWS (the job-time file, default 100,000),
BENCH_MARKING_MEMORY_ROWS (more files measured for memory, default 5,000,000; empty for none),
BENCH_MARKING_ROUNDS (end-to-end and DuckDB pairs, default 2). The scratch database
`dnc_bench_marking_<register rows>` keeps its register between runs; generated files are cached
in var/bench. The worker uses Redis database BENCH_MARKING_REDIS_DB (default 15) as its broker,
so no other worker on the machine takes the bench's jobs, and var/bench/media-marking as media
root. A realistic 5,000,000-row file is over 400 MB, past CALL_FILE_MAX_BYTES (200 MB): the
bench raises that limit for its own upload and worker.
"""

import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django_scopes import scopes_disabled

from bench.common import BENCH_DIR, nl_register_file, use_scratch_database

DATABASE = "dnc_bench_marking_{rows}"
MEDIA = BENCH_DIR / "media-marking"
PURPOSE = "commercial"
HEADER = "naam;straat;plaats;telefoon;email;opt_in"
PHONE_COLUMN, OPT_IN_COLUMN = 4, 6
# The upload limit for the bench's own files: a 5M-row export of this width is ~450 MB.
MAX_BYTES = 2 * 1024**3
POLL_SECONDS = 0.02
# The first job of a worker also imports and compiles what later jobs reuse: not measured.
WARM_UP_ROWS = 1_000
JOB_TIMEOUT_SECONDS = 1800

_FIRST = ("Jan", "Piet", "Sanne", "Emma", "Daan", "Lotte", "Sem", "Julia", "Bram", "Fleur")
_FIRST += ("Zoë", "Renée", "André", "Noël", "Chloë", "Hélène", "Daniëlle", "José", "Inès", "Eva")
_LAST = ("de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer")
_LAST += ("Mulder", "de Boer", "Dekker", "Brouwer", "van Dijk", "Hendriks", "Peeters", "Janssens")
_STREETS = ("Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsplein", "Julianalaan", "Hoofdstraat")
_STREETS += ("Beatrixstraat", "Schoolstraat", "Café-laan", "Rue de l'Église")
_CITIES = ("Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "'s-Hertogenbosch")
_CITIES += ("Groningen", "Tilburg", "Almere", "Breda", "Nijmegen", "Enschede", "Zoetermeer")
_MOBILE_PREFIXES = tuple(f"316{d}" for d in "12345")
_FIXED_PREFIXES = ("3120", "3110", "3130", "3170", "3140", "3150", "3113", "3158")
# About one row in sixteen is not a Dutch consumer number: invalid, foreign or a service number.
_OTHERS = (
    "06-1234",
    "06 123456789",
    "onbekend",
    "",
    "n.v.t.",
    "0612345",
    "+32 470 {a2} {b2} {c2}",
    "0032 47{n7}",
    "+49 30 {n7}",
    "+44 7400 {n6}",
    "0800-{n4}",
    "0900 {n7}",
)


def _mobile_shapes(digits: str) -> tuple[str, ...]:
    n = digits[3:]
    return (
        f"06-{n}",
        f"06{n}",
        f"06 {n[:4]} {n[4:]}",
        f"06 {n[:2]} {n[2:4]} {n[4:6]} {n[6:]}",
        f"06.{n[:2]}.{n[2:4]}.{n[4:6]}.{n[6:]}",
        f"+31 6 {n[:4]} {n[4:]}",
        f"+316{n}",
        f"0031{digits[2:]}",
        f"+31 (0)6 {n}",
        digits,
    )


def _fixed_shapes(digits: str) -> tuple[str, ...]:
    area, n = digits[2:4], digits[4:]
    return (
        f"(0{area}) {n[:3]} {n[3:]}",
        f"0{area}-{n}",
        f"0{area} {n[:3]} {n[3:]}",
        f"+31 {area} {n[:3]} {n[3:]}",
        f"0031{area}{n}",
    )


def _sample_register(register: Path, register_rows: int, count: int, rng: random.Random) -> list:
    """`count` numbers of the register file, spread over all of it."""
    wanted = set(rng.sample(range(register_rows), k=min(count, register_rows)))
    numbers = []
    with register.open(encoding="utf-8") as lines:
        for position, line in enumerate(lines):
            if position in wanted:
                numbers.append(line[: line.index(";")])
    rng.shuffle(numbers)
    return numbers


def _random_dutch(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
    return f"{rng.choice(_FIXED_PREFIXES)}{rng.randrange(10**7):07d}"


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def messy_call_file(rows: int, register: Path, register_rows: int) -> tuple[Path, Path]:
    """A call file of `rows` records and its company's opt-out numbers (E.164 digits, one a
    line), cached under var/bench/."""
    path = BENCH_DIR / f"calls-{rows}-register-{register_rows}.csv"
    opt_outs = path.with_suffix(".optout.txt")
    if path.exists() and opt_outs.exists():
        return path, opt_outs
    rng = random.Random(rows)
    registered = _sample_register(register, register_rows, rows // 4, rng)
    first_opt_in = date(2010, 1, 1)
    opt_out_numbers = set()
    partial = path.with_suffix(".part")
    with partial.open("w", encoding="cp1252", newline="") as out:
        out.write(HEADER + "\r\n")
        lines = []
        for row in range(rows):
            chance = rng.random()
            if chance < 0.0625:
                phone = rng.choice(_OTHERS).format(
                    a2=f"{rng.randrange(100):02d}",
                    b2=f"{rng.randrange(100):02d}",
                    c2=f"{rng.randrange(100):02d}",
                    n4=f"{rng.randrange(10**4):04d}",
                    n6=f"{rng.randrange(10**6):06d}",
                    n7=f"{rng.randrange(10**7):07d}",
                )
            else:
                digits = registered.pop() if registered and chance < 0.3125 else None
                digits = digits or _random_dutch(rng)
                shapes = _mobile_shapes if digits[2] == "6" else _fixed_shapes
                phone = rng.choice(shapes(digits))
                if rng.random() < 0.01:
                    opt_out_numbers.add(digits)
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            name = f"{first} {last}"
            if rng.random() < 0.03:
                name = _quoted(f"{last}; {first}")
            elif rng.random() < 0.005:
                name = _quoted(f'Café "De {last}"')
            street = f"{rng.choice(_STREETS)} {rng.randrange(1, 300)}"
            if rng.random() < 0.02:
                street = _quoted(f"{street}; achterhuis")
            opt_in = ""
            if rng.random() < 0.2:
                day = first_opt_in + timedelta(days=rng.randrange(5_700))
                opt_in = day.isoformat() if rng.random() < 0.7 else day.strftime("%d-%m-%Y")
            email = f"{first[0].lower()}{row}@example.nl"
            lines.append(f"{name};{street};{rng.choice(_CITIES)};{phone};{email};{opt_in}\r\n")
            if len(lines) == 100_000:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)
    opt_outs.write_text("".join(f"{number}\n" for number in sorted(opt_out_numbers)))
    partial.rename(path)
    return path, opt_outs


# DuckDB's whole job, as described in the module docstring. __REGISTER__ is a relation: the
# register file through read_csv, or a preloaded table; __TARGET__ the result's path.
_DUCKDB_MARK = r"""
COPY (
    WITH calls AS (
        SELECT row_number() OVER () AS seq, *,
               regexp_replace(replace(coalesce(telefoon, ''), '(0)', ''), '[ .()/-]', '', 'g')
                   AS compact
        FROM read_csv($calls, delim = ';', quote = '"', escape = '"', header = true,
                      all_varchar = true, encoding = 'latin-1')
    ), national AS (
        SELECT *, CASE
            WHEN compact LIKE '+31%' THEN substr(compact, 4)
            WHEN compact LIKE '0031%' THEN substr(compact, 5)
            WHEN regexp_full_match(compact, '31[1-9][0-9]{8}') THEN substr(compact, 3)
            WHEN regexp_full_match(compact, '0[1-9][0-9]*') THEN substr(compact, 2)
        END AS national
        FROM calls
    ), judged AS (
        SELECT *, CASE
            WHEN regexp_full_match(national, '[1-7][0-9]{8}') THEN 'consumer'
            WHEN regexp_full_match(national, '(800|90[069])[0-9]{4,7}') THEN 'service'
            WHEN national IS NULL AND regexp_full_match(compact, '(\+|00)[1-9][0-9]{6,14}')
                THEN 'foreign'
            ELSE 'invalid'
        END AS kind,
        try_strptime(opt_in, ['%Y-%m-%d', '%d-%m-%Y'])::DATE AS opt_in_on
        FROM national
    ), numbered AS (
        SELECT *, CASE
            WHEN kind IN ('consumer', 'service') THEN ('31' || national)::BIGINT
            WHEN kind = 'foreign' THEN ltrim(ltrim(compact, '+'), '0')::BIGINT
        END AS number
        FROM judged
    )
    SELECT n.naam, n.straat, n.plaats, n.telefoon, n.email, n.opt_in,
        CASE
            WHEN o.number IS NOT NULL THEN 'BLOCKED'
            WHEN n.kind = 'invalid' THEN 'INVALID'
            WHEN n.kind IN ('foreign', 'service') THEN 'OUT_OF_SCOPE'
            WHEN r.number IS NOT NULL AND n.opt_in_on > r.registered_on THEN 'CALLABLE'
            WHEN r.number IS NOT NULL THEN 'BLOCKED'
            ELSE 'CALLABLE'
        END AS dnc_status,
        CASE
            WHEN o.number IS NOT NULL THEN 'COMPANY_OPT_OUT'
            WHEN n.kind = 'invalid' THEN 'INVALID_NUMBER'
            WHEN n.kind = 'foreign' THEN 'FOREIGN_NUMBER'
            WHEN n.kind = 'service' THEN 'SERVICE_NUMBER'
            WHEN r.number IS NOT NULL AND n.opt_in_on > r.registered_on
                THEN 'OPT_IN_AFTER_REGISTRATION'
            WHEN r.number IS NOT NULL THEN 'REGISTERED'
            ELSE ''
        END AS dnc_reason,
        CASE WHEN n.number IS NOT NULL THEN '+' || n.number END AS dnc_number,
        strftime(r.registered_on, '%Y-%m-%d') AS dnc_registered_on
    FROM numbered n
    LEFT JOIN (
        SELECT number, registered_on FROM __REGISTER__
        -- read_csv reads the empty field of an all-categories registration as NULL.
        WHERE categories IS NULL OR list_contains(string_split(categories, ','), $purpose)
    ) r ON r.number = n.number AND n.kind = 'consumer'
    LEFT JOIN read_csv($opt_outs, header = false, columns = {'number': 'BIGINT'}) o
        ON o.number = n.number AND n.kind = 'consumer'
    ORDER BY n.seq
) TO '__TARGET__' (HEADER, DELIMITER ';')
"""
_REGISTER_FILE = (
    "read_csv($register, delim = ';', header = false, quote = '', "
    "columns = {'number': 'BIGINT', 'registered_on': 'DATE', 'categories': 'VARCHAR'})"
)


def _duckdb_register(register: Path) -> tuple[Path, float | None]:
    """The register in a DuckDB table of its own file, loaded once; the seconds it took."""
    import duckdb

    path = register.with_suffix(".duckdb")
    if path.exists():
        return path, None
    partial = path.with_suffix(".duckdb-part")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(partial)) as database:
        database.execute(
            f"CREATE TABLE register AS SELECT * FROM {_REGISTER_FILE}",
            {"register": str(register)},
        )
    partial.rename(path)
    return path, time.perf_counter() - started


def _duckdb_mark(calls: Path, register: Path, opt_outs: Path, target: Path, *, table: Path | None):
    """DuckDB marks the call file; with `table` the register comes from that DuckDB database."""
    import duckdb

    parameters = {"calls": str(calls), "opt_outs": str(opt_outs), "purpose": PURPOSE}
    if table is None:
        database, relation = duckdb.connect(), _REGISTER_FILE
        parameters["register"] = str(register)
    else:
        database, relation = duckdb.connect(str(table), read_only=True), "register"
    started = time.perf_counter()
    with database:
        query = _DUCKDB_MARK.replace("__REGISTER__", relation).replace("__TARGET__", str(target))
        database.execute(query, parameters)
    return time.perf_counter() - started


def _disagreements(ours: Path, theirs: Path) -> list[tuple]:
    """Where our result and DuckDB's give another status or reason: how often, per pair of
    verdicts, with one input as an example."""
    import duckdb

    read = (
        "SELECT row_number() OVER () AS seq, telefoon, dnc_status || '/' ||"
        " coalesce(dnc_reason, '') AS verdict FROM read_csv(?, delim = ';', quote = '\"',"
        " escape = '\"', header = true, all_varchar = true, encoding = '{encoding}')"
    )
    query = f"""
        SELECT count(*), o.verdict, t.verdict, any_value(o.telefoon)
        FROM ({read.format(encoding="latin-1")}) o
        FULL JOIN ({read.format(encoding="utf-8")}) t USING (seq)
        WHERE o.verdict IS DISTINCT FROM t.verdict
        GROUP BY ALL ORDER BY 1 DESC
    """
    with duckdb.connect() as database:
        return database.execute(query, [str(ours), str(theirs)]).fetchall()


def _scratch(register_rows: int):
    """The scratch database with the nl register of `register_rows` numbers, a company and a
    campaign with credits to spare; the register's load time when it had to be loaded."""
    from campaigns.models import Campaign
    from licences.models import Company, CreditAccount
    from register.bulk import register_import
    from register.models import BlockedNumber, Register

    use_scratch_database(DATABASE.format(rows=register_rows))
    loaded = None
    with scopes_disabled():
        register = Register.objects.get(slug="nl")
        if BlockedNumber.objects.filter(register=register).count() != register_rows:
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE register_blockednumber, register_registerevent")
            started = time.perf_counter()
            with nl_register_file(register_rows).open("rb") as source:
                report = register_import(register=register, source=source)
            if report.loaded != register_rows:
                raise AssertionError(f"loaded {report.loaded} of {register_rows}")
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE register_blockednumber")
            loaded = time.perf_counter() - started
        company, _created = Company.objects.get_or_create(
            register=register, name="Marking bench B.V.", defaults={"country": "NL"}
        )
        campaign, _created = Campaign.objects.get_or_create(
            register=register, company=company, name="Bench", defaults={"purpose": PURPOSE}
        )
        CreditAccount.objects.update_or_create(
            campaign=campaign,
            defaults={"register": register, "company": company, "balance": 2_000_000_000},
        )
    return company, campaign, loaded


def _opt_outs_load(company, opt_outs: Path) -> None:
    """The company's opt-out list becomes exactly the numbers of the file."""
    from campaigns.models import CompanyOptOut, OptOutSource

    numbers = [int(line) for line in opt_outs.read_text().split()]
    with scopes_disabled():
        CompanyOptOut.objects.filter(company=company).delete()
        CompanyOptOut.objects.bulk_create(
            CompanyOptOut(
                register=company.register,
                company=company,
                number=number,
                source=OptOutSource.UPLOAD,
            )
            for number in numbers
        )
    # As autovacuum would soon after a list changes: with the statistics of an empty list the
    # planner compares every record with every opt-out (100,000 x 1,000 in 7 s).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_companyoptout")


class _Worker:
    """A Celery worker subprocess on the scratch database and the bench's own broker."""

    def __init__(self, broker: str):
        database = connection.settings_dict
        credentials = database.get("USER") or ""
        if database.get("PASSWORD"):
            credentials += f":{database['PASSWORD']}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            # DEBUG keeps every query in memory: no worker runs with it.
            "DJANGO_DEBUG": "0",
            "DATABASE_URL": (
                f"postgres://{credentials}{'@' if credentials else ''}"
                f"{database.get('HOST') or '127.0.0.1'}:{database.get('PORT') or 5432}"
                f"/{database['NAME']}"
            ),
            "REDIS_URL": broker,
            "MEDIA_ROOT": str(MEDIA),
            "CALL_FILE_MAX_BYTES": str(MAX_BYTES),
        }
        self.log = BENCH_DIR / "marking-worker.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool",
                    "solo",
                    "--loglevel",
                    "WARNING",
                    "--hostname",
                    f"bench-marking-{os.getpid()}@%h",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, app) -> None:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Celery worker did not start; see {self.log}")

    def _status(self, field: str) -> int:
        with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {field} for the worker")

    def reset_peak(self) -> int:
        """Starts a new peak (Linux: 5 to clear_refs resets VmHWM); the resident bytes now."""
        with open(f"/proc/{self.process.pid}/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return self._status("VmRSS")

    def peak(self) -> int:
        return self._status("VmHWM")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _mark(worker: _Worker, company, campaign, calls: Path, rows: int) -> dict:
    """Uploads the call file as the API does and waits for the worker's result."""
    from campaigns.marking.services import call_file_upload
    from campaigns.models import CallFile, CallFileStatus

    finished = {CallFileStatus.DONE, CallFileStatus.FAILED, CallFileStatus.REJECTED}
    before = worker.reset_peak()
    started = time.perf_counter()
    with scopes_disabled():
        with calls.open("rb") as upload:
            call_file = call_file_upload(
                company=company,
                campaign=campaign,
                uploaded_by=None,
                upload=upload,
                filename=calls.name,
                confirm=True,
            )
        accepted = time.perf_counter()
        by_id = CallFile.objects.filter(pk=call_file.pk)
        while (status := by_id.values_list("status", flat=True).get()) not in finished:
            if worker.process.poll() is not None:
                raise RuntimeError(f"the worker died; see {worker.log}")
            if time.perf_counter() - started > JOB_TIMEOUT_SECONDS:
                raise RuntimeError(f"call file {call_file.pk} still {status}")
            time.sleep(POLL_SECONDS)
        ready = time.perf_counter()
        if status != CallFileStatus.DONE:
            call_file = by_id.get()
            raise RuntimeError(
                f"call file {call_file.pk} {status}: {call_file.error_code} "
                f"{call_file.error_message}"
            )
        # The same job renders the certificate right after publishing the result: the worker's
        # peak memory is read once it is there.
        while not by_id.filter(certificate__gt="").exists():
            if time.perf_counter() - ready > 120:
                raise RuntimeError(f"call file {call_file.pk} has no certificate")
            time.sleep(POLL_SECONDS)
        certified = time.perf_counter()
        call_file = by_id.get()
    # As the API without its optional fields: the intake detected the columns.
    detected = (call_file.phone_column, call_file.opt_in_column)
    if detected != (PHONE_COLUMN, OPT_IN_COLUMN):
        raise RuntimeError(f"{calls.name}: detected phone and opt-in columns {detected}")
    if call_file.rows_total != rows:
        raise RuntimeError(f"{calls.name}: {call_file.rows_total} records marked of {rows}")
    return {
        "call_file": call_file,
        "end_to_end": ready - started,
        "upload": accepted - started,
        "certificate": certified - ready,
        "job": (call_file.finished_at - call_file.started_at).total_seconds(),
        "before_mb": before / 2**20,
        "peak_mb": worker.peak() / 2**20,
    }


def _forget_files(call_file) -> None:
    for field in (call_file.file, call_file.result, call_file.certificate):
        if field:
            field.delete(save=False)


def _describe(marked: dict) -> str:
    call_file = marked["call_file"]
    return (
        f"end to end {marked['end_to_end']:.2f} s (upload {marked['upload']:.2f} s, "
        f"job {marked['job']:.2f} s; certificate {marked['certificate']:.2f} s later); "
        f"worker peak RSS {marked['peak_mb']:.0f} MB "
        f"({marked['before_mb']:.0f} MB before the job); {call_file.rows_blocked:,} blocked, "
        f"{call_file.rows_callable:,} callable, {call_file.rows_invalid:,} invalid, "
        f"{call_file.rows_out_of_scope:,} out of scope; load average {os.getloadavg()[0]:.1f}"
    )


def bench_broker(app) -> str:
    """This process queues the jobs on the bench's own broker, with its media root (emptied) and
    upload limit; the broker's URL, for the worker."""
    broker = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_MARKING_REDIS_DB', '15')}"
    app.conf.broker_url = broker
    settings.MEDIA_ROOT = str(MEDIA)
    settings.CALL_FILE_MAX_BYTES = MAX_BYTES
    shutil.rmtree(MEDIA, ignore_errors=True)
    MEDIA.mkdir(parents=True)
    return broker


def run() -> Iterator[str]:
    import duckdb

    from config.celery_app import app

    register_rows = int(os.environ.get("BENCH_MARKING_REGISTER_ROWS", 10_000_000))
    rows = int(os.environ.get("BENCH_MARKING_ROWS", 1_000_000))
    small_rows = int(os.environ.get("BENCH_MARKING_SMALL_ROWS", 100_000))
    memory_sizes = os.environ.get("BENCH_MARKING_MEMORY_ROWS", "5000000")
    memory_rows = [int(size) for size in memory_sizes.split(",") if size]
    rounds = int(os.environ.get("BENCH_MARKING_ROUNDS", 2))
    broker = bench_broker(app)

    register = nl_register_file(register_rows)
    company, campaign, loaded = _scratch(register_rows)
    table, table_seconds = _duckdb_register(register)
    threads = duckdb.execute("SELECT current_setting('threads')").fetchone()[0]
    yield from [
        f"register: {register_rows:,} numbers"
        + (f" (loaded by import_register in {loaded:.0f} s)" if loaded else " (reused)")
        + (f"; DuckDB table loaded in {table_seconds:.0f} s" if table_seconds else ""),
        f"DuckDB {duckdb.__version__}, {threads} threads; {os.cpu_count()} cores",
    ]
    sizes = {WARM_UP_ROWS, small_rows, rows, *memory_rows}
    files = {size: messy_call_file(size, register, register_rows) for size in sizes}
    # Jobs queued by an earlier run that died would run before this run's.
    app.control.purge()
    with_file = BENCH_DIR / "marking-duckdb-file.csv"
    with_table = BENCH_DIR / "marking-duckdb-table.csv"
    worker = _Worker(broker)
    try:
        worker.wait_ready(app)
        warm_up, opt_outs = files[WARM_UP_ROWS]
        _opt_outs_load(company, opt_outs)
        _forget_files(_mark(worker, company, campaign, warm_up, WARM_UP_ROWS)["call_file"])

        calls, opt_outs = files[small_rows]
        _opt_outs_load(company, opt_outs)
        yield f"{small_rows:,} rows ({calls.stat().st_size / 1e6:.0f} MB):"
        jobs = []
        for round_ in range(1, 4):
            marked = _mark(worker, company, campaign, calls, small_rows)
            jobs.append(marked["job"])
            yield f"  round {round_}: {_describe(marked)}"
            _forget_files(marked["call_file"])
        yield f"  job time best {min(jobs):.2f} s, worst {max(jobs):.2f} s (target ≤ 0.6 s)"

        calls, opt_outs = files[rows]
        _opt_outs_load(company, opt_outs)
        call_file = None
        yield f"{rows:,} rows ({calls.stat().st_size / 1e6:.0f} MB):"
        ratios = {"file": [], "table": []}
        for round_ in range(1, rounds + 1):
            marked = _mark(worker, company, campaign, calls, rows)
            from_file = _duckdb_mark(calls, register, opt_outs, with_file, table=None)
            from_table = _duckdb_mark(calls, register, opt_outs, with_table, table=table)
            ours = marked["end_to_end"]
            ratios["file"].append(ours / from_file)
            ratios["table"].append(ours / from_table)
            yield from [
                f"  round {round_}: ours {_describe(marked)}",
                f"    DuckDB, register from its file {from_file:.2f} s: ours "
                f"{ratios['file'][-1]:.2f}x; register preloaded {from_table:.2f} s: ours "
                f"{ratios['table'][-1]:.2f}x",
            ]
            if call_file is not None:
                _forget_files(call_file)
            call_file = marked["call_file"]
        differing = _disagreements(Path(call_file.result.path), with_file)
        _forget_files(call_file)
        yield from [
            f"  best: ours/DuckDB {min(ratios['file']):.2f}x with the register read from its file, "
            f"{min(ratios['table']):.2f}x with it preloaded (target ≤ 2.0x preloaded)",
            "  rows where DuckDB's simpler rules give another status or reason: "
            f"{sum(count for count, *_rest in differing):,}",
            *(
                f"    {count:,}: ours {verdict}, DuckDB {theirs} (e.g. {example!r})"
                for count, verdict, theirs, example in differing
            ),
        ]

        for size in memory_rows:
            calls, opt_outs = files[size]
            _opt_outs_load(company, opt_outs)
            marked = _mark(worker, company, campaign, calls, size)
            yield (
                f"{size:,} rows ({calls.stat().st_size / 1e6:.0f} MB): {_describe(marked)} "
                f"(target < 300 MB)"
            )
            _forget_files(marked["call_file"])
    finally:
        worker.stop()
        with_file.unlink(missing_ok=True)
        with_table.unlink(missing_ok=True)
