"""Downloads requested, extended and purged (SPEC §9). Whether a download costs a licence is
catalogue data, not a register's name: where the catalogue sells a `download` product (nl) each
download uses up one such licence of a campaign; elsewhere (be) it is included in the company's
`access` licence."""

import datetime

from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.downloads.selectors import download_licence_model
from campaigns.models import Campaign, Download, DownloadKind, DownloadStatus, ProviderStatus
from campaigns.selectors import campaign_get
from licences.models import Company, Licence, ProductKind
from licences.selectors import licence_usable
from register.errors import DomainError, LicenceRequired, NotFound
from register.models import Register
from register.tasking import DOWNLOAD_LOCKS, enqueue, jobs_requeue, reaper_cutoff

# Licences tried when others take the one picked meanwhile (see download_request).
LICENCE_ATTEMPTS = 3
_NO_DOWNLOAD_LICENCE = _("The campaign has no unused download licence: buy one for each download.")


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
        for attempt in range(LICENCE_ATTEMPTS):
            licence = _licence_to_use(company=company, campaign=campaign, needs=needs)
            try:
                # A savepoint: the request's transaction survives a licence taken meanwhile.
                with transaction.atomic():
                    download = Download.objects.create(
                        register=register,
                        company=company,
                        campaign=campaign,
                        kind=kind,
                        since=since,
                        licence=licence,
                        created_by=user,
                    )
                break
            except IntegrityError:
                # The race: our SELECT … SKIP LOCKED saw the licence unused (its snapshot taken
                # before another request committed a download of it) and locked it just after
                # that commit released it. The one-to-one key refused it; a new statement sees
                # the winner's download and takes another licence, or finds none left.
                if licence is None or attempt == LICENCE_ATTEMPTS - 1:
                    raise LicenceRequired(_NO_DOWNLOAD_LICENCE) from None
        transaction.on_commit(lambda: _queue_build(download.pk))
    return download


def _queue_build(download_id: int) -> None:
    from campaigns.downloads.tasks import download_build_task

    enqueue(download_build_task, download_id)


def _licence_to_use(*, company: Company, campaign: Campaign | None, needs: str) -> Licence | None:
    """The unused `download` licence this download uses up, or None when `access` includes it."""
    today = company.register.today()
    if needs == ProductKind.ACCESS:
        if not licence_usable(company=company, kind=ProductKind.ACCESS, day=today).exists():
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
        licence_usable(company=company, kind=ProductKind.DOWNLOAD, day=today)
        .filter(campaign=campaign, download__isnull=True)
        .select_for_update(of=("self",), skip_locked=True)
        .order_by("starts_on", "pk")
        .first()
    )
    if licence is None:
        raise LicenceRequired(_NO_DOWNLOAD_LICENCE)
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
        today = download.register.today()
        if download.status != DownloadStatus.DONE or download.valid_until < today:
            raise DomainError(
                _("Only a finished download still in use can be extended."),
                code="not_extendable",
            )
        days = (
            licence_usable(company=provider_company, kind=ProductKind.SERVICE, day=today)
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


def downloads_purge(*, register: Register, today: datetime.date | None = None) -> int:
    """Deletes the files of the register's downloads whose use period has ended; returns how
    many. `today` is the register's, unless given.

    A copy of the register is personal data the licensee may only use until `usable_until`
    (SPEC §9, §17), so it is not kept past it; the record (who, when, licence, rows, SHA-256)
    stays as proof of what was downloaded.
    """
    day = today or register.today()
    purged = 0
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


def downloads_requeue_stuck(*, register: Register) -> int:
    """The reaper's pass over the register's downloads (config/reaper.py): queued past the
    cutoff and not claimed, or running with their lock free (the worker died; in nl the
    download licence it holds is otherwise used up for nothing). Returns how many."""
    from campaigns.downloads.tasks import download_build_task

    downloads = Download.objects.filter(register=register)
    return jobs_requeue(
        task=download_build_task,
        lock_space=DOWNLOAD_LOCKS,
        queued=downloads.filter(status=DownloadStatus.QUEUED, created_at__lt=reaper_cutoff()),
        running=downloads.filter(status=DownloadStatus.RUNNING),
    )
