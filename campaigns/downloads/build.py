"""Full and delta downloads of the register (SPEC §9): the streamed build.

A download is a text file streamed out of PostgreSQL with COPY and written in blocks while it is
hashed, so the worker's memory stays flat whatever the register's size.
"""

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import DatabaseError, InterfaceError, transaction
from django.utils import timezone

from campaigns.downloads.selectors import download_expected_key, download_progress_key
from campaigns.models import Download, DownloadKind, DownloadStatus
from register.copy import copy_out
from register.models import ALL_CATEGORIES, Register
from register.replica import PRIMARY, read_database_as_of, replica_failed
from register.tasking import DOWNLOAD_LOCKS, job_failure, job_finish, job_lock

# What the worker hands to the file and the hash at once: COPY delivers one row per message.
BLOCK_BYTES = 1 << 20
# How long the progress of a build is kept in the cache: longer than any build runs.
PROGRESS_TTL = 60 * 60
ADDED, REMOVED = "add", "remove"


def download_build(*, download_id: int) -> Download | None:
    """Builds the file of a queued download; None when another run has it or had it.

    Claimed with a conditional UPDATE under the download's session advisory lock (as a scrub
    is, register.tasking.job_lock): QUEUED, or RUNNING with the lock free — its worker died — is
    taken (over) from the start; a run whose lock is held by a live one does nothing. A build
    that cannot finish ends FAILED with a code and a message, its partial file removed and its
    licence free again.
    """
    with job_lock(DOWNLOAD_LOCKS, download_id) as taken:
        if not taken:
            return None
        claimed = Download.objects.filter(
            pk=download_id, status__in=[DownloadStatus.QUEUED, DownloadStatus.RUNNING]
        ).update(status=DownloadStatus.RUNNING, started_at=timezone.now(), error="")
        if not claimed:
            return None
        return _build(Download.objects.select_related("register").get(pk=download_id))


def _build(download: Download) -> Download:
    name = f"downloads/{download.register.slug}/{secrets.token_urlsafe(24)}.txt"
    path = Path(default_storage.path(name))
    partial = path.with_suffix(".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as sink:
            written = _write(download, sink)
        partial.rename(path)
    except Exception as error:
        partial.unlink(missing_ok=True)
        code, _message = job_failure(error)
        # The licensee did nothing wrong: the licence is free again for the next request.
        job_finish(
            Download,
            download.pk,
            from_statuses=[DownloadStatus.RUNNING],
            values={
                "status": DownloadStatus.FAILED,
                "licence": None,
                "finished_at": timezone.now(),
                "error": f"{code}: {error}"[:1000],
            },
        )
        raise
    finished = timezone.now()
    download.file.name = name
    download.rows, download.size, download.sha256 = written.rows, written.size, written.sha256
    download.covers_until = written.covers_until
    download.valid_until = download.register.today() + datetime.timedelta(
        days=download.register.use_period_days
    )
    download.status, download.finished_at = DownloadStatus.DONE, finished
    download.save(
        update_fields=[
            "file",
            "rows",
            "size",
            "sha256",
            "covers_until",
            "valid_until",
            "status",
            "finished_at",
        ]
    )
    cache.delete_many([download_progress_key(download.pk), download_expected_key(download.pk)])
    return download


@dataclass(frozen=True)
class _Written:
    rows: int
    size: int
    sha256: str
    covers_until: datetime.datetime


def _category_labels(register: Register) -> tuple[list[int], list[str]]:
    """Every mask a registration can hold and its codes, as register_export writes them."""
    masks = [ALL_CATEGORIES, *range(1, 1 << len(register.categories))]
    return masks, [",".join(register.category_codes(mask)) for mask in masks]


def full_download_query(register: Register) -> tuple[str, list]:
    """The SELECT of a full download's lines, and its parameters (also the benchmark's)."""
    if not register.has_categories:
        return (
            "SELECT b.number, b.registered_on FROM register_blockednumber b"
            " WHERE b.register_id = %s ORDER BY b.number",
            [register.pk],
        )
    return (
        """
        SELECT b.number, b.registered_on, m.codes
        FROM register_blockednumber b
        LEFT JOIN unnest(%s::smallint[], %s::text[]) AS m(mask, codes) ON m.mask = b.categories
        WHERE b.register_id = %s
        ORDER BY b.number
        """,
        [*_category_labels(register), register.pk],
    )


def _delta_query(register: Register, since: datetime.datetime) -> tuple[str, list]:
    # The last event of each number since the moment says whether it changed; its current row
    # says how it stands now, so a number blocked and unblocked again since is one removal.
    # A number an import loaded has its block event in the import until it next changes
    # (register.models.RegisterImport): nothing has happened to such a number since.
    categories = ", m.codes" if register.has_categories else ""
    labels = (
        "LEFT JOIN unnest(%s::smallint[], %s::text[]) AS m(mask, codes) ON m.mask = b.categories"
        if register.has_categories
        else ""
    )
    return (
        f"""
        SELECT CASE WHEN b.number IS NULL THEN '{REMOVED}' ELSE '{ADDED}' END, e.number,
               b.registered_on{categories},
               to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        FROM (
            SELECT DISTINCT ON (number) number, occurred_at
            FROM (
                SELECT number, occurred_at, id
                FROM register_registerevent
                WHERE register_id = %s AND occurred_at >= %s
                UNION ALL
                SELECT b.number, i.occurred_at, 0
                FROM register_registerimport i
                JOIN register_blockednumber b ON b.imported_in_id = i.id
                WHERE i.register_id = %s AND i.occurred_at >= %s
            ) changes
            ORDER BY number, occurred_at DESC, id DESC
        ) e
        LEFT JOIN register_blockednumber b ON b.number = e.number
        {labels}
        ORDER BY e.occurred_at, e.number
        """,  # noqa: S608 - the parts are this module's constants
        [
            register.pk,
            since,
            register.pk,
            since,
            *(_category_labels(register) if register.has_categories else []),
        ],
    )


def _write(download: Download, sink) -> _Written:
    """Streams the download's lines from COPY into `sink` in blocks, hashing as it goes."""
    register = download.register
    if download.kind == DownloadKind.FULL:
        query, params = full_download_query(register)
        expected = (
            Download.objects.filter(
                register=register, kind=DownloadKind.FULL, status=DownloadStatus.DONE
            )
            .order_by("-finished_at")
            .values_list("rows", flat=True)
            .first()
        )
    else:
        query, params = _delta_query(register, download.since)
        expected = None
    if expected:
        cache.set(download_expected_key(download.pk), expected, timeout=PROGRESS_TTL)
    digest = hashlib.sha256()
    size = lines = 0

    def write(block: bytearray) -> None:
        nonlocal size, lines
        sink.write(block)
        digest.update(block)
        size += len(block)
        lines += block.count(b"\n")
        cache.set(download_progress_key(download.pk), lines, timeout=PROGRESS_TTL)

    def copy(database: str) -> int:
        # A savepoint where the caller holds a transaction: a failed COPY leaves it usable.
        with transaction.atomic(using=database):
            return copy_out(
                f"COPY ({query}) TO STDOUT (FORMAT csv, DELIMITER ';')",
                params,
                write,
                block_bytes=BLOCK_BYTES,
                using=database,
            )

    # Read from the replica when there is a usable one that has replayed every change dated
    # before `covers_until` (register.replica); the next delta starts there, and may repeat a
    # few lines, which apply the same way twice.
    database, covers_until = read_database_as_of()
    try:
        rows = copy(database)
    except (DatabaseError, InterfaceError, psycopg.Error) as error:
        if database == PRIMARY:
            raise
        # The replica stopped or was cut off under the COPY: the file is read again from the
        # primary, from its start.
        replica_failed(error)
        sink.seek(0)
        sink.truncate()
        digest = hashlib.sha256()
        size = lines = 0
        rows = copy(PRIMARY)
    return _Written(rows=rows, size=size, sha256=digest.hexdigest(), covers_until=covers_until)
