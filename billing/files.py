"""An invoice's stored files handed out: its PDF and its Peppol UBL document (SPEC §12).

Every caller checks access first (the company's selectors, the admin's queryset); this only
names and types the file.
"""

from django.http import FileResponse

from billing.models import Invoice

# The file fields of an invoice and their content types; the field is also the extension.
INVOICE_FILES = {"pdf": "application/pdf", "xml": "application/xml"}


def invoice_file_response(
    invoice: Invoice, field: str, *, as_attachment: bool = True
) -> FileResponse:
    """The stored file as `<number>.<field>`; the caller makes sure it exists."""
    return FileResponse(
        getattr(invoice, field).open("rb"),
        as_attachment=as_attachment,
        filename=f"{invoice.number}.{field}",
        content_type=INVOICE_FILES[field],
    )
