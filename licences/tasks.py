"""Daily licence work (SPEC §13): idempotent, so a second run the same day changes nothing."""

from celery import shared_task
from django_scopes import scope

from licences.selectors import register_today
from licences.services import licences_expire
from register.models import Register


@shared_task(acks_late=True, time_limit=600)
def expire_licences() -> int:
    """Daily (beat): licences past their last day that will not renew become expired."""
    expired = 0
    for register in Register.objects.all():
        with scope(register=register):
            expired += licences_expire(register=register, today=register_today(register))
    return expired
