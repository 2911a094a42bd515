"""Celery tasks of the case system: take ids, reload, call a service, can run twice (STYLE 3).
Each runs in the register scope of the row it serves (STYLE 18, `register.tasking`)."""

from complaints.services import deadline_reminders_send, letter_mail, letter_pdf_render
from register.tasking import DELIVERY_TASK_OPTIONS, each_register, per_register_task, scoped_task


@scoped_task("complaints.Letter", **DELIVERY_TASK_OPTIONS)
def letter_deliver(letter_id: int) -> None:
    """Renders a letter's PDF and mails it to the filer; queued after the step's commit."""
    if letter_pdf_render(letter_id=letter_id) is not None:
        letter_mail(letter_id=letter_id)


@per_register_task(
    name="complaints.tasks.deadline_reminders",
    acks_late=True,
    time_limit=1800,
    soft_time_limit=1700,
)
def deadline_reminders() -> int:
    """Daily (beat): warns each register's staff of case deadlines due within 2 working days
    and of overdue ones, once each (SPEC §13, §14)."""
    sent = 0
    for register in each_register():
        sent += deadline_reminders_send(register=register, today=register.today())
    return sent
