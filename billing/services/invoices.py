"""Invoices and credit notes (SPEC §12): legal documents numbered per register and year, never
changed, corrected by credit notes; PDFs rendered and mailed by a task queued after the commit."""

from __future__ import annotations

import datetime
import logging
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from stdnum.be import ogm_vcs

from billing.models import Invoice, InvoiceCounter, InvoiceKind, InvoiceLine, Order, SupplierProfile
from billing.services.einvoices import invoice_address_parts
from licences.models import Company, Membership, Role
from register.models import Register
from register.tasking import enqueue, enqueue_on_commit

logger = logging.getLogger(__name__)

CURRENCY = "EUR"


def next_number(*, register: Register, kind: str, year: int) -> int:
    """The next number of a series; the counter row stays locked until the caller commits."""
    InvoiceCounter.objects.bulk_create(
        [InvoiceCounter(register=register, kind=kind, year=year)], ignore_conflicts=True
    )
    counter = InvoiceCounter.objects.select_for_update().get(
        register=register, kind=kind, year=year
    )
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def invoice_number(*, prefix: str, kind: str, year: int, sequence: int) -> str:
    series = prefix if kind == InvoiceKind.INVOICE else f"{prefix}-CN"
    return f"{series}-{year}-{sequence:06d}"


def _be_ogm_vcs(*, year: int, sequence: int) -> str:
    """A Belgian structured communication (OGM/VCS): ten digits of the invoice's year and
    sequence, two check digits (mod 97), as +++ddd/dddd/ddddd+++; unique per register."""
    base = f"{year % 100:02d}{sequence:08d}"
    return f"+++{ogm_vcs.format(base + ogm_vcs.calc_check_digits(base))}+++"


# The supplier's countries whose banks take a structured payment reference, and how it is made.
STRUCTURED_REFERENCES = {"BE": _be_ogm_vcs}


def structured_reference(*, country: str, year: int, sequence: int) -> str:
    make = STRUCTURED_REFERENCES.get(country.upper())
    return make(year=year, sequence=sequence) if make else ""


def _address(*lines: str) -> str:
    return "\n".join(line for line in lines if line.strip())


def customer_email(company: Company) -> str:
    if company.billing_email:
        return company.billing_email
    owner = (
        Membership.objects.filter(company=company, role=Role.OWNER)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return owner.user.email if owner else ""


def invoice_issue(*, order: Order, payment_reference: str) -> Invoice:
    """Issues the invoice of a paid order inside the caller's transaction."""
    register = order.register
    company = order.company
    supplier = SupplierProfile.objects.get(register=register)
    issued_on = register.today()
    sequence = next_number(register=register, kind=InvoiceKind.INVOICE, year=issued_on.year)
    invoice = Invoice.objects.create(
        register=register,
        company=company,
        kind=InvoiceKind.INVOICE,
        order=order,
        number=invoice_number(
            prefix=supplier.invoice_prefix,
            kind=InvoiceKind.INVOICE,
            year=issued_on.year,
            sequence=sequence,
        ),
        year=issued_on.year,
        sequence=sequence,
        issued_on=issued_on,
        # Licences are usable at once after payment (seed 000): supplied on the day paid.
        supplied_on=issued_on,
        currency=CURRENCY,
        supplier_name=supplier.legal_name,
        supplier_address=_address(
            supplier.street, f"{supplier.postcode} {supplier.city}", str(supplier.country)
        ),
        supplier_vat_id=supplier.vat_id,
        supplier_chamber_number=supplier.chamber_number,
        supplier_iban=supplier.iban,
        supplier_email=supplier.email,
        customer_name=company.name,
        customer_address=_address(
            company.street, f"{company.postcode} {company.city}", str(company.country)
        ),
        customer_vat_id=company.vat_id,
        customer_chamber_number=company.chamber_number,
        customer_email=customer_email(company),
        **invoice_address_parts(supplier=supplier, company=company),
        vat_rate=order.vat_rate,
        total_excl_vat=order.total_excl_vat,
        vat_amount=order.vat_amount,
        total_incl_vat=order.total_incl_vat,
        payment_reference=payment_reference,
        structured_reference=structured_reference(
            country=str(supplier.country), year=issued_on.year, sequence=sequence
        ),
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total_excl_vat=line.total_excl_vat,
            vat_amount=line.vat_amount,
        )
        for position, line in enumerate(order.lines.all(), start=1)
    )
    queue_delivery(invoice)
    return invoice


def queue_delivery(invoice: Invoice) -> None:
    enqueue_on_commit(_deliver_task(), invoice.pk)


def invoice_pdf_render(*, invoice_id: int) -> Invoice | None:
    """Renders and stores the PDF once; a second run finds it there. None if the invoice is gone
    (a task queued by a transaction that was later undone in tests, or never committed).

    The worker renders it after the issuing commit. A paid order's `pdf_url` is given from the
    moment it is paid (SPEC §16): when the PDF is fetched before the worker got to it (a busy
    or lost queue), the fetching request renders it through this same function, once, under
    the row lock — the one place a PDF is rendered inside a request, and only as that
    fallback."""
    from weasyprint import HTML

    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).filter(pk=invoice_id).first()
        if invoice is None or invoice.pdf:
            return invoice
        with translation.override(invoice.register.default_language):
            html = render_to_string(
                "billing/invoice_pdf.html",
                {"invoice": invoice, "lines": list(invoice.lines.all())},
            )
        pdf = HTML(string=html, base_url=str(settings.BASE_DIR / "templates")).write_pdf()
        # An unguessable name: the PDF is only ever served through an access check.
        name = f"{invoice.register.slug}/{invoice.year}/{secrets.token_urlsafe(24)}.pdf"
        invoice.pdf.save(name, ContentFile(pdf), save=False)
        invoice.pdf_rendered_at = timezone.now()
        invoice.save(update_fields=["pdf", "pdf_rendered_at"])
    return invoice


def invoices_undelivered() -> QuerySet[Invoice]:
    """Invoices (of the register in scope) still lacking their PDF, their Peppol XML, or their
    mail where they have an address to go to, issued longer ago than a delivery queued at the
    issue takes: `REAPER_QUEUED_AFTER_SECONDS`."""
    before = timezone.now() - datetime.timedelta(seconds=settings.REAPER_QUEUED_AFTER_SECONDS)
    return Invoice.objects.filter(
        Q(pdf="") | Q(xml="") | (Q(mailed_at__isnull=True) & ~Q(customer_email="")),
        created_at__lt=before,
    )


def invoice_redeliver(*, invoice: Invoice) -> bool:
    """Queues again the delivery of an invoice not delivered in time; True if it queued.

    The webhook calls this for an order already paid (Mollie's retries after a failed answer
    find the payment no longer open), the reaper for every undelivered invoice. The delivery is
    recorded (`pdf`, `mailed_at`, under a row lock), so queueing it again never sends twice.
    """
    if not invoices_undelivered().filter(pk=invoice.pk).exists():
        return False
    enqueue_on_commit(_deliver_task(), invoice.pk)
    return True


def _deliver_task():
    from billing.tasks import invoice_deliver

    return invoice_deliver


def invoice_mail(*, invoice_id: int) -> bool:
    """Mails the invoice with its PDF to the customer once; True if this call sent it.

    The row lock is held while sending, so a duplicate task waits and then finds it mailed; a
    failed send rolls back `mailed_at` and the task's retry sends it.
    """
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).filter(pk=invoice_id).first()
        if invoice is None or invoice.mailed_at is not None or not invoice.pdf:
            return False
        if not invoice.customer_email:
            logger.warning("invoice %s has no e-mail address to go to", invoice.number)
            return False
        register = invoice.register
        context = {"invoice": invoice, "register": register}
        with translation.override(register.default_language):
            subject = render_to_string("mail/billing/invoice_subject.txt", context).strip()
            body = render_to_string("mail/billing/invoice_body.txt", context)
        message = EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[invoice.customer_email],
            reply_to=[invoice.supplier_email],
        )
        with invoice.pdf.open("rb") as pdf:
            message.attach(f"{invoice.number}.pdf", pdf.read(), "application/pdf")
        message.send()
        invoice.mailed_at = timezone.now()
        invoice.save(update_fields=["mailed_at"])
    return True


def invoices_redeliver(*, register: Register) -> int:
    """The reaper's pass over the register's invoices and credit notes (config/reaper.py): each
    not rendered or not mailed in time is queued again; returns how many."""
    task = _deliver_task()
    ids = list(invoices_undelivered().filter(register=register).values_list("pk", flat=True))
    for pk in ids:
        enqueue(task, pk)
    return len(ids)
