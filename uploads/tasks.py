"""Processing of registration files by the worker (SPEC §11)."""

import logging

from register.tasking import scoped_task
from uploads.services import registration_file_fail, registration_file_process

logger = logging.getLogger(__name__)


@scoped_task(
    "uploads.RegistrationFile", acks_late=True, time_limit=15 * 60, soft_time_limit=14 * 60
)
def registration_file_process_task(file_id: int) -> str | None:
    """Processes one file; a redelivered or repeated message finds it done and does nothing."""
    try:
        registration_file = registration_file_process(file_id=file_id)
    except Exception as error:
        # The rows were rolled back with the claim; the company sees the file failed, with what
        # to do, rather than queued for ever, and the error goes to the log with its traceback.
        logger.exception("registration file %s could not be processed", file_id)
        registration_file_fail(file_id=file_id, error=error)
        raise
    return registration_file.status if registration_file is not None else None
