"""Writes for orders, payments, invoices and credit notes (SPEC §12), and the daily renewals
(SPEC §13).

Every service owns its transaction; PDFs and mails are queued with `transaction.on_commit`, so a
worker never sees an invoice that was rolled back. Callers set the register scope (middleware,
tasks, commands).

- `orders`: pricing, orders, starting and settling their payments at Mollie;
- `invoices`: invoices and credit notes, their numbers, PDFs and mails;
- `credit_notes`: credit notes for all or part of an invoice, and what they take back;
- `einvoices`: their Peppol UBL documents (built by `billing.ubl`), stored beside the PDFs;
- `renewals`: be renewal notices, nl cancellation reminders, tacit renewals and their orders.
"""

from billing.services.credit_notes import credit_note_issue, invoice_balance
from billing.services.invoices import (
    invoice_mail,
    invoice_number,
    invoice_pdf_render,
    invoice_redeliver,
    invoices_redeliver,
    invoices_undelivered,
)
from billing.services.orders import (
    PaymentMismatch,
    money,
    order_create,
    payment_start,
    payment_sync,
    renewal_order_create,
    vat_of,
)
from billing.services.renewals import (
    cancellation_reminders_send,
    register_base_url,
    renewal_notices_send,
    renewals_run,
)

__all__ = [
    "PaymentMismatch",
    "cancellation_reminders_send",
    "credit_note_issue",
    "invoice_balance",
    "invoice_mail",
    "invoice_number",
    "invoice_pdf_render",
    "invoice_redeliver",
    "invoices_redeliver",
    "invoices_undelivered",
    "money",
    "order_create",
    "payment_start",
    "payment_sync",
    "register_base_url",
    "renewal_notices_send",
    "renewal_order_create",
    "renewals_run",
    "vat_of",
]
