"""Filing a request, complaint or dispute, its attachments, and the filer's follow link
(SPEC §14, seed 003)."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber

from complaints.models import (
    Admissibility,
    Case,
    CaseAttachment,
    CaseChannel,
    CaseKind,
    EventAction,
)
from complaints.services.timeline import case_event, case_filing_check, case_lock, due_refresh
from register.errors import DomainError, NotFound
from register.mail import mail_on_commit
from register.models import Register
from register.tokens import token_hash

MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
STAFF_CHANNELS = {CaseChannel.POST, CaseChannel.EMAIL}
REFERS_TO_KIND = {CaseKind.COMPLAINT: CaseKind.REQUEST, CaseKind.DISPUTE: CaseKind.COMPLAINT}


def attachments_check(files) -> list:
    """The uploads as a list, or DomainError if there are too many or one is too large."""
    files = list(files)
    if len(files) > MAX_ATTACHMENTS:
        raise DomainError(
            _("At most %(count)d attachments per case.") % {"count": MAX_ATTACHMENTS},
            code="too_many_attachments",
        )
    for upload in files:
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise DomainError(
                _("%(name)s is larger than %(size)d MB.")
                % {"name": upload.name, "size": MAX_ATTACHMENT_BYTES // (1024 * 1024)},
                code="attachment_too_large",
                status=413,
            )
    return files


def attachments_save(case: Case, files: list, by) -> list[CaseAttachment]:
    """Stores checked uploads with the case, under unguessable names, and records it."""
    attachments = []
    for upload in files:
        attachment = CaseAttachment(
            register=case.register,
            case=case,
            name=(upload.name or "attachment").rsplit("/", 1)[-1][:200],
            content_type=(getattr(upload, "content_type", "") or "")[:100],
            size=upload.size,
            uploaded_by=by,
        )
        attachment.file.save(attachment.name, upload, save=False)
        attachment.save()
        attachments.append(attachment)
    if attachments:
        case_event(
            case,
            EventAction.ATTACHED,
            by,
            data={"attachments": [attachment.name for attachment in attachments]},
        )
    return attachments


def _letter_language(register: Register, language: str) -> str:
    for candidate in (language, translation.get_language()):
        if candidate and candidate.split("-")[0] in register.languages:
            return candidate.split("-")[0]
    return register.default_language


def case_file(
    *,
    register: Register,
    kind: str,
    subject: str,
    body: str,
    filer_email: str,
    filer_name: str = "",
    filer_phone: PhoneNumber | str = "",
    company=None,
    user=None,
    refers_to: Case | None = None,
    channel: str,
    received_at: datetime.datetime | None = None,
    attachments: Iterable = (),
    late_reason: str = "",
    language: str = "",
    recorded_by=None,
) -> Case:
    """Files a request, complaint or dispute, or records one received by post or e-mail.

    A complaint refers to its request, a dispute to its complaint. Filing before the regulation
    allows it raises `TooEarly` (code `too_early`, with the day from which it is allowed); a
    late one is filed and marked late: staff declare it inadmissible or admit it (arts 4.2, 5.4).
    Post and e-mail need `received_at`, the real moment of receipt. `language` is the filer's
    for the letters; by default the active language when the register offers it.
    """
    if kind not in CaseKind.values:
        raise DomainError(_("Unknown kind of case."), code="invalid_kind")
    if channel not in CaseChannel.values:
        raise DomainError(_("Unknown channel."), code="invalid_channel")
    if not subject.strip() or not body.strip():
        # Complaints and disputes are only handled when motivated (arts 3.1, 5.1).
        raise DomainError(_("Give a subject and explain the case."), code="motivation_required")
    if channel in STAFF_CHANNELS and received_at is None:
        raise DomainError(
            _("Give the date the post or e-mail was received."), code="received_at_required"
        )
    now = timezone.now()
    received_at = received_at or now
    if received_at > now:
        raise DomainError(_("The date of receipt lies in the future."), code="received_in_future")
    files = attachments_check(attachments)

    filing = None
    if kind == CaseKind.REQUEST:
        refers_to = None
    elif refers_to is not None:
        # Judged on the earlier case as stored now, not as the caller last loaded it.
        refers_to = Case.objects.filter(pk=refers_to.pk, register=register).first()
        if refers_to is None or (company is not None and refers_to.company_id != company.pk):
            raise NotFound
        if refers_to.kind != REFERS_TO_KIND[kind]:
            raise DomainError(
                _("A complaint refers to a request, a dispute to a complaint."),
                code="invalid_refers_to",
            )
        filing = case_filing_check(
            kind=kind, refers_to=refers_to, filed_on=register.date_of(received_at)
        )

    with transaction.atomic():
        case = Case.objects.create(
            register=register,
            kind=kind,
            refers_to=refers_to,
            company=company,
            user=user,
            filer_name=filer_name.strip(),
            filer_email=filer_email.strip(),
            filer_phone=filer_phone,
            language=_letter_language(register, language),
            subject=subject.strip(),
            body=body.strip(),
            channel=channel,
            received_at=received_at,
            admissibility=filing.admissibility if filing else Admissibility.UNCHECKED,
            file_by=filing.file_by if filing else None,
            late_reason=late_reason.strip(),
        )
        case_event(
            case,
            EventAction.RECORDED if channel in STAFF_CHANNELS else EventAction.FILED,
            recorded_by or user,
            data={
                "channel": channel,
                "received_at": received_at.isoformat(),
                **({"article": filing.article} if filing else {}),
            },
        )
        attachments_save(case, files, recorded_by or user)
        due_refresh(case)
    return case


def case_attach(*, case: Case, files: Iterable, by) -> list[CaseAttachment]:
    """Adds documents to a case (the filer's later post, the director's position, …)."""
    files = attachments_check(files)
    with transaction.atomic():
        case = case_lock(case)
        return attachments_save(case, files, by)


def case_public_link(*, case: Case) -> str:
    """A new token for the consumer's follow link; only its hash is kept, so an earlier link
    stops working."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        case = case_lock(case)
        case.public_token_hash = token_hash(token)
        case.save(update_fields=["public_token_hash"])
    return token


def case_public_link_send(*, case: Case, follow_url_for: Callable[[str], str]) -> None:
    """Makes a new follow link and mails it to the filer once the link is stored.

    `follow_url_for(token)` builds the absolute URL: only the caller knows the host the filer used.
    """
    with transaction.atomic():
        follow_url = follow_url_for(case_public_link(case=case))
        mail_on_commit(
            register=case.register,
            to=case.filer_email,
            language=case.language or case.register.default_language,
            template="complaints/email/follow_link",
            context={"case": case, "follow_url": follow_url},
        )
