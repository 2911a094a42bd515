"""The reaper (STYLE 16, issue #11): the row is the truth, the broker a messenger.

Every `REAPER_INTERVAL_SECONDS` (beat) it goes over each register, in its scope, and queues
again through the same scoped tasks:

- call files, downloads and registration files queued longer than
  `REAPER_QUEUED_AFTER_SECONDS` ago and never claimed (the message was lost: a broker restarted
  without its data, a publish that failed after the commit), or RUNNING with their job lock
  free (the worker's database session is gone: it died), without waiting for the broker's
  visibility timeout;
- scrubs charged and published without their certificate;
- invoices and credit notes not rendered or not mailed, letters not sent;
- mails in the outbox the mail server refused (register/mail.py), handed over again.

Idempotent: every job claims its row under its advisory lock with a conditional UPDATE, and
every delivery is recorded under a row lock, so what is queued twice runs once and nothing is
mailed twice. One task and one beat entry rather than one per app: a single interval to tune
(the fault suite shortens it), one log line per pass, and config is the one place allowed to
import every app; each app keeps its own rule in its services.
"""

import logging
from collections import Counter

from billing.services import invoices_redeliver
from campaigns.downloads.services import downloads_requeue_stuck
from campaigns.marking.services import call_files_requeue_stuck
from complaints.services import letters_redeliver
from register.mail import mails_redeliver
from register.tasking import each_register, per_register_task
from uploads.services import registration_files_requeue_stuck

logger = logging.getLogger(__name__)

PASSES = {
    "call_files": call_files_requeue_stuck,
    "downloads": downloads_requeue_stuck,
    "registration_files": registration_files_requeue_stuck,
    "invoices": invoices_redeliver,
    "letters": letters_redeliver,
    "mails": mails_redeliver,
}


def reap() -> dict[str, int]:
    """One pass over every register; returns how many rows of each kind were queued again."""
    queued: Counter = Counter()
    for register in each_register():
        for name, requeue in PASSES.items():
            try:
                queued[name] += requeue(register=register)
            except Exception:
                # One register's or one kind's trouble (its database briefly gone) must not
                # stop the others; the next pass tries again.
                logger.exception("reaper: %s of %s failed", name, register.slug)
    if queued.total():
        logger.warning("reaper queued again: %s", dict(queued))
    return dict(queued)


# Not acks_late: a pass lost with its worker is simply the next one. Expires with the interval
# (beat's entry), so passes do not pile up while no worker is there to take them.
@per_register_task(name="config.reaper.reap", time_limit=120, soft_time_limit=100)
def reap_task() -> dict[str, int]:
    return reap()
