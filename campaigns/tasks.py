"""Every Celery task of campaigns, where Celery's autodiscovery (`<app>.tasks`) looks for them;
each lives in its sub-package's tasks module."""

from campaigns.downloads.tasks import download_build_task, downloads_purge_task
from campaigns.history.tasks import use_period_reminders_task
from campaigns.marking.tasks import call_file_mark_task, call_files_purge_task

__all__ = [
    "call_file_mark_task",
    "call_files_purge_task",
    "download_build_task",
    "downloads_purge_task",
    "use_period_reminders_task",
]
