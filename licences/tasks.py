"""Daily licence work (SPEC §13): idempotent, so a second run the same day changes nothing."""

from celery import shared_task
from django_scopes import scope

from licences.selectors import licences_due_for_renewal_notice, register_today
from licences.services import licence_renewal_notice_send, licences_expire
from register.models import Register


@shared_task(acks_late=True, time_limit=600)
def expire_licences() -> int:
    """Daily (beat): licences past their last day that will not renew become expired."""
    expired = 0
    for register in Register.objects.all():
        with scope(register=register):
            expired += licences_expire(register=register, today=register_today(register))
    return expired


@shared_task(acks_late=True, time_limit=600)
def send_renewal_notices() -> int:
    """Daily (beat): the notice of tacit renewal and the right to cancel (be, seed 001)."""
    sent = 0
    for register in Register.objects.all():
        with scope(register=register):
            due = licences_due_for_renewal_notice(register=register, on=register_today(register))
            sent += sum(licence_renewal_notice_send(licence=licence) for licence in due)
    return sent
