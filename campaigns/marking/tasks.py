"""Marking's Celery tasks: take ids, reload, call a service, and can run twice (STYLE 3), scoped
to the register of the row they serve (STYLE 18).

Named as they were when they lived in campaigns.tasks: the beat schedule and any message queued
before a deploy find them by these names.
"""

from campaigns.marking.job import call_file_awaits_worker, call_file_mark
from campaigns.marking.retention import call_files_purge
from register.tasking import each_register, per_register_task, scoped_task

# A 5,000,000-record file marks in well under a minute; the limits are far above that and below
# the broker's visibility timeout (30 minutes), after which a task whose worker died is delivered
# again and the job's advisory lock tells a live run from a dead one.
MARK_SOFT_TIME_LIMIT = 15 * 60
MARK_TIME_LIMIT = MARK_SOFT_TIME_LIMIT + 60
# A run that finds the file's lock held looks again this often, until the holder is done (or
# proves dead) or the time limit has surely ended the holder.
MARK_RETRY_SECONDS = 10


@scoped_task(
    "campaigns.CallFile",
    name="campaigns.tasks.call_file_mark_task",
    bind=True,
    acks_late=True,
    time_limit=MARK_TIME_LIMIT,
    soft_time_limit=MARK_SOFT_TIME_LIMIT,
    max_retries=MARK_TIME_LIMIT // MARK_RETRY_SECONDS + 6,
)
def call_file_mark_task(self, call_file_id: int) -> None:
    """Marks a queued call file; a second delivery finds it finished, or its lock held and
    comes back later in case the holder is a dead worker's lingering session."""
    marked = call_file_mark(call_file_id=call_file_id)
    if marked is None and call_file_awaits_worker(call_file_id=call_file_id):
        raise self.retry(countdown=MARK_RETRY_SECONDS)


@per_register_task(name="campaigns.tasks.call_files_purge")
def call_files_purge_task() -> int:
    """Daily: deletes the call files whose use period has ended (SPEC §8.9), register by
    register; a second run finds nothing left to delete."""
    purged = 0
    for register in each_register():
        purged += call_files_purge(register=register)
    return purged
