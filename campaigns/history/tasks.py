from campaigns.history.reminders import use_period_reminders_send
from register.tasking import each_register, per_register_task


@per_register_task(name="campaigns.tasks.use_period_reminders")
def use_period_reminders_task() -> int:
    """Daily: the mails a week before results and downloads may no longer be used, register by
    register; a second run sends none."""
    return sum(use_period_reminders_send(register=register) for register in each_register())
