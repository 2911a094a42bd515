"""Reads for downloads: which a company sees, how far a build is, what a line holds."""

import datetime

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Download, DownloadKind, DownloadStatus, ProviderStatus
from licences.models import Company, LicenceProduct, ProductKind
from register.errors import NotFound
from register.models import Register


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
    # get_many answers a dict of the keys it found, not a value per key asked for.
    found = cache.get_many([download_progress_key(download.pk), download_expected_key(download.pk)])
    written = found.get(download_progress_key(download.pk))
    expected = found.get(download_expected_key(download.pk))
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


def download_since(*, register: Register, value: datetime.date | datetime.datetime):
    """A delta's start: a moment as given, or the start of a day in the register's time zone."""
    if isinstance(value, datetime.datetime):
        if timezone.is_naive(value):
            return timezone.make_aware(value, register.zone)
        return value
    return datetime.datetime.combine(value, datetime.time(), tzinfo=register.zone)


def download_file_available(download: Download) -> bool:
    """Whether the download's file can still be fetched: built, and not yet purged."""
    return download.status == DownloadStatus.DONE and bool(download.file.name)


def download_filename(download: Download) -> str:
    """The name a licensee's browser saves the file under."""
    day = download.register.date_of(download.finished_at)
    return f"dnc-{download.register.slug}-{download.kind}-{day.isoformat()}-{download.pk}.txt"


def download_progress_key(download_id: int) -> str:
    return f"campaigns:download:{download_id}:rows"


def download_expected_key(download_id: int) -> str:
    return f"campaigns:download:{download_id}:expected"
