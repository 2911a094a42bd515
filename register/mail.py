"""Mail of every register: written to an outbox in the transaction that caused it, handed to the
mail server after the commit, from the register's name; and the development backend that prints
mail and keeps it under var/mail (SPEC §18)."""

import datetime
import logging
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_scopes import scope

from register.models import OutgoingMail, Register

logger = logging.getLogger(__name__)

# Waits between attempts at a mail the server refused: doubling from one minute, at most six
# hours, so a long outage is retried for days without hammering the server.
FIRST_RETRY = datetime.timedelta(minutes=1)
LONGEST_RETRY = datetime.timedelta(hours=6)
REDELIVERIES_PER_PASS = 200


def one_line(text: str) -> str:
    """Text fit for a mail header: a line break in a header is refused (BadHeaderError), so a
    subject that took one from what a user typed is written on one line, spaces collapsed."""
    return " ".join(str(text).split())


def register_sender(register) -> str:
    return formataddr((register.name, settings.DEFAULT_FROM_EMAIL))


def mail_on_commit(*, register, to: str, language: str, template: str, context: dict) -> None:
    """Renders `template`_subject.txt and `template`.txt now, in the reader's language, and sends
    them once the transaction has committed: a rolled-back act mails nobody, and a mail server
    that is down delays the mail instead of losing it or failing the act."""
    context = {"register": register, **context}
    with translation.override(language):
        subject = render_to_string(f"{template}_subject.txt", context)
        body = render_to_string(f"{template}.txt", context)
    mail_queue(register=register, message=EmailMessage(subject, body, to=[to]))


def mail_queue(*, register: Register, message: EmailMessage) -> None:
    """Keeps `message` in the outbox, one row per recipient, and delivers it after the commit."""
    html = next(
        (content for content, kind in getattr(message, "alternatives", []) if kind == "text/html"),
        "",
    )
    for to in message.to:
        mail = OutgoingMail.objects.create(
            register=register,
            sender=register_sender(register),
            to=to,
            subject=one_line(message.subject),
            body=message.body,
            html_body=html,
            # The commit hook hands it over at once; the reaper only after a refusal.
            next_attempt_at=timezone.now() + FIRST_RETRY,
        )
        transaction.on_commit(lambda pk=mail.pk: mail_deliver(register=register, pk=pk))


def mail_deliver(*, register: Register, pk: int) -> bool | None:
    """Hands one outbox mail to the mail server: True when it took it (the row is then gone),
    False when it refused, None when the mail is no longer waiting (sent by another hand).
    A refusal is recorded with the time of the next attempt, never raised: the caller's act has
    committed. The row is locked while it is handed over, so the reaper and the commit hook
    racing for it send it once. Sets the register's scope itself: a commit hook runs after the
    request's scope may have ended."""
    with scope(register=register), transaction.atomic():
        mail = (
            OutgoingMail.objects.select_for_update(skip_locked=True)
            .filter(register=register, pk=pk)
            .first()
        )
        if mail is None:
            return None
        message = EmailMultiAlternatives(mail.subject, mail.body, mail.sender, [mail.to])
        if mail.html_body:
            message.attach_alternative(mail.html_body, "text/html")
        try:
            message.send()
        except Exception as error:
            # smtplib's errors, a refused or timed-out socket, any backend's own: all leave the
            # mail where it is, for the next attempt.
            mail.attempts += 1
            mail.next_attempt_at = timezone.now() + min(
                FIRST_RETRY * 2 ** (mail.attempts - 1), LONGEST_RETRY
            )
            mail.last_error = f"{type(error).__name__}: {error}"[:1000]
            mail.save(update_fields=["attempts", "next_attempt_at", "last_error"])
            logger.warning("mail %s to the mail server failed (%s); will retry", pk, error)
            return False
        mail.delete()
        return True


def mails_redeliver(*, register: Register) -> int:
    """The reaper's pass (config/reaper.py): mails whose next attempt is due are handed over
    again, oldest first, until the server refuses one (it would refuse the rest too, each after
    its timeout); returns how many the server took."""
    due = (
        OutgoingMail.objects.filter(register=register, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:REDELIVERIES_PER_PASS]
    )
    delivered = 0
    for pk in list(due):
        outcome = mail_deliver(register=register, pk=pk)
        if outcome is False:
            break
        delivered += bool(outcome)
    return delivered


class ConsoleAndFileBackend(BaseEmailBackend):
    def __init__(self, fail_silently=False, **kwargs):
        super().__init__(fail_silently=fail_silently)
        self.backends = [
            ConsoleBackend(fail_silently=fail_silently, **kwargs),
            FileBackend(fail_silently=fail_silently, **kwargs),
        ]

    def send_messages(self, email_messages):
        sent = 0
        for backend in self.backends:
            sent = backend.send_messages(email_messages)
        return sent
