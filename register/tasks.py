from register.services import block_requests_purge_expired, manage_links_purge_expired
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
