from celery import shared_task

from register.services import block_requests_purge_expired


@shared_task(acks_late=True, time_limit=300)
def purge_unconfirmed_blocks() -> int:
    """Hourly (beat): unconfirmed blocks hold e-mail addresses and numbers nobody confirmed."""
    return block_requests_purge_expired()
