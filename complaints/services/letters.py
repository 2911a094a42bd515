"""Letters to the filer: written in the filer's language when a step is taken, then rendered
to PDF and mailed with it by a Celery task queued after the step's commit (SPEC §14)."""

from __future__ import annotations

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from complaints.models import Case, EventAction, Letter
from complaints.services.timeline import case_event
from register.mail import one_line
from register.tasking import enqueue, reaper_cutoff


def letter_write(case: Case, kind: str, template: str) -> Letter:
    """Writes the letter in the filer's language and queues its delivery after the commit."""
    context = {"case": case, "register": case.register}
    with translation.override(case.language):
        # The case's subject is the filer's text: a line break in it must not stop the mail.
        subject = one_line(render_to_string(f"complaints/letters/{template}_subject.txt", context))
        body = render_to_string(f"complaints/letters/{template}_body.txt", context).strip()
    letter = Letter.objects.create(
        register=case.register,
        case=case,
        kind=kind,
        language=case.language,
        recipient=case.filer_email,
        subject=subject,
        body=body,
    )
    transaction.on_commit(lambda: _letter_queue(letter.pk))
    return letter


def _letter_queue(letter_id: int) -> None:
    from complaints.tasks import letter_deliver

    enqueue(letter_deliver, letter_id)


def _letter_locked(letter_id: int) -> Letter | None:
    """The letter, locked until the caller's transaction ends; None if it is gone."""
    return (
        Letter.objects.select_for_update(of=("self",))
        .select_related("case", "register")
        .filter(pk=letter_id)
        .first()
    )


def letter_pdf_render(*, letter_id: int) -> Letter | None:
    """Renders and stores the PDF once; None if the letter is gone."""
    from weasyprint import HTML

    with transaction.atomic():
        letter = _letter_locked(letter_id)
        if letter is None or letter.pdf:
            return letter
        with translation.override(letter.language):
            html = render_to_string(
                "complaints/letters/letter_pdf.html",
                {"letter": letter, "case": letter.case, "register": letter.register},
            )
        pdf = HTML(string=html, base_url=str(settings.BASE_DIR / "templates")).write_pdf()
        letter.pdf.save("letter.pdf", ContentFile(pdf), save=False)
        letter.save(update_fields=["pdf"])
    return letter


def letter_mail(*, letter_id: int) -> bool:
    """Mails the letter with its PDF to the filer once; True if this call sent it.

    The row lock is held while sending, so a duplicate task waits and then finds it sent; a
    failed send rolls back `sent_at` and the task's retry sends it.
    """
    with transaction.atomic():
        letter = _letter_locked(letter_id)
        if letter is None or letter.sent_at is not None or not letter.pdf:
            return False
        message = EmailMessage(
            # Letters written before subjects were made one line still go out.
            subject=one_line(letter.subject),
            body=letter.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[letter.recipient],
            reply_to=[letter.register.support_email],
        )
        with letter.pdf.open("rb") as pdf:
            message.attach(
                f"letter-{letter.case_id}-{letter.pk}.pdf", pdf.read(), "application/pdf"
            )
        message.send()
        letter.sent_at = timezone.now()
        letter.save(update_fields=["sent_at"])
        case_event(
            letter.case,
            EventAction.LETTER_SENT,
            note=letter.subject,
            data={"letter": letter.pk, "to": letter.recipient},
        )
    return True


def letters_redeliver(*, register) -> int:
    """The reaper's pass over the register's letters (config/reaper.py): each not rendered or
    not sent in time is queued again; `sent_at` is recorded under the row lock, so a letter
    never goes twice. Returns how many."""
    from complaints.tasks import letter_deliver

    ids = list(
        Letter.objects.filter(
            register=register, sent_at__isnull=True, created_at__lt=reaper_cutoff()
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        enqueue(letter_deliver, pk)
    return len(ids)
