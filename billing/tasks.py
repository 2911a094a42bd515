"""Billing's Celery tasks: take ids, reload, call a service, and can run twice (STYLE 3).
Each runs in the register scope of the row it serves (STYLE 18, `register.tasking`)."""

from billing.services import (
    cancellation_reminders_send,
    invoice_mail,
    invoice_pdf_render,
    register_base_url,
    renewal_notices_send,
    renewals_run,
)
from billing.services.einvoices import invoice_xml_render
from register.tasking import DELIVERY_TASK_OPTIONS, each_register, per_register_task, scoped_task


@scoped_task("billing.Invoice", **DELIVERY_TASK_OPTIONS)
def invoice_deliver(invoice_id: int) -> None:
    """Renders an issued invoice's PDF and mails it; queued after the issuing commit.

    Both steps are idempotent: a PDF is rendered once and an invoice mailed once, whether the
    task runs twice or two copies run at once.
    """
    if invoice_pdf_render(invoice_id=invoice_id) is not None:
        invoice_mail(invoice_id=invoice_id)
        invoice_xml_render(invoice_id=invoice_id)  # after the mail: never holds it back


@per_register_task(
    name="billing.tasks.licences_renew_and_notify",
    acks_late=True,
    time_limit=3600,
    soft_time_limit=3300,
)
def licences_renew_and_notify() -> dict[str, int]:
    """Daily (beat): be renewal notices, nl cancellation-deadline reminders, tacit renewals with
    their order and payment link (SPEC §13). Every step is idempotent, so a rerun is harmless."""
    done = {"notices": 0, "reminders": 0, "renewals": 0}
    for register in each_register():
        today = register.today()
        done["notices"] += renewal_notices_send(register=register, today=today)
        done["reminders"] += cancellation_reminders_send(register=register, today=today)
        done["renewals"] += renewals_run(
            register=register, today=today, base_url=register_base_url(register)
        )
    return done
