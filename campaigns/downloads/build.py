"""Full and delta downloads of the register (SPEC §9): the streamed build.

A download is a text file streamed out of PostgreSQL with COPY and written in blocks while it is
hashed, so the worker's memory stays flat whatever the register's size.
"""

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.downloads.selectors import download_expected_key, download_progress_key
from campaigns.models import Download, DownloadKind, DownloadStatus
from register.copy import copy_out
from register.models import ALL_CATEGORIES, Register

# What the worker hands to the file and the hash at once: COPY delivers one row per message.
BLOCK_BYTES = 1 << 20
# A build claimed longer ago than the task's time limit died with its worker: claim it again.
STALE_AFTER = datetime.timedelta(hours=1)
ADDED, REMOVED = "add", "remove"


def download_build(*, download_id: int) -> Download | None:
    """Builds the file of a queued download; None when another run has it or had it.

    Claimed with a conditional UPDATE, so a task delivered twice builds once; a claim older than
    the task's time limit belongs to a worker that died and is taken over.
    """
    now = timezone.now()
    claimed = Download.objects.filter(
        Q(status=DownloadStatus.QUEUED)
        | Q(status=DownloadStatus.RUNNING, started_at__lt=now - STALE_AFTER),
        pk=download_id,
    ).update(status=DownloadStatus.RUNNING, started_at=now)
    if not claimed:
        return None
    download = Download.objects.select_related("register").get(pk=download_id)
    name = f"downloads/{download.register.slug}/{secrets.token_urlsafe(24)}.txt"
    path = Path(default_storage.path(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    try:
        with partial.open("wb") as sink:
            written = _write(download, sink)
        partial.rename(path)
    except Exception as error:
        partial.unlink(missing_ok=True)
        # The licensee did nothing wrong: the licence is free again for the next request.
        Download.objects.filter(pk=download_id).update(
            status=DownloadStatus.FAILED,
            licence=None,
            finished_at=timezone.now(),
            error=str(error)[:1000],
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
    cache.delete_many([download_progress_key(download_id), download_expected_key(download_id)])
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
        cache.set(download_expected_key(download.pk), expected, timeout=STALE_AFTER.total_seconds())
    digest = hashlib.sha256()
    size = lines = 0

    def write(block: bytearray) -> None:
        nonlocal size, lines
        sink.write(block)
        digest.update(block)
        size += len(block)
        lines += block.count(b"\n")
        cache.set(download_progress_key(download.pk), lines, timeout=STALE_AFTER.total_seconds())

    # A savepoint where the caller holds a transaction: a failed COPY leaves it usable.
    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            covers_until = _covers_until(cursor)
        rows = copy_out(
            f"COPY ({query}) TO STDOUT (FORMAT csv, DELIMITER ';')",
            params,
            write,
            block_bytes=BLOCK_BYTES,
        )
    return _Written(rows=rows, size=size, sha256=digest.hexdigest(), covers_until=covers_until)


def _covers_until(cursor) -> datetime.datetime:
    """The moment before which every change is in the file about to be read.

    An event is dated by its transaction's start (`now()`) but seen only after its commit: an
    import running for minutes commits events dated before this download began. Every
    transaction open now started at or after the earliest open transaction's start, so changes
    dated before that are committed and in the file; the next delta starts there, and may repeat
    a few lines, which apply the same way twice.
    """
    cursor.execute(
        "SELECT least(now(), min(xact_start)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return cursor.fetchone()[0]
