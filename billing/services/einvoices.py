"""Peppol e-invoices beside the PDFs (SPEC §12): what is copied at issue, rendered after it,
and handed to the accountant.

The document itself is built by `billing.ubl.invoice_ubl`, a pure function of the issued
invoice; this module stores it, like the PDF, once and under an unguessable name.
"""

from __future__ import annotations

import io
import secrets
import zipfile
from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.db import transaction

from billing.models import Invoice, SupplierProfile
from billing.ubl import invoice_ubl
from licences.models import Company

# The address parts an invoice copies besides the printed addresses; a credit note copies them
# from the invoice it corrects.
ADDRESS_PART_FIELDS = (
    "supplier_street",
    "supplier_postcode",
    "supplier_city",
    "supplier_country",
    "customer_street",
    "customer_postcode",
    "customer_city",
    "customer_country",
)


def invoice_address_parts(*, supplier: SupplierProfile, company: Company) -> dict[str, str]:
    """The parties' address parts as they are when the invoice is issued."""
    return {
        "supplier_street": supplier.street,
        "supplier_postcode": supplier.postcode,
        "supplier_city": supplier.city,
        "supplier_country": str(supplier.country).upper(),
        "customer_street": company.street,
        "customer_postcode": company.postcode,
        "customer_city": company.city,
        "customer_country": str(company.country).upper(),
    }


def invoice_xml_build(invoice: Invoice) -> bytes:
    """The UBL document of an issued invoice, with its PDF embedded once rendered."""
    pdf = None
    if invoice.pdf:
        with invoice.pdf.open("rb") as file:
            pdf = file.read()
    return invoice_ubl(invoice, lines=list(invoice.lines.all()), pdf=pdf)


def invoice_xml_render(*, invoice_id: int) -> Invoice | None:
    """Builds and stores the UBL document once, after the PDF it embeds; a second run finds it
    there. None if the invoice is gone; an invoice whose PDF is not rendered yet waits for it
    (the delivery task renders the PDF first)."""
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("corrects", "register")
            .filter(pk=invoice_id)
            .first()
        )
        if invoice is None or invoice.xml or not invoice.pdf:
            return invoice
        xml = invoice_xml_build(invoice)
        # An unguessable name: the document is only ever served through an access check.
        name = f"{invoice.register.slug}/{invoice.year}/{secrets.token_urlsafe(24)}.xml"
        invoice.xml.save(name, ContentFile(xml), save=False)
        invoice.save(update_fields=["xml"])
    return invoice


def invoices_xml_zip(invoices: Iterable[Invoice]) -> tuple[bytes, list[str]]:
    """A zip of the stored UBL documents, one `<number>.xml` each, for the accountant's export
    of a period; also the numbers left out because their document is not rendered yet."""
    buffer = io.BytesIO()
    missing = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for invoice in invoices:
            if not invoice.xml:
                missing.append(invoice.number)
                continue
            with invoice.xml.open("rb") as file:
                archive.writestr(f"{invoice.number}.xml", file.read())
    return buffer.getvalue(), missing
