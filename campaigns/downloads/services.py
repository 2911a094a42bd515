"""Full and delta downloads of the register (SPEC §9): requests, the streamed build, extensions.

A download is a text file streamed out of PostgreSQL with COPY and written in blocks while it is
hashed, so the worker's memory stays flat whatever the register's size. Whether a download costs
a licence is catalogue data, not a register's name: where the catalogue sells a `download`
product (nl) each download uses up one such licence of a campaign; elsewhere (be) it is included
in the company's `access` licence.
"""

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Download, DownloadKind, DownloadStatus, ProviderStatus
from campaigns.selectors import campaign_get
from licences.models import Company, Licence, LicenceProduct, LicenceStatus, ProductKind
from licences.selectors import register_today
from register.copy import copy_out
from register.errors import DomainError, LicenceRequired, NotFound
from register.models import ALL_CATEGORIES, Register

# What the worker hands to the file and the hash at once: COPY delivers one row per message.
BLOCK_BYTES = 1 << 20
# A build claimed longer ago than the task's time limit died with its worker: claim it again.
STALE_AFTER = datetime.timedelta(hours=1)
ADDED, REMOVED = "add", "remove"


# Reads


def downloads_for_company(*, company: Company) -> QuerySet[Download]:
    """The company's downloads and those of campaigns it runs as accepted call centre."""
    return Download.objects.filter(
        Q(company=company)
        | Q(
            campaign__service_provider=company,
            campaign__provider_status=ProviderStatus.ACCEPTED,
        ),
        register=company.register_id,
    ).select_related("campaign", "licence__product", "extended_by")


def download_get(*, company: Company, download_id: int) -> Download:
    """One download the company may see; any other is NotFound, never forbidden (SPEC §16)."""
    download = downloads_for_company(company=company).filter(pk=download_id).first()
    if download is None:
        raise NotFound
    return download


def download_progress(*, download: Download) -> int | None:
    """How far a running build is, 0-100, while its size can be estimated; else None."""
    if download.status == DownloadStatus.DONE:
        return 100
    if download.status != DownloadStatus.RUNNING:
        return 0 if download.status == DownloadStatus.QUEUED else None
    written, expected = cache.get_many([_progress_key(download.pk), _expected_key(download.pk)])
    if not expected:
        return None
    # An estimate: the register may have grown since the download it is taken from.
    return min(99, int(100 * (written or 0) / expected))


def download_layout(register: Register, kind: str) -> list[tuple[str, str]]:
    """The fields of a line of a download in this register, in order, with what each holds."""
    number = ("number", _("the phone number in E.164 digits, without plus (31612345678)"))
    registered_on = ("registered_on", _("the date the number was registered, YYYY-MM-DD"))
    categories = (
        "categories",
        _("the blocked categories' codes, comma-separated; every code when all are blocked: %s")
        % ",".join(register.categories),
    )
    fields = [number, registered_on, *([categories] if register.has_categories else [])]
    if kind == DownloadKind.FULL:
        return fields
    return [
        (
            "action",
            _(
                "“add”: the number is in the register with these details (new, or its "
                "categories changed): replace any line you have for it; “remove”: it was "
                "unblocked, delete it (the other fields are then empty)"
            ),
        ),
        *fields,
        (
            "occurred_at",
            _("when the change happened, UTC, YYYY-MM-DDTHH:MM:SSZ; lines are in this order"),
        ),
    ]


def download_licence_model(register: Register) -> str:
    """What a download needs in this register: one `download` licence each, or `access`."""
    sells_downloads = LicenceProduct.objects.filter(
        register=register, kind=ProductKind.DOWNLOAD
    ).exists()
    return ProductKind.DOWNLOAD if sells_downloads else ProductKind.ACCESS


def _usable_licences(*, company: Company, kind: str, today: datetime.date) -> QuerySet[Licence]:
    # A cancelled licence stays usable until its end date: no early termination (seeds 000, 001).
    return Licence.objects.filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=today),
        company=company,
        product__kind=kind,
        status__in=[LicenceStatus.ACTIVE, LicenceStatus.CANCELLED],
        starts_on__lte=today,
    )


def download_since(*, register: Register, value: datetime.date | datetime.datetime):
    """A delta's start: a moment as given, or the start of a day in the register's time zone."""
    if isinstance(value, datetime.datetime):
        if timezone.is_naive(value):
            return timezone.make_aware(value, ZoneInfo(register.time_zone))
        return value
    return datetime.datetime.combine(value, datetime.time(), tzinfo=ZoneInfo(register.time_zone))


# Writes


def download_request(
    *,
    company: Company,
    kind: str,
    since: datetime.datetime | None = None,
    campaign: Campaign | None = None,
    user=None,
) -> Download:
    """Queues a download of the register; the file is built by a worker after commit.

    A delta without `since` takes the changes since the company's last finished download; a
    company that has none is told to give a date or take a full download first, since a delta
    from the beginning of time would be a full list in another layout.
    """
    register = company.register
    if kind not in DownloadKind.values:
        raise DomainError(_("A download is “full” or “delta”."), code="invalid_kind")
    if kind == DownloadKind.FULL and since is not None:
        raise DomainError(_("Only a delta download takes a “since”."), code="invalid_since")
    if since is not None and since > timezone.now():
        raise DomainError(_("“since” lies in the future."), code="invalid_since")
    if campaign is not None:
        campaign = campaign_get(company=company, campaign_id=campaign.pk)
    needs = download_licence_model(register)
    with transaction.atomic():
        if kind == DownloadKind.DELTA and since is None:
            since = (
                Download.objects.filter(company=company, status=DownloadStatus.DONE)
                .order_by("-covers_until")
                .values_list("covers_until", flat=True)
                .first()
            )
            if since is None:
                raise DomainError(
                    _(
                        "Your company has no earlier download to take the changes since: give "
                        "a date, or take a full download first."
                    ),
                    code="no_earlier_download",
                )
        licence = _licence_to_use(company=company, campaign=campaign, needs=needs)
        download = Download.objects.create(
            register=register,
            company=company,
            campaign=campaign,
            kind=kind,
            since=since,
            licence=licence,
            created_by=user,
        )
        transaction.on_commit(lambda: _queue_build(download.pk))
    return download


def _queue_build(download_id: int) -> None:
    from campaigns.tasks import download_build_task

    download_build_task.delay(download_id)


def _licence_to_use(*, company: Company, campaign: Campaign | None, needs: str) -> Licence | None:
    """The unused `download` licence this download uses up, or None when `access` includes it."""
    today = register_today(company.register)
    if needs == ProductKind.ACCESS:
        if not _usable_licences(company=company, kind=ProductKind.ACCESS, today=today).exists():
            raise LicenceRequired(
                _("Downloads need an active licence of this register."),
            )
        return None
    if campaign is None:
        raise LicenceRequired(
            _("A download uses a download licence of a campaign: choose the campaign."),
        )
    if campaign.company_id != company.pk:
        raise LicenceRequired(
            _("The campaign's download licences are for its advertiser to use."),
        )
    # Two requests at once must not use the same licence: each takes one nobody holds (the
    # other's is skipped), and the one-to-one key refuses a licence used twice regardless.
    licence = (
        _usable_licences(company=company, kind=ProductKind.DOWNLOAD, today=today)
        .filter(campaign=campaign, download__isnull=True)
        .select_for_update(of=("self",), skip_locked=True)
        .order_by("starts_on", "pk")
        .first()
    )
    if licence is None:
        raise LicenceRequired(
            _("The campaign has no unused download licence: buy one for each download."),
        )
    return licence


def download_extend(*, download: Download, provider_company: Company) -> Download:
    """The call centre running the download's campaign extends its use once, free (seed 000):
    by its service licence's `download_extension_days` (4 weeks, 8 in all)."""
    with transaction.atomic():
        # Two clicks at once: the lock makes the second see the first's extension.
        download = (
            Download.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .get(pk=download.pk)
        )
        campaign = download.campaign
        if (
            campaign is None
            or campaign.service_provider_id != provider_company.pk
            or campaign.provider_status != ProviderStatus.ACCEPTED
        ):
            raise NotFound
        if download.extended_until is not None:
            raise DomainError(
                _("This download has already been extended once."), code="already_extended"
            )
        today = register_today(download.register)
        if download.status != DownloadStatus.DONE or download.valid_until < today:
            raise DomainError(
                _("Only a finished download still in use can be extended."),
                code="not_extendable",
            )
        days = (
            _usable_licences(company=provider_company, kind=ProductKind.SERVICE, today=today)
            .filter(product__download_extension_days__isnull=False)
            .order_by("-product__download_extension_days")
            .values_list("product__download_extension_days", flat=True)
            .first()
        )
        if not days:
            raise LicenceRequired(_("Extending a download needs an active service licence."))
        download.extended_until = download.valid_until + datetime.timedelta(days=days)
        download.extended_by = provider_company
        download.extended_at = timezone.now()
        download.save(update_fields=["extended_until", "extended_by", "extended_at"])
    return download


def download_file_available(download: Download) -> bool:
    """Whether the download's file can still be fetched: built, and not yet purged."""
    return download.status == DownloadStatus.DONE and bool(download.file.name)


def downloads_purge(*, today: datetime.date | None = None) -> int:
    """Deletes the files of downloads whose use period has ended; returns how many.

    A copy of the register is personal data the licensee may only use until `usable_until`
    (SPEC §9, §17), so it is not kept past it; the record (who, when, licence, rows, SHA-256)
    stays as proof of what was downloaded.
    """
    from register.models import Register

    purged = 0
    for register in Register.objects.all():
        day = today or register_today(register)
        ended = Download.objects.filter(
            Q(extended_until__lt=day) | Q(extended_until__isnull=True, valid_until__lt=day),
            register=register,
            status=DownloadStatus.DONE,
        ).exclude(file="")
        for download in ended.iterator():
            default_storage.delete(download.file.name)
            download.file.name = ""
            download.save(update_fields=["file"])
            purged += 1
    return purged


# The build


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
    download.valid_until = register_today(download.register) + datetime.timedelta(
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
    cache.delete_many([_progress_key(download_id), _expected_key(download_id)])
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
        cache.set(_expected_key(download.pk), expected, timeout=STALE_AFTER.total_seconds())
    digest = hashlib.sha256()
    size = lines = 0

    def write(block: bytearray) -> None:
        nonlocal size, lines
        sink.write(block)
        digest.update(block)
        size += len(block)
        lines += block.count(b"\n")
        cache.set(_progress_key(download.pk), lines, timeout=STALE_AFTER.total_seconds())

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


def _progress_key(download_id: int) -> str:
    return f"campaigns:download:{download_id}:rows"


def _expected_key(download_id: int) -> str:
    return f"campaigns:download:{download_id}:expected"


def download_filename(download: Download) -> str:
    """The name a licensee's browser saves the file under."""
    day = download.finished_at.astimezone(ZoneInfo(download.register.time_zone)).date()
    return f"dnc-{download.register.slug}-{download.kind}-{day.isoformat()}-{download.pk}.txt"
