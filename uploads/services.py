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

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from register.calendar import working_days_after
from register.errors import DomainError
from register.models import ALL_CATEGORIES, Channel, Register
from register.phone import Normaliser, Problem
from register.services import numbers_block
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
# Seed 000: registrations reach the register within 10 working days of the consumer's request.
LEGAL_TERM_WORKING_DAYS = 10
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


def _check_content(data: bytes) -> None:
    """Refuses a file that is empty, not UTF-8 or without the header, with a message that says
    what to fix."""
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


def registration_file_upload(
    *, company: models.Model, upload: UploadedFile, uploaded_by=None
) -> RegistrationFile:
    """Stores an uploaded file of `company` (the file's licences.Company) and queues its
    processing once the upload is committed.

    The caller has checked the upload licence (`uploads.access.upload_licence_require`). A file
    over MAX_FILE_BYTES is a 413; an empty, non-UTF-8 or headerless file a 400 that says why.
    """
    register = company.register
    if upload.size is None or upload.size > MAX_FILE_BYTES:
        raise RegistrationFileError(
            _("The file is larger than %(size)d MB.") % {"size": MAX_FILE_BYTES // (1024 * 1024)},
            code="file_too_large",
            status=413,
        )
    data = upload.read()
    _check_content(data)
    filename = os.path.basename(upload.name or "")[:255] or "registrations.csv"
    registration_file = RegistrationFile(
        register=register,
        company=company,
        uploaded_by=uploaded_by,
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
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
        judge = _Judge(register, register.date_of(registration_file.created_at))
        valid, refused, rows_total = judge.read(text)
        # The register's one rule: a number already registered gets the row's categories added.
        registered = len(
            numbers_block(
                register=register,
                numbers=[row.number for row in valid],
                categories=[row.mask for row in valid],
                channel=Channel.COMPANY,
                now=now,
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
