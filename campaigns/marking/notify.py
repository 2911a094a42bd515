"""The mail to the user who uploaded a call file when its job ends: done with the counts and the
links, or refused or failed with the reason (issue #13 item 4), in the language of the upload."""

import logging

from django.urls import reverse

from campaigns.models import CallFile, CallFileStatus
from licences.accounts import portal_base_url
from register.mail import mail_on_commit

logger = logging.getLogger(__name__)

FINISHED = (CallFileStatus.DONE, CallFileStatus.REJECTED, CallFileStatus.FAILED)


def call_file_mail_outcome(call_file: CallFile) -> None:
    """Mails the uploader how the job ended. A mail that cannot be sent is logged and changes
    nothing: the result is published (or the refusal recorded) whatever the mail server does."""
    if call_file.status not in FINISHED:
        raise ValueError(f"call file {call_file.pk} has not finished: {call_file.status}")
    try:
        user = call_file.uploaded_by
        if user is None or not user.email:
            return
        register = call_file.register
        base = portal_base_url(register)

        def url(name: str, *args) -> str:
            return base + reverse(name, args=args)

        mail_on_commit(
            register=register,
            to=user.email,
            language=call_file.language or register.default_language,
            template="campaigns/email/call_file_finished",
            context={
                "call_file": call_file,
                "url": url("call_files:detail", call_file.pk),
                "result_url": url("call_files:result", call_file.pk),
                "certificate_url": url("call_files:certificate", call_file.pk),
                "upload_url": url("call_files:new", call_file.campaign_id),
            },
        )
    except Exception:
        logger.exception("the outcome of call file %s could not be mailed", call_file.pk)
