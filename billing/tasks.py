"""Billing's Celery tasks: take ids, reload, call a service, and can run twice (STYLE 3)."""

from celery import shared_task
from django_scopes import scopes_disabled

from billing.services import invoice_mail, invoice_pdf_render


# SMTP and storage errors are OSErrors: worth retrying later, the work is idempotent.
@shared_task(
    acks_late=True,
    time_limit=300,
    soft_time_limit=240,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=8,
)
def invoice_deliver(invoice_id: int) -> None:
    """Renders an issued invoice's PDF and mails it; queued after the issuing commit.

    Both steps are idempotent: a PDF is rendered once and an invoice mailed once, whether the
    task runs twice or two copies run at once.
    """
    # A task serves one invoice by id; the register scope is the invoice's own.
    with scopes_disabled():
        if invoice_pdf_render(invoice_id=invoice_id) is not None:
            invoice_mail(invoice_id=invoice_id)
