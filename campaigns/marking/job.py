"""The marking job (SPEC §8.3-8.6): a queued call file marked against the register.

The file itself is read and written by `uploads.intake`; this module decides what a scrub is.
The job streams the file once into a temporary table (COPY), matches every record in ONE query
against the register and the opt-out lists, and streams that query's answer (COPY again)
into the marked copy of the file, so the worker's memory stays flat whatever the file's size.
A row's status and reason follow the rules of `campaigns.verdicts`, as a number check's do, with
the opt-in date of seed 001 that only a file carries: the consumer's latest act prevails.

Crash safety: the job holds a PostgreSQL session advisory lock on its call file while it works.
A task redelivered after its worker died (acks_late) finds the row RUNNING and the lock free, and
starts over; one delivered while the first still works finds the lock held and comes back
later, in case the holder is the lingering session of a dead worker. Credits
are spent with the call file as the ledger reference in the transaction that publishes the
result, so a file is charged once whatever happens around it.
"""

import datetime
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from inspect import GEN_CREATED, getgeneratorstate
from itertools import compress, islice
from operator import itemgetter
from pathlib import Path
from typing import IO

import numpy as np
import psycopg
from django.db import DatabaseError, InterfaceError, connection, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from psycopg import pq
from psycopg.copy import QueuedLibpqWriter

from campaigns.checks.selectors import checks_charge_credits
from campaigns.marking.certificate import call_file_certificate_render
from campaigns.marking.notify import call_file_mail_outcome
from campaigns.marking.selectors import call_file_settings, stored_path
from campaigns.marking.services import UPLOAD_BLOCK
from campaigns.marking.validation import NumbersSeen
from campaigns.models import CallFile, CallFileStatus, FileKind
from campaigns.selectors import opt_out_companies
from campaigns.verdicts import PROBLEM_CODES, CheckStatus, sql_case
from licences.models import CreditEntry
from licences.selectors import access_licence_in_force, credit_balance
from licences.services import credits_spend
from register.errors import InsufficientCredits
from register.models import ALL_CATEGORIES
from register.numberhash import number_hash_params, sql_number_hash
from register.phone import Batch, Normaliser
from register.replica import (
    PRIMARY,
    REPLICA,
    read_database,
    read_database_as_of,
    replica_failed,
)
from register.tasking import CALL_FILE_LOCKS, job_failure, job_finish, job_lock
from uploads.intake import FileSettings, IntakeError, intake_records, intake_write_marked

MARK_HEADER = ("dnc_status", "dnc_reason", "dnc_number", "dnc_registered_on")
# Records normalised and sent to PostgreSQL at a time, and how often progress is written.
CHUNK = 50_000
# Share of the progress bar for reading the file; matching and writing take the rest.
READ_SHARE = 50
# Seconds at least between two writes of the progress.
PROGRESS_INTERVAL = 0.2
# A workbook's rows cannot be counted before reading them; a zipped sheet of phone numbers takes
# about this many bytes a row, enough to move the bar honestly.
XLSX_BYTES_PER_ROW = 12

_PROBLEM_CODES = {None: "\\N", **PROBLEM_CODES}
# The opt-in date (SPEC §8.5): ISO, or day first with dashes or slashes, optionally a time.
_OPT_IN_DATE = re.compile(
    r"\s*(?:(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"|(?P<d2>\d{1,2})(?P<sep>[-/])(?P<m2>\d{1,2})(?P=sep)(?P<y2>\d{4}))"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*"
)


class _Rejected(Exception):
    """The file or the licence, not we, stopped the job: REJECTED with this code and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


# The job


def call_file_mark(*, call_file_id: int) -> CallFile | None:
    """Marks a queued call file; None when another run has it or had it.

    Claimed with a conditional UPDATE under the file's advisory lock: QUEUED, or RUNNING with the
    lock free (its worker died), is taken (over) from the start; anything else is left alone.
    A finished file whose certificate is missing (the worker died just after publishing, or the
    disk was full) gets it: the reaper queues such files again until it exists.
    A run that cannot finish ends FAILED with a code and a message (register.tasking.job_finish,
    on a fresh connection when the job's own broke), charging nothing.
    """
    with job_lock(CALL_FILE_LOCKS, call_file_id) as taken:
        if not taken:
            return None
        claimed = CallFile.objects.filter(
            pk=call_file_id, status__in=[CallFileStatus.QUEUED, CallFileStatus.RUNNING]
        ).update(
            status=CallFileStatus.RUNNING,
            started_at=timezone.now(),
            progress=0,
            rows_expected=None,
            error_code="",
            error_message="",
        )
        if not claimed:
            done = CallFile.objects.filter(
                pk=call_file_id, status=CallFileStatus.DONE, certificate=""
            ).exists()
            return call_file_certificate_render(call_file_id=call_file_id) if done else None
        call_file = CallFile.objects.select_related(
            "register", "campaign", "company", "uploaded_by"
        ).get(pk=call_file_id)
        with translation.override(call_file.language or call_file.register.default_language):
            try:
                _mark(call_file)
            except _Rejected as rejected:
                _finish_unpublished(
                    call_file, CallFileStatus.REJECTED, rejected.code, rejected.message
                )
                call_file_mail_outcome(call_file)
                return call_file
            except Exception as error:
                code, message = job_failure(error)
                _finish_unpublished(call_file, CallFileStatus.FAILED, code, message)
                call_file_mail_outcome(call_file)
                raise
        call_file_mail_outcome(call_file)
        # Rendered once the result is published: the file is ready while this runs.
        return call_file_certificate_render(call_file_id=call_file_id)


def call_file_awaits_worker(*, call_file_id: int) -> bool:
    """Whether the job still has to run: a run that found its lock held asks again later, since
    the holder may be the database session of a worker that died while waiting on a lock,
    which PostgreSQL ends only when that wait is over."""
    return CallFile.objects.filter(
        pk=call_file_id, status__in=[CallFileStatus.QUEUED, CallFileStatus.RUNNING]
    ).exists()


def _finish_unpublished(call_file: CallFile, status: str, code: str, message: str) -> None:
    job_finish(
        CallFile,
        call_file.pk,
        from_statuses=[CallFileStatus.RUNNING],
        values={
            "status": status,
            "error_code": code,
            "error_message": str(message),
            "finished_at": timezone.now(),
        },
    )
    call_file.status, call_file.error_code, call_file.error_message = status, code, str(message)


class _Progress:
    """Writes the job's progress on a connection of its own: the job's is busy streaming COPY,
    and PostgreSQL takes one statement at a time on a connection."""

    def __init__(self, call_file_id: int):
        self.call_file_id = call_file_id
        self.shown = 0
        self.next_at = 0.0
        self.connection = None

    def __call__(self, percent: int, rows_expected: int) -> None:
        percent = max(0, min(99, int(percent)))
        now = time.monotonic()
        # A few steps a second are all a person watching sees; every percent of a large
        # file would be a hundred updates.
        if percent <= self.shown or now < self.next_at:
            return
        self.shown, self.next_at = percent, now + PROGRESS_INTERVAL
        with self._cursor() as cursor:
            cursor.execute(
                "UPDATE campaigns_callfile SET progress = %s, rows_expected = %s"
                " WHERE id = %s AND status = %s",
                [percent, rows_expected, self.call_file_id, CallFileStatus.RUNNING],
            )

    def _cursor(self):
        if self.connection is None:
            self.connection = connections.create_connection("default")
            with self.connection.cursor() as cursor:
                # Each update commits on its own; a bar that loses its last step in a crash
                # loses nothing, so none waits for the WAL to reach the disk (a few ms each,
                # a hundred times a file).
                cursor.execute("SET synchronous_commit = off")
        return self.connection.cursor()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


@dataclass(frozen=True)
class _Loaded:
    """The records offered, and the indices (in file order, from 0) of the records left out."""

    records: int
    left_out: np.ndarray


_NONE_LEFT_OUT = np.empty(0, dtype=np.int64)


def _mark(call_file: CallFile) -> None:
    path = stored_path(call_file.file.name)
    progress = _Progress(call_file.pk)
    # Beside the upload, whose name is unguessable: a run taking over from a dead one writes
    # the same name again rather than leaving the dead run's file behind.
    result_name = f"{call_file.file.name}.marked"
    result_path = stored_path(result_name)
    partial = result_path.with_name(result_path.name + ".part")
    try:
        result_path.parent.mkdir(parents=True, exist_ok=True)
        match = _match_on_replica if read_database() == REPLICA else _match_on_primary
        loaded, counts, register_as_of = match(call_file, path, partial, progress)
        progress.close()
        partial.rename(result_path)
        try:
            _publish(call_file, loaded, counts, result_name, register_as_of)
        except BaseException:
            result_path.unlink(missing_ok=True)
            raise
    finally:
        progress.close()
        partial.unlink(missing_ok=True)


def _match_on_primary(
    call_file: CallFile, path: Path, partial: Path, progress, spool: "_Spool | None" = None
):
    """Loads the records into a temporary table (from the file, or from the `spool` of a
    replica's run) and matches them in one query; returns (loaded, counts, register_as_of)."""
    file_settings = call_file_settings(call_file)
    # A savepoint in a caller's transaction; the worker's own transaction otherwise. The
    # temporary table lives as long as it, and goes with it if anything fails.
    with transaction.atomic(), connection.connection.cursor() as cursor:
        _plan_settings(cursor)
        cursor.execute(
            "CREATE TEMP TABLE call_file_rows"
            ' (seq integer, number bigint, problem "char", opt_in date) ON COMMIT DROP'
        )
        # The queued writer sends to PostgreSQL from a thread while the next chunk is read.
        with cursor.copy(
            "COPY call_file_rows (seq, number, problem, opt_in) FROM STDIN",
            writer=QueuedLibpqWriter(cursor),
        ) as copy:
            if spool is None:
                loaded = _load(copy.write, path, file_settings, call_file, progress)
            else:
                loaded = spool.loaded
                spool.file.seek(0)
                while block := spool.file.read(UPLOAD_BLOCK):
                    copy.write(block)
        if spool is None:
            _require_licence(call_file, loaded.records)
            register_as_of = _register_as_of(cursor)
        else:
            register_as_of = spool.register_as_of
        # No ANALYZE of the records: with scans off the plan has one shape whatever their
        # statistics (the planner sizes the table by its pages), and 1M records took 60 ms.
        with partial.open("wb") as sink:
            counts = _write_marked(cursor, call_file, path, file_settings, sink, loaded, progress)
        _keep_number_hashes(cursor, call_file)
        cursor.execute("DROP TABLE call_file_rows")
    return loaded, counts, register_as_of


@dataclass(frozen=True)
class _Spool:
    """A replica's run's records, as call_file_rows' COPY text in a temporary file: the standby
    takes no writes, temporary tables included."""

    file: IO[str]
    loaded: "_Loaded"
    register_as_of: datetime.datetime


def _match_on_replica(call_file: CallFile, path: Path, partial: Path, progress):
    """The match read from the replica (register.replica): the records are spooled, then sent
    to the standby a chunk at a time, all matched in one snapshot that holds every change of
    the register dated before `register_as_of`. A replica that fell behind meanwhile leaves the
    match to the primary."""
    file_settings = call_file_settings(call_file)
    with tempfile.TemporaryFile("w+", encoding="ascii") as file:
        loaded = _load(file.write, path, file_settings, call_file, progress)
        _require_licence(call_file, loaded.records)
        database, register_as_of = read_database_as_of()
        spool = _Spool(file, loaded, register_as_of)
        if database == PRIMARY:
            return _match_on_primary(call_file, path, partial, progress, spool)
        file.seek(0)
        replica = connections[REPLICA]
        try:
            with transaction.atomic(using=REPLICA):
                replica.ensure_connection()
                with replica.connection.cursor() as cursor:
                    # One snapshot for every chunk, as the primary's one query has.
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    # Locked before the snapshot is taken: an import that loaded the register
                    # into a table of its own (register.bulk.load) would otherwise leave this
                    # snapshot the new table's rows unseen, the register empty.
                    cursor.execute("LOCK TABLE register_blockednumber IN ACCESS SHARE MODE")
                    _plan_settings(cursor)
                    with partial.open("wb") as sink:
                        counts = _write_marked(
                            cursor, call_file, path, file_settings, sink, loaded, progress, file
                        )
        except (DatabaseError, InterfaceError, psycopg.Error, RuntimeError) as error:
            # The replica stopped or was cut off, or cancelled the match for its replay (the
            # COPY's error, a RuntimeError of _marks): the spooled records are matched on the
            # primary, the partial result written anew.
            replica_failed(error)
            return _match_on_primary(call_file, path, partial, progress, spool)
        _keep_number_hashes_of_spool(call_file, spool)
        return loaded, counts, register_as_of


def _plan_settings(cursor) -> None:
    """The match looks each record's number up in the register's primary key and the opt-out
    list's unique key, in number order (see _match_query). Left to itself the planner would
    hash the whole register or merge along all of it, reading all its 10,000,000 rows
    (seconds, for a small file too), or, trusting statistics not yet gathered, scan it once per
    record (hours). Without scans the key is the only way. The sorts by number and by seq (file
    order) fit in memory."""
    cursor.execute("SET LOCAL work_mem = '256MB'")
    cursor.execute("SET LOCAL enable_seqscan = off")
    cursor.execute("SET LOCAL enable_bitmapscan = off")
    cursor.execute("SET LOCAL jit = off")


def _load(write, path: Path, file_settings: FileSettings, call_file: CallFile, progress) -> _Loaded:
    """Hands the records offered to `write` as call_file_rows' COPY text, one (seq, number,
    problem, opt_in) each: every record, or with CallFile.leave_out_duplicates all but the
    later repeats of a number, which the validation counted (one rule, NumbersSeen). Raises
    _Rejected for a bad file or opt-in date."""
    normaliser = Normaliser(call_file.register.country)
    phone = file_settings.phone_column - 1
    opt_in = None if file_settings.opt_in_column is None else file_settings.opt_in_column - 1
    expected = _expected_records(path, file_settings)
    records = intake_records(path, file_settings)
    seen = NumbersSeen() if call_file.leave_out_duplicates else None
    left_out: list[np.ndarray] = []
    seq = read = 0
    try:
        while True:
            # Only the cells needed are kept, not the records: a chunk of records held at once
            # outlives the young garbage collections and sets off full ones over the heap.
            days = None
            if opt_in is None:
                phones = list(map(itemgetter(phone), map(_FIELDS, islice(records, CHUNK))))
            else:
                phones, days = [], []
                for line, fields in islice(records, CHUNK):
                    phones.append(fields[phone])
                    days.append(_opt_in_day(fields[opt_in], line))
            if not phones:
                break
            found = normaliser.many(phones)
            if seen is not None:
                found, days, repeats = _without_repeats(seen, found, days)
                left_out.append(repeats + read)
            write(_copy_text(seq, found, days))
            read += len(phones)
            seq += len(found)
            progress(READ_SHARE * read / max(expected, read + 1), max(expected, read + 1))
    except IntakeError as error:
        raise _Rejected(error.code, str(error.message)) from error
    return _Loaded(seq, np.concatenate(left_out) if left_out else _NONE_LEFT_OUT)


def _without_repeats(seen: NumbersSeen, found, days: list[str] | None):
    """A chunk's normalised records and opt-in days without the later repeats of a number, and
    the repeats' indices in the chunk."""
    _valid, repeats, _problems = seen.repeats(found)
    if not repeats.size:
        return found, days, repeats
    keep = np.ones(len(found), dtype=bool)
    keep[repeats] = False
    kept = keep.tolist()
    if isinstance(found, Batch):
        # Kept as two plain lists, not a tuple a record (see Batch).
        found = Batch(list(compress(found.numbers, kept)), list(compress(found.problems, kept)))
    else:
        found = list(compress(found, kept))
    return found, None if days is None else list(compress(days, kept)), repeats


_NULL = "\\N"
# call_file_rows' columns, as arrays.
_SPOOL_TYPES = ("integer[]", "bigint[]", '"char"[]', "date[]")
_FIELDS = itemgetter(1)
# COPY's DELIMITER option for each delimiter a call file may have (uploads.intake.DELIMITERS).
_COPY_DELIMITERS = {";": "';'", ",": "','", "|": "'|'", "\t": "E'\\t'"}


def _copy_text(first: int, found, days: list[str] | None) -> str:
    codes = _PROBLEM_CODES
    if days is None:
        return "".join(
            f"{seq}\t{_NULL if number is None else number}\t{codes[problem]}\t{_NULL}\n"
            for seq, (number, problem) in enumerate(found, first)
        )
    return "".join(
        f"{seq}\t{_NULL if number is None else number}\t{codes[problem]}\t{day}\n"
        for seq, (number, problem), day in zip(
            range(first, first + len(found)), found, days, strict=True
        )
    )


def _expected_records(path: Path, file_settings: FileSettings) -> int:
    """About how many records the file holds, for the progress bar only: its size over the
    length of the lines of its first block, rather than another pass over all of it."""
    size = path.stat().st_size
    if file_settings.kind == FileKind.XLSX:
        return max(1, size // XLSX_BYTES_PER_ROW)
    with path.open("rb") as source:
        block = source.read(UPLOAD_BLOCK)
    return max(1, size * block.count(b"\n") // max(1, len(block)))


# Enough for every day of 40 years in two spellings: a miss parses the date in Python.
@lru_cache(maxsize=1 << 15)
def _parse_opt_in(value: str) -> str | None:
    """An opt-in cell as ISO date text; "" for none; None when it is no date we read."""
    if not value.strip():
        return _NULL
    match = _OPT_IN_DATE.fullmatch(value)
    if match is None:
        return None
    if match["y"]:
        year, month, day = match["y"], match["m"], match["d"]
    else:
        year, month, day = match["y2"], match["m2"], match["d2"]
    try:
        return datetime.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _opt_in_day(value: str, line: int) -> str:
    day = _parse_opt_in(value)
    if day is None:
        raise IntakeError(
            _(
                "Line %(line)d: the opt-in date “%(value)s” is not a date. Write it as "
                "YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY, or leave it empty."
            )
            % {"line": line, "value": value[:40]},
            code="invalid_opt_in_date",
            line=line,
        )
    return day


def _require_licence(call_file: CallFile, rows_total: int) -> None:
    """nl: the campaign's credits cover every record offered; be: an access licence in force.
    Checked before any matching, so a job refused costs nothing (SPEC §8.3, §8.6)."""
    register = call_file.register
    if checks_charge_credits(register):
        balance = credit_balance(campaign=call_file.campaign)
        if balance < rows_total:
            raise _Rejected(
                InsufficientCredits.code,
                _g(
                    "Marking this file needs %(needed)d credits, one per record; the campaign "
                    "has %(balance)d. Buy credits for the campaign and upload the file again."
                )
                % {"needed": rows_total, "balance": balance},
            )
    elif access_licence_in_force(company=call_file.company, today=register.today()) is None:
        raise _Rejected(
            "licence_required",
            _g("Marking call files needs an active licence of this register."),
        )


def _register_as_of(cursor) -> datetime.datetime:
    """The moment before which every change of the register is in the match about to run.

    A change is dated by its transaction's start but seen only once committed (an import runs
    for minutes), so the moment is the start of the oldest transaction still open, if earlier
    than now: the same reasoning as a download's `covers_until`.
    """
    cursor.execute(
        "SELECT least(clock_timestamp(), min(xact_start)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return cursor.fetchone()[0]


def _match_query(call_file: CallFile, delimiter: str, rows: str = "call_file_rows") -> str:
    """Every record's marks, in file order: one query looking each record up in the register
    and the opt-out lists that apply (the uploader's, the campaign's advertiser's and call
    centre's), its marks given by the rules of campaigns.verdicts as SQL CASEs. Each row is the
    text appended to its record: the marks, each after `delimiter`. The records are `rows`,
    a relation of (seq, number, problem, opt_in)."""
    register = call_file.register
    purpose_bits = (
        register.category_mask([call_file.campaign.purpose])
        if register.has_categories
        else ALL_CATEGORIES
    )
    companies = opt_out_companies(company=call_file.company, campaign=call_file.campaign)
    opt_outs_of = ", ".join(str(int(company)) for company in companies)
    # Only integers and this module's and campaigns.verdicts' constants are formatted into
    # the statement. The inner query sorts narrow rows into file order; the marks' text is made
    # after the sort, not carried through it. No mark holds a delimiter, a backslash or a line
    # break, so COPY writes them as they are, and the empty first column puts the delimiter
    # before the first.
    return f"""
        COPY (
            SELECT
                '',
                {sql_case("status")},
                {sql_case("reason")},
                CASE WHEN m.number IS NULL THEN '' ELSE '+' || m.number END,
                coalesce(to_char(m.registered_on, 'YYYY-MM-DD'), '')
            FROM (
                SELECT t.seq, t.number, t.problem, t.opt_in, (t.found).registered_on,
                       coalesce((t.found).categories & {int(purpose_bits)} <> 0, false)
                           AS covered,
                       t.opted_out
                FROM (
                    SELECT t.*,
                        CASE WHEN t.problem IS NULL THEN (
                            SELECT b FROM register_blockednumber b
                            WHERE b.number = t.number AND b.register_id = {int(register.pk)}
                        ) END AS found,
                        EXISTS (
                            SELECT FROM campaigns_companyoptout o
                            WHERE o.company_id IN ({opt_outs_of})
                                AND o.number = t.number
                        ) AS opted_out
                    -- Looked up in number order: neighbouring lookups share the index's pages.
                    FROM (SELECT * FROM {rows} ORDER BY number) t
                    -- Keeps each lookup to once a record.
                    OFFSET 0
                ) t
                ORDER BY t.seq
            ) m
        ) TO STDOUT (DELIMITER {_COPY_DELIMITERS[delimiter]})
    """  # noqa: S608 - integers and constants only


# The keyed hash of every valid number offered, for violation reports (CallFileNumber): one
# statement over the loaded records, hashed by PostgreSQL. A number offered twice, or a run
# taking over from a dead one, meets the key and is skipped. Written with the match, before the
# publishing transaction: a file rejected after this keeps hashes no report reads (evidence
# counts only scrubs DONE). Inserted in the key's order: random hashes would each land on
# another page of the key, and writing a million of them took longer than hashing them.
_KEEP_HASHES = f"""
    INSERT INTO campaigns_callfilenumber (digest, call_file_id)
    SELECT digest, %(call_file)s FROM (
        SELECT {sql_number_hash("number")} AS digest FROM call_file_rows
        WHERE problem IS NULL AND number IS NOT NULL
    ) AS hashed
    ORDER BY digest
    ON CONFLICT DO NOTHING
"""  # noqa: S608 - constants only


def _keep_number_hashes(cursor, call_file: CallFile) -> None:
    cursor.execute(
        _KEEP_HASHES,
        {"call_file": call_file.pk, **number_hash_params(call_file.register.number_key)},
    )


def _keep_number_hashes_of_spool(call_file: CallFile, spool: "_Spool") -> None:
    """The hashes of a match the replica made, written on the primary (the standby takes no
    writes) from the spooled records."""
    with transaction.atomic(), connection.connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE call_file_rows"
            ' (seq integer, number bigint, problem "char", opt_in date) ON COMMIT DROP'
        )
        with cursor.copy("COPY call_file_rows (seq, number, problem, opt_in) FROM STDIN") as copy:
            spool.file.seek(0)
            while block := spool.file.read(UPLOAD_BLOCK):
                copy.write(block)
        _keep_number_hashes(cursor, call_file)
        cursor.execute("DROP TABLE call_file_rows")


def _write_marked(
    cursor, call_file, path, file_settings, sink, loaded: _Loaded, progress, spool=None
) -> Counter:
    """Streams the match into the marked copy of the file, without the records left out;
    returns the count per status. The records are call_file_rows, or with `spool` (a replica's
    run) that file's, chunk by chunk."""
    rows_total = loaded.records
    counts: Counter = Counter()
    # A CSV/TXT file takes the marks as the text to append (see intake_write_marked), a
    # workbook each record's values.
    joined = file_settings.kind != FileKind.XLSX
    delimiter = file_settings.delimiter if joined else "\t"
    pgconn = cursor.connection.pgconn
    queries = (
        iter([_match_query(call_file, delimiter)])
        if spool is None
        else _chunk_queries(call_file, delimiter, spool)
    )
    # Sent without waiting: the writer reads the file ahead while PostgreSQL matches.
    pgconn.send_query(next(queries).encode())

    def waiting() -> bool:
        pgconn.consume_input()
        return bool(pgconn.is_busy())

    marks = _marks(pgconn, queries, counts, rows_total, progress, delimiter, joined)
    try:
        intake_write_marked(
            path,
            file_settings,
            sink,
            MARK_HEADER,
            _leaving_out(marks, loaded.left_out) if loaded.left_out.size else marks,
            joined=joined,
            waiting=waiting,
            leaving_out=bool(loaded.left_out.size),
        )
    finally:
        if getgeneratorstate(marks) == GEN_CREATED:
            # The writer failed before taking a mark: the answer is read and dropped, so the
            # connection is ready for the rollback that follows.
            while (result := pgconn.get_result()) is not None:
                if result.status == pq.ExecStatus.COPY_OUT:
                    while pgconn.get_copy_data(0)[0] >= 0:
                        pass
        marks.close()
    if sum(counts.values()) != rows_total:
        raise RuntimeError(f"{sum(counts.values())} rows marked of {rows_total}")
    return counts


def _marks(
    pgconn, queries, counts: Counter, rows_total: int, progress, delimiter: str, joined: bool
) -> Iterator[str] | Iterator[list[str]]:
    """The COPY's rows, each the text appended to its record (`joined`) or its values [status,
    reason, number, registered_on], read in blocks: libpq hands out one row per call, so they
    are decoded and split into rows a block at a time rather than one by one. The statement
    sent is read first, then each of `queries` in turn, sent once the one before is read."""
    read = pgconn.get_copy_data
    pending = bytearray()
    done = 0
    # Where the statement sent stands: its COPY being read, its results left, or all read. The
    # writer may still stop on the last block's lines (a full disk), and reading on after the
    # COPY's end fails with "no COPY in progress", hiding the writer's error.
    state = "results"
    try:
        while True:
            started = pgconn.get_result()
            if started.status != pq.ExecStatus.COPY_OUT:
                while pgconn.get_result() is not None:
                    pass
                state = "idle"
                raise RuntimeError(started.get_error_message())
            state = "copy"
            while True:
                length, data = read(0)
                if length >= 0:
                    pending += data
                else:
                    state = "results"
                if pending and (length < 0 or len(pending) >= UPLOAD_BLOCK):
                    text = pending.decode("ascii")
                    pending.clear()
                    lines = text.split("\n")
                    lines.pop()
                    # Counted in the text: a status is the first mark of its line.
                    framed = "\n" + text
                    for status in CheckStatus.values:
                        counts[status] += framed.count(f"\n{delimiter}{status}{delimiter}")
                    done += len(lines)
                    progress(
                        READ_SHARE + (100 - READ_SHARE) * done / max(rows_total, 1), rows_total
                    )
                    if joined:
                        yield from lines
                    else:
                        # Split as the writer takes them, so the lists die young.
                        yield from map(_values, lines)
                if length < 0:
                    break
            result = pgconn.get_result()
            while pgconn.get_result() is not None:
                pass
            state = "idle"
            if result.status != pq.ExecStatus.COMMAND_OK:
                raise RuntimeError(result.get_error_message())
            query = next(queries, None)
            if query is None:
                return
            pgconn.send_query(query.encode())
            state = "results"
    finally:
        # A writer that stopped early leaves the COPY unread: drain it, so the connection is
        # ready for the next statement (the rollback that follows).
        if state == "copy":
            while read(0)[0] >= 0:
                pass
        if state != "idle":
            while pgconn.get_result() is not None:
                pass


def _chunk_queries(call_file: CallFile, delimiter: str, spool: IO[str]) -> Iterator[str]:
    """The match of the spooled records (call_file_rows' COPY text), CHUNK records a statement:
    with no table to load them into, each chunk is the statement's arrays. Only integers, the
    one-letter problem codes and ISO dates made by this module are formatted into them."""
    while lines := list(islice(spool, CHUNK)):
        columns = zip(*(line.rstrip("\n").split("\t") for line in lines), strict=True)
        arrays = (
            "'{" + ",".join("NULL" if value == _NULL else value for value in column) + "}'::" + kind
            for column, kind in zip(columns, _SPOOL_TYPES, strict=True)
        )
        rows = f"unnest({', '.join(arrays)}) AS r(seq, number, problem, opt_in)"
        yield _match_query(call_file, delimiter, rows)


def _leaving_out(marks: Iterator, left_out: np.ndarray) -> Iterator:
    """The marks with None, which the writer takes for "leave this record out", at the indices
    `left_out` (ascending) of the records."""
    at = 0
    for index in left_out.tolist():
        yield from islice(marks, index - at)
        yield None
        at = index + 1
    yield from marks


def _values(line: str) -> list[str]:
    """A COPY row's marks, without the empty column before them."""
    return line.split("\t")[1:]


def _publish(call_file: CallFile, loaded: _Loaded, counts: Counter, result_name: str, as_of):
    """Charges (nl) and publishes the result in one transaction: both happen, or neither."""
    register = call_file.register
    rows_total = loaded.records
    charged = rows_total if checks_charge_credits(register) else 0
    with transaction.atomic():
        if charged:
            try:
                credits_spend(
                    campaign=call_file.campaign,
                    amount=charged,
                    reference=f"call-file:{call_file.pk}",
                    reason=CreditEntry.Reason.SCRUB,
                )
            except InsufficientCredits as error:
                # Another scrub of the campaign spent the credits since the job's check.
                raise _Rejected(error.code, str(error.message)) from error
        finished = timezone.now()
        values = {
            "status": CallFileStatus.DONE,
            "progress": 100,
            "rows_total": rows_total,
            "rows_blocked": counts[CheckStatus.BLOCKED],
            "rows_callable": counts[CheckStatus.CALLABLE],
            "rows_invalid": counts[CheckStatus.INVALID],
            "rows_out_of_scope": counts[CheckStatus.OUT_OF_SCOPE],
            "rows_left_out": int(loaded.left_out.size),
            "credits_charged": charged,
            "result": result_name,
            "register_as_of": as_of,
            "valid_until": register.today() + datetime.timedelta(days=register.use_period_days),
            "finished_at": finished,
        }
        published = CallFile.objects.filter(pk=call_file.pk, status=CallFileStatus.RUNNING).update(
            **values
        )
        if not published:
            raise RuntimeError(f"call file {call_file.pk} is no longer running")
    for field, value in values.items():
        setattr(call_file, field, value)
