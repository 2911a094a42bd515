"""Downloads' Celery tasks: take ids, reload, call a service, and can run twice (STYLE 3), scoped
to the register of the row they serve (STYLE 18).

Named as they were when they lived in campaigns.tasks: the beat schedule and any message queued
before a deploy find them by these names.
"""

from campaigns.downloads.build import download_build
from campaigns.downloads.services import downloads_purge
from register.tasking import each_register, per_register_task, scoped_task


# A 10,000,000-number register streams in well under a minute; the limits are far above that
# and below the broker's visibility timeout. A build whose worker died is taken over by the next
# delivery or the reaper as soon as its advisory lock is free (campaigns.downloads.build).
@scoped_task(
    "campaigns.Download",
    name="campaigns.tasks.download_build_task",
    acks_late=True,
    time_limit=15 * 60,
    soft_time_limit=14 * 60,
)
def download_build_task(download_id: int) -> None:
    """Builds a queued download's file; a second delivery finds it claimed and does nothing."""
    download_build(download_id=download_id)


@per_register_task(name="campaigns.tasks.downloads_purge")
def downloads_purge_task() -> int:
    """Daily: deletes the download files whose use period has ended, register by register; a
    second run finds nothing left to delete."""
    purged = 0
    for register in each_register():
        purged += downloads_purge(register=register)
    return purged
