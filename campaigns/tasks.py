"""Campaigns' Celery tasks: take ids, reload, call a service, and can run twice (STYLE 3)."""

from celery import shared_task
from django_scopes import scopes_disabled

from campaigns import marking
from campaigns.downloads import STALE_AFTER, download_build, downloads_purge

# A 5,000,000-record file marks in well under a minute; the limits are far above that and below
# the broker's visibility timeout (30 minutes), after which a task whose worker died is delivered
# again and the job's advisory lock tells a live run from a dead one.
MARK_SOFT_TIME_LIMIT = 15 * 60
MARK_TIME_LIMIT = MARK_SOFT_TIME_LIMIT + 60


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


# A run that finds the file's lock held looks again this often, until the holder is done (or
# proves dead) or the time limit has surely ended the holder.
MARK_RETRY_SECONDS = 10


@shared_task(
    bind=True,
    acks_late=True,
    time_limit=MARK_TIME_LIMIT,
    soft_time_limit=MARK_SOFT_TIME_LIMIT,
    max_retries=MARK_TIME_LIMIT // MARK_RETRY_SECONDS + 6,
)
def call_file_mark_task(self, call_file_id: int) -> None:
    """Marks a queued call file; a second delivery finds it finished, or its lock held and
    comes back later in case the holder is a dead worker's lingering session."""
    # A task serves one call file by id; its register is the file's own.
    with scopes_disabled():
        marked = marking.call_file_mark(call_file_id=call_file_id)
        if marked is None and marking.call_file_awaits_worker(call_file_id=call_file_id):
            raise self.retry(countdown=MARK_RETRY_SECONDS)


@shared_task(name="campaigns.tasks.call_files_purge")
def call_files_purge() -> int:
    """Daily: deletes the call files whose use period has ended (SPEC §8.9)."""
    with scopes_disabled():
        return marking.call_files_purge()


@shared_task(name="campaigns.tasks.downloads_purge")
def downloads_purge_task() -> int:
    """Daily: deletes the download files whose use period has ended."""
    with scopes_disabled():
        return downloads_purge()
