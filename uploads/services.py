"""Registration files (SPEC §11): intake under the upload licence, and processing into the register.

A file is checked whole when it is uploaded (size, UTF-8, header), so a bad file gets its answer
at once and never a server error; the rows are judged later by a worker. Processing is set-wise:
the numbers are normalised in one batch, blocked by the register's own service
(`register.services.numbers_block`, the rule every channel follows), and the report's rows are
written in batches.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, models, transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from register.audit import log_action
from register.calendar import REGISTRATION_TERM_WORKING_DAYS, working_days_after
from register.errors import DomainError, NotFound
from register.models import ALL_CATEGORIES, Channel, Register
from register.phone import Normaliser, Problem
from register.services import numbers_block, register_writes_revert
from register.tasking import (
    REGISTRATION_FILE_LOCKS,
    enqueue,
    job_failure,
    job_finish,
    job_lock,
    jobs_requeue,
    reaper_cutoff,
)
from uploads.models import (
    FileStatus,
    RegistrationFile,
    RegistrationRow,
    RowReason,
    registration_file_path,
)
from uploads.storage import written_atomically

logger = logging.getLogger(__name__)

HEADER = ("number", "categories", "requested_on")
SEPARATOR = "|"
ALL = "all"
LEGAL_TERM_WORKING_DAYS = REGISTRATION_TERM_WORKING_DAYS
# A company delivers what it collected in days of calls: a few thousand rows. 10 MB holds some
# 300,000, enough for any honest delivery, and bounds what one upload costs the worker.
MAX_FILE_BYTES = 10 * 1024 * 1024
# How much of a refused number the report repeats.
SHOWN_NUMBER_LENGTH = 40
ROW_BATCH = 5_000

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PROBLEM_REASONS = {
    Problem.INVALID: RowReason.INVALID,
    Problem.FOREIGN: RowReason.FOREIGN,
    Problem.SERVICE: RowReason.SERVICE,
}


class RegistrationFileError(DomainError):
    code = "registration_file"
    message = _("The file cannot be read as a registration file.")


def _header_text() -> str:
    return SEPARATOR.join(HEADER)


class DailyLimitExceeded(RegistrationFileError):
    code = "daily_limit_exceeded"

    def __init__(self, *, rows: int, limit: int, left: int):
        super().__init__(
            _(
                "The file holds %(rows)d registrations, more than your company may deliver "
                "today: at most %(limit)d a day, %(left)d left today. Nothing of it is "
                "registered; deliver the rest tomorrow."
            )
            % {"rows": rows, "limit": limit, "left": left}
        )


def _day_bounds(register: Register, day: datetime.date) -> tuple[datetime.datetime, ...]:
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=register.zone)
    end = datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time(), tzinfo=register.zone
    )
    return start, end


def _rows_of_day(
    *, register: Register, company_id: int, day: datetime.date, statuses: list[str]
) -> int:
    """The rows of the company's files uploaded on `day` (the register's), in `statuses`; a
    reverted file's rows no longer count."""
    start, end = _day_bounds(register, day)
    return (
        RegistrationFile.objects.filter(
            company_id=company_id,
            created_at__gte=start,
            created_at__lt=end,
            status__in=statuses,
            reverted_at__isnull=True,
        ).aggregate(rows=Sum("rows_total"))["rows"]
        or 0
    )


def _daily_limit_check(*, rows: int, counted: int) -> None:
    limit = settings.REGISTRATION_ROWS_PER_DAY
    left = max(limit - counted, 0)
    if rows > left:
        raise DailyLimitExceeded(rows=rows, limit=limit, left=left)


def _data_rows(text: str) -> int:
    """The data rows of a file's text: its lines after the header, blank ones not counted."""
    return sum(1 for line in text.split("\n")[1:] if line.strip())


def _check_content(data: bytes) -> str:
    """Refuses a file that is empty, not UTF-8 or without the header, with a message that says
    what to fix; returns the text."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise RegistrationFileError(_("The file is empty."), code="file_empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RegistrationFileError(
            _(
                "The file is not UTF-8 text (byte %(position)d cannot be read). Save it as "
                "UTF-8 and upload it again."
            )
            % {"position": error.start},
            code="not_utf8",
        ) from error
    first, _newline, rest = text.partition("\n")
    header = tuple(field.strip().lower() for field in first.strip().split(SEPARATOR))
    if header != HEADER:
        raise RegistrationFileError(
            _("The first line must be the header %(header)s.") % {"header": _header_text()},
            code="wrong_header",
        )
    if not rest.strip():
        raise RegistrationFileError(
            _("The file holds the header but no registrations."), code="file_empty"
        )
    return text


def registration_file_upload(
    *, company: models.Model, upload: UploadedFile, uploaded_by=None
) -> RegistrationFile:
    """Stores an uploaded file of `company` (the file's licences.Company) and queues its
    processing once the upload is committed.

    The caller has checked the upload licence (`uploads.access.upload_licence_require`). A file
    over MAX_FILE_BYTES is a 413; an empty, non-UTF-8 or headerless file a 400 that says why;
    so is a file whose rows would pass the company's daily limit with its other files of today
    (`daily_limit_exceeded`). That answer is a courtesy, given at once: two files uploaded
    together may both pass it, and the processing checks again under a lock, which holds.
    """
    register = company.register
    if upload.size is None or upload.size > MAX_FILE_BYTES:
        raise RegistrationFileError(
            _("The file is larger than %(size)d MB.") % {"size": MAX_FILE_BYTES // (1024 * 1024)},
            code="file_too_large",
            status=413,
        )
    data = upload.read()
    rows = _data_rows(_check_content(data).replace("\r", ""))
    _daily_limit_check(
        rows=rows,
        counted=_rows_of_day(
            register=register,
            company_id=company.pk,
            day=register.today(),
            statuses=[FileStatus.QUEUED, FileStatus.RUNNING, FileStatus.DONE],
        ),
    )
    filename = os.path.basename(upload.name or "")[:255] or "registrations.csv"
    registration_file = RegistrationFile(
        register=register,
        company=company,
        uploaded_by=uploaded_by,
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        # Counted against the daily limit while it waits; the processing counts it again.
        rows_total=rows,
    )
    name = default_storage.generate_filename(registration_file_path(registration_file, filename))
    path = Path(default_storage.path(name))
    # Written whole or not at all; a full disk is a 507 with nothing kept (uploads.storage).
    with written_atomically(path) as sink:
        sink.write(data)
    registration_file.file.name = name
    try:
        with transaction.atomic():
            registration_file.save()
            transaction.on_commit(lambda: _queue_processing(registration_file.pk))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return registration_file


def _queue_processing(file_id: int) -> None:
    from uploads.tasks import registration_file_process_task

    enqueue(registration_file_process_task, file_id)


def registration_files_requeue_stuck(*, register: Register) -> int:
    """The reaper's pass over the register's registration files (config/reaper.py): queued past
    the cutoff and not claimed, or running with their lock free (the worker died). Returns how
    many were queued again."""
    from uploads.tasks import registration_file_process_task

    files = RegistrationFile.objects.filter(register=register)
    return jobs_requeue(
        task=registration_file_process_task,
        lock_space=REGISTRATION_FILE_LOCKS,
        queued=files.filter(status=FileStatus.QUEUED, created_at__lt=reaper_cutoff()),
        running=files.filter(status=FileStatus.RUNNING),
    )


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    text: str
    number: int
    mask: int
    requested_on: datetime.date


class _Judge:
    """Reads the data lines of a file; the distinct category and date texts are judged once."""

    def __init__(self, register: Register, delivered_on: datetime.date):
        self.register = register
        self.delivered_on = delivered_on
        self.masks: dict[str, int | None] = {}
        self.days: dict[str, datetime.date | None] = {}
        self.deadlines: dict[datetime.date, datetime.date] = {}

    def mask(self, text: str) -> int | None:
        try:
            return self.masks[text]
        except KeyError:
            pass
        codes = {code.strip().lower() for code in text.split(",")}
        if codes == {ALL}:
            mask = ALL_CATEGORIES
        elif "" in codes or ALL in codes:
            mask = None
        else:
            try:
                mask = self.register.category_mask(codes)
            except ValueError:
                mask = None
        self.masks[text] = mask
        return mask

    def day(self, text: str) -> datetime.date | None:
        try:
            return self.days[text]
        except KeyError:
            pass
        try:
            day = datetime.date.fromisoformat(text) if _DATE.fullmatch(text) else None
        except ValueError:
            day = None
        # A request after the file was delivered cannot have been made.
        if day is not None and day > self.delivered_on:
            day = None
        self.days[text] = day
        return day

    def late(self, requested_on: datetime.date) -> bool:
        """Delivered after the last of the 10 working days that follow the request."""
        deadline = self.deadlines.get(requested_on)
        if deadline is None:
            deadline = working_days_after(
                register=self.register, start=requested_on, days=LEGAL_TERM_WORKING_DAYS
            )
            self.deadlines[requested_on] = deadline
        return self.delivered_on > deadline

    def read(self, text: str) -> tuple[list[_Row], list[tuple[int, str, RowReason]], int]:
        """The valid rows, the refused ones as (line, number text, reason), and the row count.

        Line numbers are the file's own (the header is line 1); blank lines are not rows.
        """
        candidates: list[tuple[int, str, int, datetime.date]] = []
        refused: list[tuple[int, str, RowReason]] = []
        rows = 0
        lines = text.split("\n")
        for index, line in enumerate(lines[1:], start=2):
            line = line.strip()
            if not line:
                continue
            rows += 1
            fields = line.split(SEPARATOR)
            if len(fields) != len(HEADER):
                refused.append((index, fields[0].strip(), RowReason.WRONG_COLUMNS))
                continue
            number_text, categories, day_text = (field.strip() for field in fields)
            mask = self.mask(categories)
            day = self.day(day_text)
            if mask is None:
                refused.append((index, number_text, RowReason.BAD_CATEGORIES))
            elif day is None:
                refused.append((index, number_text, RowReason.BAD_DATE))
            else:
                candidates.append((index, number_text, mask, day))
        verdicts = Normaliser(self.register.country).many(number for _, number, _, _ in candidates)
        valid: list[_Row] = []
        for (index, number_text, mask, day), (number, problem) in zip(
            candidates, verdicts, strict=True
        ):
            if problem is not None:
                refused.append((index, number_text, _PROBLEM_REASONS[problem]))
            else:
                valid.append(_Row(index, number_text, number, mask, day))
        refused.sort()
        return valid, refused, rows


def _shown(number_text: str) -> str:
    return number_text[:SHOWN_NUMBER_LENGTH]


def registration_file_process(*, file_id: int) -> RegistrationFile | None:
    """Judges and registers the rows of a queued file; None when another run has it or had it.

    Runs twice harmlessly: the run holds the file's session advisory lock (as a scrub does,
    register.tasking.job_lock), and the claim is a conditional UPDATE inside the transaction
    that also registers the rows and marks the file done. A second run while the first lives
    finds the lock held and does nothing; a run that dies rolls back whole and leaves the file
    RUNNING with its lock free, which the next delivery or the reaper takes over at once.
    """
    with job_lock(REGISTRATION_FILE_LOCKS, file_id) as taken:
        if not taken:
            return None
        return _process(file_id)


def _process(file_id: int) -> RegistrationFile | None:
    RegistrationFile.objects.filter(pk=file_id, status=FileStatus.QUEUED).update(
        status=FileStatus.RUNNING, started_at=timezone.now()
    )
    with transaction.atomic():
        claimed = RegistrationFile.objects.filter(
            pk=file_id, status__in=[FileStatus.QUEUED, FileStatus.RUNNING]
        ).update(status=FileStatus.RUNNING)
        if not claimed:
            return None
        registration_file = RegistrationFile.objects.select_related("register").get(pk=file_id)
        register = registration_file.register
        now = timezone.now()
        with registration_file.file.open("rb") as stored:
            data = stored.read()
        text = data.decode("utf-8-sig").replace("\r", "")
        # The company delivered at the upload: a queue that waits must not make it late.
        delivered_on = register.date_of(registration_file.created_at)
        judge = _Judge(register, delivered_on)
        valid, refused, rows_total = judge.read(text)
        try:
            _daily_limit_hold(registration_file, day=delivered_on, rows=rows_total)
        except DailyLimitExceeded as error:
            return _refuse(registration_file, rows_total=rows_total, error=error)
        # The register's one rule: a number already registered gets the row's categories added.
        registered = len(
            numbers_block(
                register=register,
                numbers=[row.number for row in valid],
                categories=[row.mask for row in valid],
                channel=Channel.COMPANY,
                now=now,
                reference=registration_file.reference,
            ).blocked
        )

        late = [row for row in valid if judge.late(row.requested_on)]
        reported = [
            RegistrationRow(
                register=register,
                file=registration_file,
                line=line,
                number=_shown(number_text),
                reason=reason,
            )
            for line, number_text, reason in refused
        ]
        reported += [
            RegistrationRow(
                register=register,
                file=registration_file,
                line=row.line,
                number=_shown(row.text),
                reason=RowReason.LATE,
                requested_on=row.requested_on,
            )
            for row in late
        ]
        RegistrationRow.objects.bulk_create(reported, batch_size=ROW_BATCH)

        registration_file.status = FileStatus.DONE
        registration_file.rows_total = rows_total
        registration_file.registered = registered
        # A number repeated in the file is registered by its first line; the others find it
        # registered, their categories added.
        registration_file.already_registered = len(valid) - registered
        registration_file.invalid = len(refused)
        registration_file.late = len(late)
        registration_file.finished_at = timezone.now()
        registration_file.save(
            update_fields=[
                "status",
                "rows_total",
                "registered",
                "already_registered",
                "invalid",
                "late",
                "finished_at",
            ]
        )
    return registration_file


# Serialises the processing of one company's files, so that two files can never both fit the
# rows left of a day: the second waits for the first to commit and then counts it.
_DAILY_LIMIT_LOCK_CLASS = 0x52454744  # "REGD"


def _daily_limit_hold(registration_file: RegistrationFile, *, day: datetime.date, rows: int):
    """Raises DailyLimitExceeded unless the file's rows fit what its company has left of `day`
    after its files processed that day; holds the company's lock until the caller commits.

    This is the check that holds: the one at the upload counts files still queued and
    registers nothing, but two uploads at the same moment both pass it. Here, inside the
    processing transaction and under the lock, the count is of committed, processed files.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s::integer)",
            [_DAILY_LIMIT_LOCK_CLASS, registration_file.company_id],
        )
    counted = _rows_of_day(
        register=registration_file.register,
        company_id=registration_file.company_id,
        day=day,
        statuses=[FileStatus.DONE],
    )
    _daily_limit_check(rows=rows, counted=counted)


def _refuse(
    registration_file: RegistrationFile, *, rows_total: int, error: DomainError
) -> RegistrationFile:
    """Ends a file refused whole: nothing of it registered, the reason kept for its report."""
    with translation.override(registration_file.register.default_language):
        message = str(error.message)
    registration_file.status = FileStatus.REFUSED
    registration_file.rows_total = rows_total
    registration_file.error = message[:500]
    registration_file.finished_at = timezone.now()
    registration_file.save(update_fields=["status", "rows_total", "error", "finished_at"])
    return registration_file


def registration_file_revert(*, file_id: int, reverted_by) -> RegistrationFile:
    """Register staff undo a processed file (SPEC §11): each number it registered that has had
    no other act since is unblocked, each number whose categories it widened gets its earlier
    categories back if nothing changed them since (`register.services.register_writes_revert`,
    set-based), with events naming the revert; the file records who reverted it and when.
    """
    with transaction.atomic():
        registration_file = (
            RegistrationFile.objects.select_for_update(of=("self",))
            .select_related("register")
            .filter(pk=file_id)
            .first()
        )
        if registration_file is None:
            raise NotFound
        if registration_file.reverted_at is not None:
            raise DomainError(_("This file has already been reverted."), code="already_reverted")
        if registration_file.status != FileStatus.DONE:
            raise DomainError(
                _("Only a processed file can be reverted; this one registered nothing."),
                code="not_processed",
            )
        outcome = register_writes_revert(
            register=registration_file.register,
            reference=registration_file.reference,
            revert_reference=f"{registration_file.reference}:revert",
            since=registration_file.started_at or registration_file.created_at,
        )
        registration_file.reverted_at = timezone.now()
        registration_file.reverted_by = reverted_by
        registration_file.reverted_numbers = outcome.unblocked + outcome.restored
        registration_file.revert_kept = outcome.kept
        registration_file.save(
            update_fields=["reverted_at", "reverted_by", "reverted_numbers", "revert_kept"]
        )
        log_action(
            register=registration_file.register,
            actor=reverted_by,
            action="registration_file.reverted",
            target=registration_file,
            data={
                "company": registration_file.company_id,
                "unblocked": outcome.unblocked,
                "restored": outcome.restored,
                "kept": outcome.kept,
            },
        )
    return registration_file


def registration_file_fail(*, file_id: int, error: BaseException) -> bool:
    """Marks a file that could not be processed as failed with what the company should do,
    unless a run finished it; on a fresh connection when the job's own broke."""
    _code, message = job_failure(error)
    return bool(
        job_finish(
            RegistrationFile,
            file_id,
            from_statuses=[FileStatus.QUEUED, FileStatus.RUNNING],
            values={
                "status": FileStatus.FAILED,
                "error": message[:500],
                "finished_at": timezone.now(),
            },
        )
    )


_FINISHED = [FileStatus.DONE, FileStatus.FAILED, FileStatus.REFUSED]


# Kept after the legal term from delivery (SPEC §11) for REGISTRATION_FILE_KEPT_DAYS more, in
# which the company or a consumer may still question a registration (issue #14).
def registration_file_erase_on(*, register: Register, uploaded_on: datetime.date) -> datetime.date:
    """The day from which a file delivered on `uploaded_on` and its report's numbers are erased."""
    term_ends = working_days_after(
        register=register, start=uploaded_on, days=REGISTRATION_TERM_WORKING_DAYS
    )
    return term_ends + datetime.timedelta(days=settings.REGISTRATION_FILE_KEPT_DAYS + 1)


def registration_files_minimise(*, register: Register, now: datetime.datetime | None = None) -> int:
    """Deletes the delivered files, and blanks the numbers their reports list, once their time
    is over (`registration_file_erase_on`); the counts, the register and its history stay, and
    so does a revert (it finds the file's writes by their events). Returns how many files;
    running again finds none."""
    now = now or timezone.now()
    today = register.date_of(now)
    # Only files at least the extra days old can be due: a cheap bound before the calendar.
    candidates = RegistrationFile.objects.filter(
        register=register,
        status__in=_FINISHED,
        personal_data_erased_at__isnull=True,
        created_at__lt=now - datetime.timedelta(days=settings.REGISTRATION_FILE_KEPT_DAYS),
    )
    due = [
        registration_file
        for registration_file in candidates.only("pk", "file", "created_at")
        if registration_file_erase_on(
            register=register, uploaded_on=register.date_of(registration_file.created_at)
        )
        <= today
    ]
    erased = 0
    for registration_file in due:
        with transaction.atomic():
            claimed = RegistrationFile.objects.filter(
                pk=registration_file.pk, personal_data_erased_at__isnull=True
            ).update(personal_data_erased_at=now, file="")
            if not claimed:
                continue
            erased += 1
            RegistrationRow.objects.filter(file_id=registration_file.pk).update(number="")
            name = registration_file.file.name
            # After the commit: a rollback must not leave a row pointing to a deleted file.
            if name:
                transaction.on_commit(lambda name=name: default_storage.delete(name))
    return erased
