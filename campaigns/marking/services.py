"""Call files in (SPEC §8.1, §8.2): the upload, the draft's confirmation, and the job queued
once committed."""

import hashlib
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from campaigns.marking.selectors import call_file_overrides, stored_path
from campaigns.marking.validation import Validation, call_file_validate
from campaigns.models import CallFile, CallFileStatus, Campaign, call_file_path
from campaigns.selectors import campaign_get
from licences.models import Company
from register.errors import DomainError
from register.models import Register
from register.tasking import CALL_FILE_LOCKS, enqueue, jobs_requeue, reaper_cutoff
from uploads.intake import Detected, FileSettings, IntakeError, intake_detect
from uploads.storage import written_atomically

# Read from the upload and written to the disk at a time.
UPLOAD_BLOCK = 1 << 20
# A draft not marked within a day is deleted (retention): its validation need not live longer.
DRAFT_VALIDATION_SECONDS = 24 * 60 * 60


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
    leave_out_duplicates: bool = False,
) -> CallFile:
    """Stores an uploaded call file with its SHA-256 and the settings it is read with, and
    whether the later repeats of a number are left out of the marking.

    `confirm=True` (the API) queues the job once committed; `confirm=False` (the portal) keeps a
    DRAFT the user checks in the preview first. A file too large, unreadable or without a phone
    column raises IntakeError, a full disk InsufficientStorage (507), and nothing is kept.
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
        leave_out_duplicates=leave_out_duplicates,
        language=translation.get_language() or register.default_language,
    )
    name = call_file_path(call_file, filename)
    path = stored_path(name)
    try:
        digest, size = _store(upload, path)
        detected = intake_detect(path, filename=call_file.filename, overrides=overrides)
        _apply_settings(call_file, detected)
        call_file.file.name, call_file.sha256, call_file.size = name, digest, size
        with transaction.atomic():
            call_file.save()
            if confirm:
                transaction.on_commit(lambda: _queue_mark(call_file.pk))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return call_file


def _store(upload, path: Path) -> tuple[str, int]:
    """Writes the upload to `path`; its SHA-256 and size. IntakeError over the size limit."""
    digest, size = hashlib.sha256(), 0
    with written_atomically(path) as sink:
        for block in _upload_blocks(upload):
            size += len(block)
            if size > settings.CALL_FILE_MAX_BYTES:
                raise _too_large()
            digest.update(block)
            sink.write(block)
    return digest.hexdigest(), size


def call_file_dry_run(
    *,
    company: Company,
    campaign: Campaign,
    upload,
    filename: str,
    overrides: Mapping | None = None,
    leave_out_duplicates: bool = False,
) -> Validation:
    """The validation pass over an upload (the API's `dry_run`): read as `call_file_upload` would
    read it, counted and priced, and deleted; nothing is stored, queued or charged. The same
    IntakeError (400/413) and InsufficientStorage (507) as an upload."""
    campaign = campaign_get(company=company, campaign_id=campaign.pk)
    size = getattr(upload, "size", None)
    if size is not None and size > settings.CALL_FILE_MAX_BYTES:
        raise _too_large()
    path = stored_path(f"call-files/{company.register.slug}/dry-run-{secrets.token_urlsafe(24)}")
    try:
        _store(upload, path)
        detected = intake_detect(path, filename=Path(filename).name, overrides=overrides)
        return call_file_validate(
            path=path,
            file_settings=detected.settings,
            region=company.register.country,
            campaign=campaign,
            leave_out_duplicates=leave_out_duplicates,
        )
    finally:
        path.unlink(missing_ok=True)


def call_file_draft_validation(
    *, call_file: CallFile, file_settings: FileSettings, leave_out_duplicates: bool = False
) -> Validation:
    """The validation of a draft read with `file_settings` (the preview's), kept for the
    draft's day: the preview shows it on every rendering, and the file does not change. The
    choice to leave out the repeats only moves counts, so it is applied to what is kept."""
    key = (
        "call-file-validation:"
        + hashlib.sha256(repr((call_file.pk, call_file.sha256, file_settings)).encode()).hexdigest()
    )
    validation = cache.get(key)
    if validation is None:
        validation = call_file_validate(
            path=stored_path(call_file.file.name),
            file_settings=file_settings,
            region=call_file.register.country,
            campaign=call_file.campaign,
        )
        cache.set(key, validation, DRAFT_VALIDATION_SECONDS)
    validation.leave_out_duplicates(leave_out_duplicates)
    # The balance moves with every purchase and scrub: read now, not a day ago.
    validation.reprice(campaign=call_file.campaign)
    return validation


def call_file_confirm(
    *, call_file: CallFile, overrides: Mapping, leave_out_duplicates: bool = False
) -> CallFile:
    """The user accepts a draft's settings (corrected by `overrides`) and the choice to leave
    out the later repeats: read again, then queued."""
    with transaction.atomic():
        # Two clicks at once: the second finds the file queued already.
        locked = CallFile.objects.select_for_update(of=("self",)).get(pk=call_file.pk)
        if locked.status != CallFileStatus.DRAFT:
            raise DomainError(_("This file has been sent for marking already."), code="not_a_draft")
        detected = intake_detect(
            stored_path(locked.file.name),
            filename=locked.filename,
            overrides={**call_file_overrides(locked), **overrides},
        )
        _apply_settings(locked, detected)
        locked.leave_out_duplicates = leave_out_duplicates
        locked.status = CallFileStatus.QUEUED
        locked.save(
            update_fields=[
                "kind",
                "encoding",
                "delimiter",
                "has_header",
                "phone_column",
                "opt_in_column",
                "leave_out_duplicates",
                "status",
            ]
        )
        transaction.on_commit(lambda: _queue_mark(locked.pk))
    return locked


def _queue_mark(call_file_id: int) -> None:
    from campaigns.marking.tasks import call_file_mark_task

    enqueue(call_file_mark_task, call_file_id)


def call_files_requeue_stuck(*, register: Register) -> int:
    """The reaper's pass over the register's call files (config/reaper.py): queued past the
    cutoff and not claimed (the message was lost), running with their lock free (the worker
    died), or marked without the certificate the charge promised (SPEC §8.7: rendered until
    it exists). Returns how many were queued again."""
    from campaigns.marking.tasks import call_file_mark_task

    cutoff = reaper_cutoff()
    files = CallFile.objects.filter(register=register)
    return jobs_requeue(
        task=call_file_mark_task,
        lock_space=CALL_FILE_LOCKS,
        queued=files.filter(status=CallFileStatus.QUEUED, created_at__lt=cutoff),
        running=files.filter(status=CallFileStatus.RUNNING),
        due=files.filter(status=CallFileStatus.DONE, certificate="", finished_at__lt=cutoff),
    )
