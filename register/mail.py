"""Mail of every register: sent after the commit that caused it, from the register's name; and
the development backend that prints mail and keeps it under var/mail (SPEC §18)."""

from email.utils import formataddr

from django.conf import settings
from django.core.mail import send_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation


def one_line(text: str) -> str:
    """Text fit for a mail header: a line break in a header is refused (BadHeaderError), so a
    subject that took one from what a user typed is written on one line, spaces collapsed."""
    return " ".join(str(text).split())


def register_sender(register) -> str:
    return formataddr((register.name, settings.DEFAULT_FROM_EMAIL))


def mail_on_commit(*, register, to: str, language: str, template: str, context: dict) -> None:
    """Renders `template`_subject.txt and `template`.txt now, in the reader's language, and sends
    them once the transaction has committed: a rolled-back act mails nobody."""
    context = {"register": register, **context}
    with translation.override(language):
        subject = render_to_string(f"{template}_subject.txt", context)
        body = render_to_string(f"{template}.txt", context)
    subject = one_line(subject)
    sender = register_sender(register)
    transaction.on_commit(lambda: send_mail(subject, body, sender, [to], fail_silently=False))


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
