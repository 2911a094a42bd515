"""Invoices (SPEC §12): every field the law requires in the PDF, mailed once, immutable,
corrected by credit notes with their own gapless series, exported for the accountant."""

import io
from decimal import Decimal

import pytest
from django.core import mail
from django.db import DatabaseError, transaction
from django_scopes import scopes_disabled
from pypdf import PdfReader

from billing.admin import invoice_csv_row
from billing.models import Invoice, InvoiceImmutable, InvoiceLine
from billing.services import (
    credit_note_issue,
    invoice_mail,
    invoice_pdf_render,
    order_create,
    payment_start,
    payment_sync,
)
from register.errors import DomainError
from register.spreadsheets import spreadsheet_safe
from tests.factories import CampaignFactory, CompanyFactory, UserFactory, get_register

pytestmark = pytest.mark.django_db

PORTAL = "http://nl.localhost:8000"


def paid_invoice(fake_mollie, company, *, product="marking-1", quantity=1) -> Invoice:
    """Buys and pays through the real client and the fake; the return page settles it."""
    campaign = CampaignFactory(company=company, name="Voorjaarsactie")
    with scopes_disabled():
        order = order_create(
            company=company,
            lines=[{"product": product, "quantity": quantity, "campaign": campaign}],
        )
        payment = payment_start(order=order, base_url=PORTAL, return_url=f"{PORTAL}/")
        fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")
        payment_sync(payment_id=payment.provider_id)
        return Invoice.objects.get(order=order)


@pytest.fixture
def company():
    return CompanyFactory(
        register=get_register("nl"),
        name="Bakkerij De Korenschoof B.V.",
        vat_id="NL001234567B01",
        chamber_number="12345678",
        street="Molenweg 12",
        postcode="3511 AB",
        city="Utrecht",
        billing_email="boekhouding@korenschoof.example",
    )


def pdf_text(invoice: Invoice) -> str:
    with invoice.pdf.open("rb") as pdf:
        reader = PdfReader(io.BytesIO(pdf.read()))
        text = " ".join(page.extract_text() for page in reader.pages)
    # Table cells wrap; compare words, not line breaks.
    return " ".join(text.split())


def test_issuing_queues_the_delivery_after_commit(
    fake_mollie, company, django_capture_on_commit_callbacks, queued_deliveries
):
    with django_capture_on_commit_callbacks() as callbacks:
        invoice = paid_invoice(fake_mollie, company)

    assert queued_deliveries == []  # nothing reaches a worker before the commit
    for callback in callbacks:
        callback()
    assert queued_deliveries == [invoice.pk]


def test_pdf_holds_every_field_the_law_requires(fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)

    with scopes_disabled():
        invoice_pdf_render(invoice_id=invoice.pk)
        invoice.refresh_from_db()
    text = pdf_text(invoice)

    required = {
        "supplier name": "Stichting Infofilter",
        "supplier address": "Postbus 37",
        "supplier town": "2100 AA Heemstede",
        "supplier VAT id": "NL812345678B01",
        "supplier KvK": "41223344",
        "customer name": "Bakkerij De Korenschoof B.V.",
        "customer address": "Molenweg 12",
        "customer town": "3511 AB Utrecht",
        "customer VAT id": "NL001234567B01",
        "customer KvK": "12345678",
        "invoice number": invoice.number,
        "issue date label": "Factuurdatum / Issue date",
        "issue date": invoice.issued_on.isoformat(),
        "supply date label": "Leverdatum / Supply date",
        "description": "Markeerpakket 1 (10.000 records) — Voorjaarsactie",
        "quantity label": "Aantal / Quantity",
        "unit price excl. VAT": "EUR 175.00",
        "VAT rate": "21%",
        "VAT amount": "EUR 36.75",
        "total incl. VAT": "EUR 211.75",
        "payment reference": invoice.payment_reference,
    }
    missing = {name: value for name, value in required.items() if value not in text}
    assert missing == {}
    assert invoice.payment_reference.startswith("tr_")
    assert invoice.pdf.name.startswith("invoices/nl/")
    assert invoice.number not in invoice.pdf.name  # unguessable: a random name, not the number


def test_pdf_is_rendered_once(fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)

    with scopes_disabled():
        first = invoice_pdf_render(invoice_id=invoice.pk).pdf.name
        second = invoice_pdf_render(invoice_id=invoice.pk).pdf.name

    assert first == second


def test_invoice_is_mailed_once_with_its_pdf_to_the_billing_address(fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)

    with scopes_disabled():
        invoice_pdf_render(invoice_id=invoice.pk)
        sent = [invoice_mail(invoice_id=invoice.pk), invoice_mail(invoice_id=invoice.pk)]

    assert sent == [True, False]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["boekhouding@korenschoof.example"]
    assert invoice.number in message.subject
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF")


def test_invoice_copies_the_parties_so_later_changes_do_not_rewrite_it(fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)

    with scopes_disabled():
        company.name = "Renamed B.V."
        company.save()
        invoice.refresh_from_db()

    assert invoice.customer_name == "Bakkerij De Korenschoof B.V."
    assert invoice.customer_address == "Molenweg 12\n3511 AB Utrecht\nNL"


def test_issued_invoice_refuses_changes_in_save_and_in_the_database(fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)

    with scopes_disabled():
        invoice.total_excl_vat = Decimal("1.00")
        with pytest.raises(InvoiceImmutable):
            invoice.save()
        with pytest.raises(InvoiceImmutable):
            invoice.delete()
        with pytest.raises(DatabaseError), transaction.atomic():
            Invoice.objects.filter(pk=invoice.pk).update(customer_name="Someone else")
        with pytest.raises(DatabaseError), transaction.atomic():
            Invoice.objects.filter(pk=invoice.pk).delete()
        with pytest.raises(DatabaseError), transaction.atomic():
            InvoiceLine.objects.filter(invoice=invoice).update(unit_price=Decimal("1.00"))
        invoice.refresh_from_db()

    assert invoice.total_excl_vat == Decimal("175.00")
    assert invoice.customer_name == "Bakkerij De Korenschoof B.V."


def test_credit_notes_reverse_an_invoice_and_have_their_own_gapless_series(fake_mollie, company):
    invoices = [paid_invoice(fake_mollie, company) for _ in range(3)]

    with scopes_disabled():
        first = credit_note_issue(invoice=invoices[2], reason="Ordered twice by mistake")
        second = credit_note_issue(invoice=invoices[0], reason="Goodwill")
        lines = list(first.lines.all())
    year = first.year

    assert [invoice.number for invoice in invoices] == [f"NL-{year}-{n:06d}" for n in range(1, 4)]
    assert (first.number, second.number) == (f"NL-CN-{year}-000001", f"NL-CN-{year}-000002")
    assert (first.total_excl_vat, first.vat_amount, first.total_incl_vat) == (
        Decimal("-175.00"),
        Decimal("-36.75"),
        Decimal("-211.75"),
    )
    assert first.corrects == invoices[2]
    assert [(line.quantity, line.total_excl_vat) for line in lines] == [(-1, Decimal("-175.00"))]


def test_an_invoice_is_credited_once(fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)

    with scopes_disabled():
        credit_note = credit_note_issue(invoice=invoice, reason="Cancelled")
        with pytest.raises(DomainError) as twice:
            credit_note_issue(invoice=invoice, reason="Again")
        with pytest.raises(DomainError) as of_credit_note:
            credit_note_issue(invoice=credit_note, reason="Credit the credit note")

    assert twice.value.code == "already_credited"
    assert of_credit_note.value.code == "not_an_invoice"


def test_credit_note_pdf_names_the_invoice_it_corrects(fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)

    with scopes_disabled():
        credit_note = credit_note_issue(invoice=invoice, reason="Ordered twice by mistake")
        invoice_pdf_render(invoice_id=credit_note.pk)
        credit_note.refresh_from_db()
        text = pdf_text(credit_note)

    assert "Creditnota / Credit note" in text
    assert credit_note.number in text
    assert invoice.number in text
    assert "Ordered twice by mistake" in text
    assert "EUR -211.75" in text


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+31 6 1234", "'+31 6 1234"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Bakkerij B.V.", "Bakkerij B.V."),
    ],
)
def test_spreadsheet_formulas_are_neutralised(value, safe):
    assert spreadsheet_safe(value) == safe


def test_csv_row_neutralises_text_but_keeps_amounts_numeric(fake_mollie):
    company = CompanyFactory(register=get_register("nl"), name="=cmd|' /C calc'!A0")
    invoice = paid_invoice(fake_mollie, company)
    with scopes_disabled():
        credit_note = credit_note_issue(invoice=invoice, reason="x")

    row = invoice_csv_row(credit_note)

    assert row[4] == "'=cmd|' /C calc'!A0"
    assert row[7] == "-175.00"
    assert row[-1] == invoice.number


def test_admin_lists_exports_and_serves_the_pdf_to_register_staff(client, fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)
    with scopes_disabled():
        invoice_pdf_render(invoice_id=invoice.pk)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)

    listing = client.get(
        f"/admin/billing/invoice/?issued_on__year={invoice.year}", HTTP_HOST="nl.localhost"
    )
    pdf = client.get(f"/admin/billing/invoice/{invoice.pk}/pdf/", HTTP_HOST="nl.localhost")
    export = client.post(
        "/admin/billing/invoice/",
        {"action": "export_csv", "_selected_action": [invoice.pk]},
        HTTP_HOST="nl.localhost",
    )
    other_register = client.get(
        f"/admin/billing/invoice/{invoice.pk}/pdf/", HTTP_HOST="be.localhost"
    )

    assert listing.status_code == 200
    assert invoice.number in listing.text
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert export.status_code == 200
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    assert invoice.number in export.content.decode("utf-8-sig")
    assert other_register.status_code == 404


def test_admin_credit_note_action_asks_for_a_reason_then_issues(client, fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    selected = {"action": "issue_credit_notes", "_selected_action": [invoice.pk]}

    asked = client.post("/admin/billing/invoice/", selected, HTTP_HOST="nl.localhost")
    issued = client.post(
        "/admin/billing/invoice/",
        {**selected, "apply": "1", "reason": "Wrong company"},
        HTTP_HOST="nl.localhost",
    )

    assert asked.status_code == 200
    assert "reason" in asked.text
    assert issued.status_code == 302
    with scopes_disabled():
        credit_note = Invoice.objects.get(corrects=invoice)
    assert credit_note.reason == "Wrong company"
