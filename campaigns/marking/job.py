"""Marking call files against the register (SPEC §8): upload, settings, the job, retention.

The file itself is read and written by `uploads.intake`; this module decides what a scrub is.
The job streams the file once into a temporary table (COPY), matches every record in ONE query
against the register and the company's opt-out list, and streams that query's answer (COPY again)
into the marked copy of the file, so the worker's memory stays flat whatever the file's size.
A row's status and reason follow the same rules as a number check (`campaigns.checks`), plus the
opt-in date of seed 001: the consumer's latest act prevails.

Crash safety: the job holds a PostgreSQL session advisory lock on its call file while it works.
A task redelivered after its worker died (acks_late) finds the row RUNNING and the lock free, and
starts over; one delivered while the first still works finds the lock held and comes back
later, in case the holder is the lingering session of a dead worker. Credits
are spent with the call file as the ledger reference in the transaction that publishes the
result, so a file is charged once whatever happens around it.
"""

import datetime
import hashlib
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from functools import lru_cache
from inspect import GEN_CREATED, getgeneratorstate
from itertools import islice
from operator import itemgetter
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, connections, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from psycopg import pq
from psycopg.copy import QueuedLibpqWriter

from campaigns.checks import CheckReason, CheckStatus, checks_charge_credits
from campaigns.models import (
    CallFile,
    CallFileStatus,
    Campaign,
    FileKind,
    ProviderStatus,
    call_file_path,
)
from campaigns.selectors import campaign_get
from licences.models import Company, CreditEntry
from licences.selectors import access_licence_in_force, credit_balance, register_today
from licences.services import credits_spend
from register.errors import DomainError, InsufficientCredits, NotFound
from register.models import ALL_CATEGORIES
from register.phone import Normaliser, Problem
from uploads.intake import (
    Detected,
    FileSettings,
    IntakeError,
    intake_detect,
    intake_records,
    intake_write_marked,
)

MARK_HEADER = ("dnc_status", "dnc_reason", "dnc_number", "dnc_registered_on")
# Records normalised and sent to PostgreSQL at a time, and how often progress is written.
CHUNK = 50_000
UPLOAD_BLOCK = 1 << 20
# Share of the progress bar for reading the file; matching and writing take the rest.
READ_SHARE = 50
# Seconds at least between two writes of the progress.
PROGRESS_INTERVAL = 0.2
# A workbook's rows cannot be counted before reading them; a zipped sheet of phone numbers takes
# about this many bytes a row, enough to move the bar honestly.
XLSX_BYTES_PER_ROW = 12
# Work the user abandoned or that proved nothing is kept this long (SPEC §8.9).
SHORT_RETENTION = datetime.timedelta(days=1)
# Session advisory locks share one key space per database: call files take the keys
# LOCK_SPACE + id. `pg_try_advisory_lock(bigint)`; ids stay far below 2**32.
LOCK_SPACE = 0x4346_0001 << 32

# Not a reason a number check gives: only a file carries opt-in dates (SPEC §8.5).
OPT_IN_AFTER_REGISTRATION = "OPT_IN_AFTER_REGISTRATION"
_PROBLEM_CODES = {None: "\\N", Problem.INVALID: "i", Problem.FOREIGN: "f", Problem.SERVICE: "s"}
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


# Reads


def call_files_for_company(*, company: Company) -> QuerySet[CallFile]:
    """The files the company uploaded, and those of campaigns it owns or runs as accepted call
    centre: advertiser and call centre are both responsible for the scrub (seeds 001, 002)."""
    return CallFile.objects.filter(
        Q(company=company)
        | Q(campaign__company=company)
        | Q(
            campaign__service_provider=company,
            campaign__provider_status=ProviderStatus.ACCEPTED,
        ),
        register=company.register_id,
    ).select_related("campaign", "company")


def call_file_get(*, company: Company, call_file_id: int) -> CallFile:
    """One call file the company may see; any other is NotFound, never forbidden (SPEC §16)."""
    call_file = call_files_for_company(company=company).filter(pk=call_file_id).first()
    if call_file is None:
        raise NotFound
    return call_file


def call_file_settings(call_file: CallFile) -> FileSettings:
    return FileSettings(
        kind=call_file.kind,
        encoding=call_file.encoding,
        delimiter=call_file.delimiter,
        has_header=call_file.has_header,
        phone_column=call_file.phone_column,
        opt_in_column=call_file.opt_in_column,
    )


def _stored_overrides(call_file: CallFile) -> dict[str, object]:
    """The row's settings in the shape `intake_detect` takes them, so detection repeats them."""
    overrides: dict[str, object] = {
        "has_header": call_file.has_header,
        "phone_column": call_file.phone_column,
        # 0 says "none": a column the user cleared is not detected again.
        "opt_in_column": call_file.opt_in_column or 0,
    }
    if call_file.kind == FileKind.DELIMITED:
        overrides.update(encoding=call_file.encoding, delimiter=call_file.delimiter)
    return overrides


def _path(name: str) -> Path:
    return Path(default_storage.path(name))


def call_file_preview(*, call_file: CallFile) -> Detected:
    """The file as its stored settings read it: the portal's preview of a draft."""
    return intake_detect(
        _path(call_file.file.name),
        filename=call_file.filename,
        overrides=_stored_overrides(call_file),
    )


def call_file_progress(*, call_file: CallFile) -> int:
    """How far the job is, 0-100; a finished job is 100 whatever its outcome."""
    if call_file.status in (CallFileStatus.DONE, CallFileStatus.REJECTED, CallFileStatus.FAILED):
        return 100
    return call_file.progress


def call_file_result_filename(call_file: CallFile) -> str:
    """The name the marked file is saved under: the upload's own, marked."""
    name = Path(call_file.filename).name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name or "call-file", ""
    if call_file.kind == FileKind.XLSX:
        extension = "xlsx"
    return f"{stem}-marked.{extension or 'csv'}"


# Writes: upload and confirmation


def _upload_blocks(upload) -> Iterator[bytes]:
    if hasattr(upload, "chunks"):
        yield from upload.chunks(UPLOAD_BLOCK)
    else:
        yield from iter(lambda: upload.read(UPLOAD_BLOCK), b"")


def _too_large() -> IntakeError:
    return IntakeError(
        _("The file is larger than %(max)d MB, the most a call file may be.")
        % {"max": settings.CALL_FILE_MAX_BYTES // (1024 * 1024)},
        code="too_large",
    )


def _apply_settings(call_file: CallFile, detected: Detected) -> None:
    found = detected.settings
    call_file.kind = found.kind
    call_file.encoding = found.encoding
    call_file.delimiter = found.delimiter
    call_file.has_header = found.has_header
    call_file.phone_column = found.phone_column
    call_file.opt_in_column = found.opt_in_column


def call_file_upload(
    *,
    company: Company,
    campaign: Campaign,
    uploaded_by,
    upload,
    filename: str,
    overrides: Mapping | None = None,
    confirm: bool,
) -> CallFile:
    """Stores an uploaded call file with its SHA-256 and the settings it is read with.

    `confirm=True` (the API) queues the job once committed; `confirm=False` (the portal) keeps a
    DRAFT the user checks in the preview first. A file too large, unreadable or without a phone
    column raises IntakeError, and nothing is kept.
    """
    campaign = campaign_get(company=company, campaign_id=campaign.pk)
    register = company.register
    size = getattr(upload, "size", None)
    if size is not None and size > settings.CALL_FILE_MAX_BYTES:
        raise _too_large()
    call_file = CallFile(
        register=register,
        company=company,
        campaign=campaign,
        uploaded_by=uploaded_by,
        filename=Path(filename).name[:255] or "call-file",
        status=CallFileStatus.QUEUED if confirm else CallFileStatus.DRAFT,
        language=translation.get_language() or register.default_language,
    )
    name = call_file_path(call_file, filename)
    path = _path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("wb") as sink:
            for block in _upload_blocks(upload):
                size += len(block)
                if size > settings.CALL_FILE_MAX_BYTES:
                    raise _too_large()
                digest.update(block)
                sink.write(block)
        detected = intake_detect(path, filename=call_file.filename, overrides=overrides)
        _apply_settings(call_file, detected)
        call_file.file.name, call_file.sha256, call_file.size = name, digest.hexdigest(), size
        with transaction.atomic():
            call_file.save()
            if confirm:
                transaction.on_commit(lambda: _queue_mark(call_file.pk))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return call_file


def call_file_confirm(*, call_file: CallFile, overrides: Mapping) -> CallFile:
    """The user accepts a draft's settings (corrected by `overrides`): read again, then queued."""
    with transaction.atomic():
        # Two clicks at once: the second finds the file queued already.
        locked = CallFile.objects.select_for_update(of=("self",)).get(pk=call_file.pk)
        if locked.status != CallFileStatus.DRAFT:
            raise DomainError(_("This file has been sent for marking already."), code="not_a_draft")
        detected = intake_detect(
            _path(locked.file.name),
            filename=locked.filename,
            overrides={**_stored_overrides(locked), **overrides},
        )
        _apply_settings(locked, detected)
        locked.status = CallFileStatus.QUEUED
        locked.save(
            update_fields=[
                "kind",
                "encoding",
                "delimiter",
                "has_header",
                "phone_column",
                "opt_in_column",
                "status",
            ]
        )
        transaction.on_commit(lambda: _queue_mark(locked.pk))
    return locked


def _queue_mark(call_file_id: int) -> None:
    from campaigns.tasks import call_file_mark_task

    call_file_mark_task.delay(call_file_id)


# The job


def call_file_mark(*, call_file_id: int) -> CallFile | None:
    """Marks a queued call file; None when another run has it or had it.

    Claimed with a conditional UPDATE under the file's advisory lock: QUEUED, or RUNNING with the
    lock free (its worker died), is taken (over) from the start; anything else is left alone.
    A finished file whose certificate is missing (the worker died just after publishing) gets it.
    """
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_SPACE + call_file_id])
        if not cursor.fetchone()[0]:
            return None
    try:
        claimed = CallFile.objects.filter(
            pk=call_file_id, status__in=[CallFileStatus.QUEUED, CallFileStatus.RUNNING]
        ).update(
            status=CallFileStatus.RUNNING,
            started_at=timezone.now(),
            progress=0,
            error_code="",
            error_message="",
        )
        if not claimed:
            done = CallFile.objects.filter(
                pk=call_file_id, status=CallFileStatus.DONE, certificate=""
            ).exists()
            return call_file_certificate_render(call_file_id=call_file_id) if done else None
        call_file = CallFile.objects.select_related("register", "campaign", "company").get(
            pk=call_file_id
        )
        with translation.override(call_file.language or call_file.register.default_language):
            try:
                _mark(call_file)
            except _Rejected as rejected:
                _finish_unpublished(
                    call_file, CallFileStatus.REJECTED, rejected.code, rejected.message
                )
                return call_file
            except Exception:
                _finish_unpublished(
                    call_file,
                    CallFileStatus.FAILED,
                    "internal_error",
                    _g(
                        "Marking this file failed on our side; nothing was charged. "
                        "Upload it again, or ask the service desk if it fails again."
                    ),
                )
                raise
        # Rendered once the result is published: the file is ready while this runs.
        return call_file_certificate_render(call_file_id=call_file_id)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_SPACE + call_file_id])


def call_file_awaits_worker(*, call_file_id: int) -> bool:
    """Whether the job still has to run: a run that found its lock held asks again later, since
    the holder may be the database session of a worker that died while waiting on a lock,
    which PostgreSQL ends only when that wait is over."""
    return CallFile.objects.filter(
        pk=call_file_id, status__in=[CallFileStatus.QUEUED, CallFileStatus.RUNNING]
    ).exists()


def _finish_unpublished(call_file: CallFile, status: str, code: str, message: str) -> None:
    CallFile.objects.filter(pk=call_file.pk, status=CallFileStatus.RUNNING).update(
        status=status,
        error_code=code,
        error_message=str(message),
        finished_at=timezone.now(),
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

    def __call__(self, percent: int) -> None:
        percent = max(0, min(99, int(percent)))
        now = time.monotonic()
        # A few steps a second are all a person watching sees; every percent of a large
        # file would be a hundred updates.
        if percent <= self.shown or now < self.next_at:
            return
        self.shown, self.next_at = percent, now + PROGRESS_INTERVAL
        with self._cursor() as cursor:
            cursor.execute(
                "UPDATE campaigns_callfile SET progress = %s WHERE id = %s AND status = %s",
                [percent, self.call_file_id, CallFileStatus.RUNNING],
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


def _mark(call_file: CallFile) -> None:
    register = call_file.register
    path = _path(call_file.file.name)
    file_settings = call_file_settings(call_file)
    progress = _Progress(call_file.pk)
    # Beside the upload, whose name is unguessable: a run taking over from a dead one writes
    # the same name again rather than leaving the dead run's file behind.
    result_name = f"{call_file.file.name}.marked"
    result_path = _path(result_name)
    partial = result_path.with_name(result_path.name + ".part")
    try:
        # A savepoint in a caller's transaction; the worker's own transaction otherwise. The
        # temporary table lives as long as it, and goes with it if anything fails.
        with transaction.atomic(), connection.connection.cursor() as cursor:
            # The match looks each record's number up in the register's primary key and the
            # opt-out list's unique key, in number order (see _match_query). Left to itself
            # the planner would hash the whole register or merge along all of it, reading all
            # its 10,000,000 rows (seconds, for a small file too), or, trusting statistics not
            # yet gathered, scan it once per record (hours). Without scans the key is the only
            # way. The sorts by number and by seq (file order) fit in memory.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(
                "CREATE TEMP TABLE call_file_rows"
                ' (seq integer, number bigint, problem "char", opt_in date) ON COMMIT DROP'
            )
            try:
                rows_total = _load(cursor, path, file_settings, register, progress)
            except IntakeError as error:
                raise _Rejected(error.code, str(error.message)) from error
            _require_licence(call_file, rows_total)
            # No ANALYZE of the records: with scans off the plan has one shape whatever their
            # statistics (the planner sizes the table by its pages), and 1M records took 60 ms.
            register_as_of = _register_as_of(cursor)
            result_path.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as sink:
                counts = _write_marked(
                    cursor, call_file, path, file_settings, sink, rows_total, progress
                )
            cursor.execute("DROP TABLE call_file_rows")
        progress.close()
        partial.rename(result_path)
        try:
            _publish(call_file, rows_total, counts, result_name, register_as_of)
        except BaseException:
            result_path.unlink(missing_ok=True)
            raise
    finally:
        progress.close()
        partial.unlink(missing_ok=True)


def _load(cursor, path: Path, file_settings: FileSettings, register, progress) -> int:
    """Streams the records into call_file_rows, one (seq, number, problem, opt_in) each, and
    returns how many were offered. Raises IntakeError for a bad file or opt-in date."""
    normaliser = Normaliser(register.country)
    phone = file_settings.phone_column - 1
    opt_in = None if file_settings.opt_in_column is None else file_settings.opt_in_column - 1
    expected = _expected_records(path, file_settings)
    records = intake_records(path, file_settings)
    seq = 0
    # The queued writer sends to PostgreSQL from a thread while the next chunk is normalised.
    with cursor.copy(
        "COPY call_file_rows (seq, number, problem, opt_in) FROM STDIN",
        writer=QueuedLibpqWriter(cursor),
    ) as copy:
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
            copy.write(_copy_text(seq, normaliser.many(phones), days))
            seq += len(phones)
            progress(READ_SHARE * seq / max(expected, seq + 1))
    return seq


_NULL = "\\N"
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
    elif access_licence_in_force(company=call_file.company, today=register_today(register)) is None:
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


def _match_query(call_file: CallFile, delimiter: str) -> str:
    """Every record's marks, in file order: one query looking each record up in the register
    and the company's opt-out list. The same rules as a number check (campaigns.checks), in
    SQL. Each row is the text appended to its record: the marks, each after `delimiter`."""
    register = call_file.register
    purpose_bits = (
        register.category_mask([call_file.campaign.purpose])
        if register.has_categories
        else ALL_CATEGORIES
    )
    s, r = CheckStatus, CheckReason
    # Only integers and this module's constants are formatted into the statement. The inner
    # query sorts narrow rows into file order; the marks' text is made after the sort, not
    # carried through it. No mark holds a delimiter, a backslash or a line break, so COPY
    # writes them as they are, and the empty first column puts the delimiter before the first.
    return f"""
        COPY (
            SELECT
                '',
                CASE
                    WHEN m.opted_out THEN '{s.BLOCKED}'
                    WHEN m.problem = 'i' THEN '{s.INVALID}'
                    WHEN m.problem IS NOT NULL THEN '{s.OUT_OF_SCOPE}'
                    WHEN m.covered AND m.opt_in > m.registered_on THEN '{s.CALLABLE}'
                    WHEN m.covered THEN '{s.BLOCKED}'
                    ELSE '{s.CALLABLE}'
                END,
                CASE
                    WHEN m.opted_out THEN '{r.COMPANY_OPT_OUT}'
                    WHEN m.problem = 'i' THEN '{r.INVALID_NUMBER}'
                    WHEN m.problem = 'f' THEN '{r.FOREIGN_NUMBER}'
                    WHEN m.problem IS NOT NULL THEN ''
                    WHEN m.covered AND m.opt_in > m.registered_on
                        THEN '{OPT_IN_AFTER_REGISTRATION}'
                    WHEN m.covered THEN '{r.REGISTERED}'
                    ELSE ''
                END,
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
                            WHERE o.company_id = {int(call_file.company_id)}
                                AND o.number = t.number
                        ) AS opted_out
                    -- Looked up in number order: neighbouring lookups share the index's pages.
                    FROM (SELECT * FROM call_file_rows ORDER BY number) t
                    -- Keeps each lookup to once a record.
                    OFFSET 0
                ) t
                ORDER BY t.seq
            ) m
        ) TO STDOUT (DELIMITER {_COPY_DELIMITERS[delimiter]})
    """  # noqa: S608 - integers and this module's constants only


def _write_marked(
    cursor, call_file, path, file_settings, sink, rows_total: int, progress
) -> Counter:
    """Streams the match into the marked copy of the file; returns the count per status."""
    counts: Counter = Counter()
    # A CSV/TXT file takes the marks as the text to append (see intake_write_marked), a
    # workbook each record's values.
    joined = file_settings.kind != FileKind.XLSX
    delimiter = file_settings.delimiter if joined else "\t"
    pgconn = cursor.connection.pgconn
    # Sent without waiting: the writer reads the file ahead while PostgreSQL matches.
    pgconn.send_query(_match_query(call_file, delimiter).encode())

    def waiting() -> bool:
        pgconn.consume_input()
        return bool(pgconn.is_busy())

    marks = _marks(pgconn, counts, rows_total, progress, delimiter, joined)
    try:
        intake_write_marked(
            path, file_settings, sink, MARK_HEADER, marks, joined=joined, waiting=waiting
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
    pgconn, counts: Counter, rows_total: int, progress, delimiter: str, joined: bool
) -> Iterator[str] | Iterator[list[str]]:
    """The COPY's rows, each the text appended to its record (`joined`) or its values [status,
    reason, number, registered_on], read in blocks: libpq hands out one row per call, so they
    are decoded and split into rows a block at a time rather than one by one."""
    started = pgconn.get_result()
    if started.status != pq.ExecStatus.COPY_OUT:
        while pgconn.get_result() is not None:
            pass
        raise RuntimeError(started.get_error_message())
    read = pgconn.get_copy_data
    pending = bytearray()
    done = 0
    finished = False
    try:
        while True:
            length, data = read(0)
            if length >= 0:
                pending += data
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
                progress(READ_SHARE + (100 - READ_SHARE) * done / max(rows_total, 1))
                if joined:
                    yield from lines
                else:
                    # Split as the writer takes them, so the lists die young.
                    yield from map(_values, lines)
            if length < 0:
                break
        finished = True
    finally:
        # A writer that stopped early leaves the COPY unread: drain it, so the connection is
        # ready for the next statement (the rollback that follows).
        if not finished:
            while read(0)[0] >= 0:
                pass
        result = pgconn.get_result()
        while pgconn.get_result() is not None:
            pass
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise RuntimeError(result.get_error_message())


def _values(line: str) -> list[str]:
    """A COPY row's marks, without the empty column before them."""
    return line.split("\t")[1:]


def _publish(call_file: CallFile, rows_total: int, counts: Counter, result_name: str, as_of):
    """Charges (nl) and publishes the result in one transaction: both happen, or neither."""
    register = call_file.register
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
            "credits_charged": charged,
            "result": result_name,
            "register_as_of": as_of,
            "valid_until": register_today(register)
            + datetime.timedelta(days=register.use_period_days),
            "finished_at": finished,
        }
        published = CallFile.objects.filter(pk=call_file.pk, status=CallFileStatus.RUNNING).update(
            **values
        )
        if not published:
            raise RuntimeError(f"call file {call_file.pk} is no longer running")
    for field, value in values.items():
        setattr(call_file, field, value)


def call_file_certificate_render(*, call_file_id: int) -> CallFile | None:
    """The certificate of consultation (SPEC §8.7): rendered once for a finished scrub and kept
    after the files are purged. Labels in Dutch and English at once, like an invoice: it is read
    by an inspector, whatever language the user reads the portal in."""
    from weasyprint import HTML

    with transaction.atomic():
        call_file = (
            CallFile.objects.select_for_update(of=("self",))
            .select_related("register", "campaign", "company")
            .filter(pk=call_file_id)
            .first()
        )
        if call_file is None or call_file.status != CallFileStatus.DONE or call_file.certificate:
            return call_file
        html = render_to_string(
            "campaigns/certificate_pdf.html",
            {
                "call_file": call_file,
                "register": call_file.register,
                "time_zone": call_file.register.time_zone,
                "purpose": " / ".join(
                    dict.fromkeys(
                        call_file.register.category_label(call_file.campaign.purpose, language)
                        for language in ("nl", "en")
                    )
                ),
            },
        )
        pdf = HTML(string=html, base_url=str(settings.BASE_DIR / "templates")).write_pdf()
        # An unguessable name: the certificate is only ever served through an access check.
        name = f"call-files/{call_file.register.slug}/{secrets.token_urlsafe(24)}.pdf"
        call_file.certificate.save(name, ContentFile(pdf), save=False)
        call_file.save(update_fields=["certificate"])
    return call_file


# Retention


def call_files_purge(*, today: datetime.date | None = None) -> int:
    """Deletes the files whose use has ended (SPEC §8.9); returns how many call files lost them.

    A finished scrub's upload and result go when its period ends (`valid_until` before today);
    the record, its counts and its certificate stay as the proof of consultation. A rejected or
    failed job's upload goes after a day (it cost nothing and proves nothing), and a draft
    nobody confirmed within a day goes with its record.
    """
    from register.models import Register

    now = timezone.now()
    purged = 0
    for register in Register.objects.all():
        day = today or register_today(register)
        ended = CallFile.objects.filter(
            Q(valid_until__lt=day)
            | Q(
                status__in=[CallFileStatus.REJECTED, CallFileStatus.FAILED],
                finished_at__lt=now - SHORT_RETENTION,
            ),
            register=register,
            files_deleted_at__isnull=True,
        )
        for call_file in ended.iterator():
            for stored in (call_file.file, call_file.result):
                if stored.name:
                    default_storage.delete(stored.name)
            call_file.file.name, call_file.result.name = "", ""
            call_file.files_deleted_at = now
            call_file.save(update_fields=["file", "result", "files_deleted_at"])
            purged += 1
        drafts = CallFile.objects.filter(
            register=register, status=CallFileStatus.DRAFT, created_at__lt=now - SHORT_RETENTION
        )
        for call_file in drafts.iterator():
            if call_file.file.name:
                default_storage.delete(call_file.file.name)
            call_file.delete()
            purged += 1
    return purged
