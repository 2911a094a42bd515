"""A mail a week before a marked file's or a download's use period ends (seed 000: results are
used for four weeks), to whoever made it: after that day the list must be compared again."""

import datetime

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from campaigns.models import CallFile, CallFileStatus, Download, DownloadStatus
from licences.accounts import portal_base_url
from register.mail import mail_on_commit
from register.models import Register

REMIND_DAYS_BEFORE = 7


def _claim(model, pk: int) -> bool:
    """Marks the row reminded unless a run before (or beside) this one did: each mail goes once."""
    return bool(
        model.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=timezone.now())
    )


def use_period_reminders_send(*, register: Register, today: datetime.date | None = None) -> int:
    """Mails every result and download whose use period ends within a week and that has not had
    its reminder; a file or download that ends sooner (made late, or the job ran late) gets it
    too, until its last day. Returns how many went out; a second run the same day sends none."""
    today = today or register.today()
    window = (today, today + datetime.timedelta(days=REMIND_DAYS_BEFORE))
    base_url = portal_base_url(register)
    sent = 0
    call_files = CallFile.objects.filter(
        register=register,
        status=CallFileStatus.DONE,
        files_deleted_at__isnull=True,
        reminded_at__isnull=True,
        uploaded_by__isnull=False,
        valid_until__range=window,
    ).select_related("uploaded_by", "campaign")
    for call_file in call_files:
        with transaction.atomic():
            if not _claim(CallFile, call_file.pk):
                continue
            mail_on_commit(
                register=register,
                to=call_file.uploaded_by.email,
                language=call_file.language or register.default_language,
                template="mail/campaigns/call_file_reminder",
                context={
                    "call_file": call_file,
                    "url": base_url + reverse("call_files:detail", args=[call_file.pk]),
                    "new_url": base_url + reverse("call_files:new", args=[call_file.campaign_id]),
                },
            )
            sent += 1
    # A download extended by its call centre is reminded of its new end (`extended_until`).
    downloads = Download.objects.filter(
        Q(extended_until__isnull=True, valid_until__range=window) | Q(extended_until__range=window),
        register=register,
        status=DownloadStatus.DONE,
        reminded_at__isnull=True,
        created_by__isnull=False,
    ).select_related("created_by")
    for download in downloads:
        with transaction.atomic():
            if not _claim(Download, download.pk):
                continue
            mail_on_commit(
                register=register,
                to=download.created_by.email,
                language=register.default_language,
                template="mail/campaigns/download_reminder",
                context={"download": download, "url": base_url + reverse("downloads:list")},
            )
            sent += 1
    return sent
