"""Case attachments are kept a while after the case closes, then erased (issue #14)."""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from complaints.models import Case, CaseAttachment, EventAction, Stage
from register.models import Register


def case_attachments_minimise(*, register: Register, now: datetime.datetime | None = None) -> int:
    """Deletes the attachments (files and rows) of cases closed more than
    `CASE_ATTACHMENT_RETENTION_DAYS` ago; the case, its timeline (which names the files) and its
    letters stay. Returns how many; running again finds none."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.CASE_ATTACHMENT_RETENTION_DAYS)
    closed_long_ago = (
        Case.objects.filter(register=register, stage=Stage.CLOSED, attachments__isnull=False)
        .annotate(closed_at=Max("events__at", filter=Q(events__action=EventAction.CLOSED)))
        .filter(closed_at__lt=cutoff)
        .values_list("pk", flat=True)
        .distinct()
    )
    attachments = list(
        CaseAttachment.objects.filter(register=register, case_id__in=list(closed_long_ago))
    )
    with transaction.atomic():
        CaseAttachment.objects.filter(pk__in=[attachment.pk for attachment in attachments]).delete()
        for attachment in attachments:
            # After the commit: a rollback must not leave a row pointing to a deleted file.
            transaction.on_commit(lambda file=attachment.file: file.storage.delete(file.name))
    return len(attachments)
