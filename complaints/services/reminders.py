"""Deadline reminders to a register's staff (SPEC §13, §14): daily, each one once."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from complaints.deadlines import DUE_FIELDS, pending_terms
from complaints.models import OPEN_STAGES, Case, DeadlineReminder, ReminderKind, Stage
from register.calendar import working_days_after
from register.models import Register

REMINDER_WORKING_DAYS = 2


def _case_pending_terms(case: Case):
    if case.stage in (Stage.DECIDED, Stage.INADMISSIBLE, Stage.CLOSED):
        return []
    due = {field: getattr(case, field) for field in DUE_FIELDS}
    done = set(case.events.values_list("action", flat=True))
    return pending_terms(kind=case.kind, due=due, done=done)


def _staff_emails(register: Register) -> list[str]:
    emails = sorted(
        {user.email for user in register.staff.filter(is_active=True, is_staff=True) if user.email}
    )
    return emails or [register.support_email]


def deadline_reminders_send(*, register: Register, today: datetime.date) -> int:
    """Mails the register's staff one list of the deadlines due within 2 working days and of
    those overdue, each (case, term, kind) once. Returns how many reminders were sent.

    The register row is locked while the list is made and mailed, so a second run at the same
    time waits and then finds them all recorded; a failed mail records none.
    """
    soon_until = working_days_after(register=register, start=today, days=REMINDER_WORKING_DAYS)
    with transaction.atomic():
        Register.objects.select_for_update().filter(pk=register.pk).first()
        cases = (
            Case.objects.filter(register=register, stage__in=OPEN_STAGES, next_due__lte=soon_until)
            .select_related("register")
            .order_by("next_due", "pk")
        )
        sent = {
            (case_id, term, kind)
            for case_id, term, kind in DeadlineReminder.objects.filter(
                register=register, case__in=cases
            ).values_list("case_id", "term", "kind")
        }
        reminders = []
        for case in cases:
            for term, due_on in _case_pending_terms(case):
                if due_on > soon_until:
                    continue
                kind = ReminderKind.OVERDUE if due_on < today else ReminderKind.DUE_SOON
                if (case.pk, term.name, kind) in sent:
                    continue
                reminders.append(
                    (
                        DeadlineReminder(
                            register=register,
                            case=case,
                            term=term.name,
                            kind=kind,
                            due_on=due_on,
                        ),
                        term,
                    )
                )
        if not reminders:
            return 0
        DeadlineReminder.objects.bulk_create([reminder for reminder, _term in reminders])
        base_url = settings.PORTAL_BASE_URL_TEMPLATE.format(host=register.hostnames[0])
        context = {
            "register": register,
            "today": today,
            "reminders": [
                {
                    "case": reminder.case,
                    "term": term,
                    "due_on": reminder.due_on,
                    "overdue": reminder.kind == ReminderKind.OVERDUE,
                    "url": f"{base_url.rstrip('/')}/admin/complaints/case/{reminder.case_id}/"
                    "change/",
                }
                for reminder, term in reminders
            ],
        }
        with translation.override(register.default_language):
            subject = render_to_string("complaints/mail/reminders_subject.txt", context).strip()
            body = render_to_string("complaints/mail/reminders_body.txt", context)
        EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=_staff_emails(register),
        ).send()
    return len(reminders)
