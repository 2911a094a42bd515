"""Reads for call files: which a company sees, how a file is read, how far its job is."""

import datetime
from pathlib import Path

from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet

from campaigns.models import CallFile, CallFileStatus, FileKind, ProviderStatus
from licences.models import Company
from register.errors import NotFound
from uploads.intake import Detected, FileSettings, intake_detect


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


def call_file_overrides(call_file: CallFile) -> dict[str, object]:
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


def stored_path(name: str) -> Path:
    """Where a stored file is on the disk: the job reads and writes files as paths."""
    return Path(default_storage.path(name))


def call_file_preview(*, call_file: CallFile) -> Detected:
    """The file as its stored settings read it: the portal's preview of a draft."""
    return intake_detect(
        stored_path(call_file.file.name),
        filename=call_file.filename,
        overrides=call_file_overrides(call_file),
    )


def call_file_progress(*, call_file: CallFile) -> int:
    """How far the job is, 0-100; a finished job is 100 whatever its outcome."""
    if call_file.status in (CallFileStatus.DONE, CallFileStatus.REJECTED, CallFileStatus.FAILED):
        return 100
    return call_file.progress


def call_file_rows_done(*, call_file: CallFile, now: datetime.datetime) -> dict:
    """How far the job is in rows, and about how long it still takes: `rows_done` and
    `rows_expected` (estimated while the file is read), `seconds_left` from the pace so far.
    None where there is nothing to say yet (queued, or too early to tell)."""
    if call_file.status == CallFileStatus.DONE:
        return {
            "rows_done": call_file.rows_total,
            "rows_expected": call_file.rows_total,
            "seconds_left": 0,
            "minutes_left": 0,
        }
    expected = call_file.rows_expected
    percent = call_file.progress
    if call_file.status != CallFileStatus.RUNNING or not expected:
        return {
            "rows_done": None,
            "rows_expected": None,
            "seconds_left": None,
            "minutes_left": None,
        }
    seconds_left = None
    if percent >= 1 and call_file.started_at is not None:
        elapsed = max(0.0, (now - call_file.started_at).total_seconds())
        seconds_left = round(elapsed * (100 - percent) / percent)
    return {
        "rows_done": expected * percent // 100,
        "rows_expected": expected,
        "seconds_left": seconds_left,
        "minutes_left": None if seconds_left is None else -(-seconds_left // 60),
    }


def call_file_result_filename(call_file: CallFile) -> str:
    """The name the marked file is saved under: the upload's own, marked."""
    name = Path(call_file.filename).name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name or "call-file", ""
    if call_file.kind == FileKind.XLSX:
        extension = "xlsx"
    return f"{stem}-marked.{extension or 'csv'}"
