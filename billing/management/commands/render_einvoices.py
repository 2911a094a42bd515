"""Renders the Peppol UBL documents missing beside rendered PDFs (SPEC §12).

The delivery task renders each invoice's document after its PDF; this catches up on invoices
issued before e-invoices existed, or whose rendering failed: `manage.py render_einvoices`,
safe to run again (a rendered document is left as it is).
"""

from django.core.management.base import BaseCommand

from billing.models import Invoice
from billing.services.einvoices import invoice_xml_render
from register.tasking import each_register


class Command(BaseCommand):
    help = "Render the Peppol UBL document of every invoice that has its PDF but no document."

    def handle(self, *args, **options):
        rendered = 0
        for register in each_register():
            pending = (
                Invoice.objects.filter(register=register, xml="")
                .exclude(pdf="")
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            for invoice_id in list(pending):
                invoice = invoice_xml_render(invoice_id=invoice_id)
                if invoice is not None and invoice.xml:
                    rendered += 1
        self.stdout.write(f"{rendered} e-invoice(s) rendered")
