"""Personal data kept no longer than needed (SPEC §17, issue #14): a daily pass over every
register, each app erasing what it holds once its period is over.

- a block request's e-mail address and numbers once its link is used (or the request itself
  once the link expired unused): the register and its history keep the block;
- a company's registration file and the numbers its report lists, 10 working days plus 30 days
  after delivery: the counts, the register and its history stay;
- a case's attachments `CASE_ATTACHMENT_RETENTION_DAYS` after the case closed.

The privacy statement (register.views.privacy) lists these periods from the same constants.
Idempotent: each erasure is a conditional update or delete that finds nothing the second time.
One task for the apps, in config, the one place allowed to import every app (as the reaper).
"""

import datetime
import logging

from complaints.services import case_attachments_minimise
from register.services import block_requests_minimise
from register.tasking import each_register, per_register_task
from uploads.services import registration_files_minimise

logger = logging.getLogger(__name__)

PASSES = {
    "block_requests": block_requests_minimise,
    "registration_files": registration_files_minimise,
    "case_attachments": case_attachments_minimise,
}


def personal_data_minimise(now: datetime.datetime | None = None) -> dict[str, int]:
    """One pass over every register; returns how many of each kind were erased."""
    erased = dict.fromkeys(PASSES, 0)
    for register in each_register():
        for name, minimise in PASSES.items():
            try:
                erased[name] += minimise(register=register, now=now)
            except Exception:
                # One register's trouble must not keep the others' data; tomorrow tries again.
                logger.exception("retention: %s of %s failed", name, register.slug)
    logger.info("personal data erased: %s", erased)
    return erased


@per_register_task(
    name="config.retention.personal_data_minimise",
    acks_late=True,
    time_limit=1800,
    soft_time_limit=1700,
)
def personal_data_minimise_task() -> dict[str, int]:
    return personal_data_minimise()
