"""Celery tasks of the case system: take ids, reload, call a service, can run twice (STYLE 3)."""

from celery import shared_task
from django_scopes import scope, scopes_disabled

from complaints.services import deadline_reminders_send, letter_mail, letter_pdf_render
from register.models import Register


# SMTP and storage errors are OSErrors: worth retrying later, the work is idempotent.
@shared_task(
    acks_late=True,
    time_limit=300,
    soft_time_limit=240,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=8,
)
def letter_deliver(letter_id: int) -> None:
    """Renders a letter's PDF and mails it to the filer; queued after the step's commit."""
    # A task serves one letter by id; the register scope is the letter's own.
    with scopes_disabled():
        if letter_pdf_render(letter_id=letter_id) is not None:
            letter_mail(letter_id=letter_id)


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def deadline_reminders() -> int:
    """Daily (beat): warns each register's staff of case deadlines due within 2 working days
    and of overdue ones, once each (SPEC §13, §14)."""
    sent = 0
    with scopes_disabled():
        registers = list(Register.objects.all())
    for register in registers:
        with scope(register=register):
            sent += deadline_reminders_send(register=register, today=register.today())
    return sent
