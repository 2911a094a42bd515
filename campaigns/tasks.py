"""Campaigns' Celery tasks: take ids, reload, call a service, and can run twice (STYLE 3)."""

from celery import shared_task
from django_scopes import scopes_disabled

from campaigns.downloads import STALE_AFTER, download_build


# A 10,000,000-number register streams in well under a minute; the limit is far above that and
# below STALE_AFTER, after which another run may take the download over.
@shared_task(
    acks_late=True,
    time_limit=int(STALE_AFTER.total_seconds()) - 60,
    soft_time_limit=int(STALE_AFTER.total_seconds()) - 120,
)
def download_build_task(download_id: int) -> None:
    """Builds a queued download's file; a second delivery finds it claimed and does nothing."""
    # A task serves one download by id; its register is the download's own.
    with scopes_disabled():
        download_build(download_id=download_id)
