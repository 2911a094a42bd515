"""Daily licence work (SPEC §13): idempotent, so a second run the same day changes nothing.
It runs in each register's scope in turn (STYLE 18, `register.tasking`)."""

from licences.services import licences_expire
from register.tasking import each_register, per_register_task


@per_register_task(name="licences.tasks.expire_licences", acks_late=True, time_limit=600)
def expire_licences() -> int:
    """Daily (beat): licences past their last day that will not renew become expired."""
    expired = 0
    for register in each_register():
        expired += licences_expire(register=register, today=register.today())
    return expired
