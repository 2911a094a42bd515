from register.services import block_requests_purge_expired, manage_links_purge_expired
from register.statistics import daily_counts_roll_up
from register.tasking import each_register, per_register_task


@per_register_task(acks_late=True, time_limit=300)
def purge_unconfirmed_blocks() -> int:
    """Hourly (beat): unconfirmed blocks hold e-mail addresses and numbers nobody confirmed;
    expired manage links hold e-mail addresses too."""
    return sum(
        block_requests_purge_expired(register=register)
        + manage_links_purge_expired(register=register)
        for register in each_register()
    )


@per_register_task(acks_late=True, time_limit=1800)
def daily_counts_roll_up_task() -> int:
    """Hourly (beat): the days that are over into the statistics' rollup; nothing when done."""
    return sum(daily_counts_roll_up(register=register) for register in each_register())
