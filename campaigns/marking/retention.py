"""How long call files are kept (SPEC §8.9): their use period, and a day for work that proved
nothing."""

import datetime

from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from campaigns.models import CallFile, CallFileStatus
from register.models import Register

# Work the user abandoned or that proved nothing is kept this long (SPEC §8.9).
SHORT_RETENTION = datetime.timedelta(days=1)


def call_files_purge(*, register: Register, today: datetime.date | None = None) -> int:
    """Deletes the register's files whose use has ended (SPEC §8.9); returns how many call files
    lost them. `today` is the register's, unless given.

    A finished scrub's upload and result go when its period ends (`valid_until` before today);
    the record, its counts and its certificate stay as the proof of consultation. A rejected or
    failed job's upload goes after a day (it cost nothing and proves nothing), and a draft
    nobody confirmed within a day goes with its record.
    """
    now = timezone.now()
    day = today or register.today()
    purged = 0
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
