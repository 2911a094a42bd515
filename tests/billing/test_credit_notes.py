"""Credit notes for part of an invoice (SPEC §12, issue #12): by line or by amount, with a reason,
in their own gapless series, a PDF and a Peppol UBL credit note each; never more than the
invoice, which the database refuses even to writers that race; used licences not refunded
without a logged override (seed 000)."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation
from django_scopes import scopes_disabled

from billing.models import Invoice, InvoiceKind, InvoiceLine
from billing.services import (
    credit_note_issue,
    invoice_balance,
    order_create,
    payment_start,
    payment_sync,
)
from billing.tasks import invoice_deliver
from campaigns.models import Download, DownloadKind, DownloadStatus
from licences.models import CreditAccount, CreditEntry, Licence, LicenceStatus
from licences.services import credits_spend
from register.errors import DomainError
from register.models import ActionLog
from tests.billing.test_peppol import validate
from tests.factories import CampaignFactory, CompanyFactory, UserFactory, get_register
from tests.races import run_at_once

PORTAL = "http://nl.localhost"
MARKING, DOWNLOAD = 1, 2  # the invoice's lines


@pytest.fixture
def company(db):
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


def paid_invoice(fake_mollie, company) -> Invoice:
    """Two marking packages (2 × 10,000 credits, 2 × 175.00) and two download licences
    (2 × 550.00) for one campaign: 1,450.00 + 21% VAT = 1,754.50, paid at the fake Mollie."""
    campaign = CampaignFactory(company=company, name="Voorjaarsactie")
    with scopes_disabled():
        order = order_create(
            company=company,
            lines=[
                {"product": "marking-1", "quantity": 2, "campaign": campaign},
                {"product": "download", "quantity": 2, "campaign": campaign},
            ],
        )
        payment = payment_start(order=order, base_url=PORTAL, return_url=f"{PORTAL}/")
        fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")
        payment_sync(payment_id=payment.provider_id)
        return Invoice.objects.get(order=order)


def totals(document: Invoice) -> tuple[Decimal, Decimal, Decimal]:
    return document.total_excl_vat, document.vat_amount, document.total_incl_vat


def credits_left(invoice: Invoice) -> int:
    with scopes_disabled():
        return CreditAccount.objects.get(company=invoice.company).balance


@pytest.mark.django_db
def test_a_credit_note_by_line_takes_back_that_part_and_what_it_paid_for(fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)

    with scopes_disabled():
        credit_note = credit_note_issue(
            invoice=invoice, reason="One package too many", lines={MARKING: 1}
        )
        lines = list(credit_note.lines.values_list("credits_line__position", "quantity"))
        balance = invoice_balance(invoice)

    assert credit_note.number.startswith("NL-CN-")
    assert (credit_note.corrects, credit_note.reason) == (invoice, "One package too many")
    assert totals(credit_note) == (Decimal("-175.00"), Decimal("-36.75"), Decimal("-211.75"))
    assert lines == [(MARKING, -1)]
    assert balance.lines[MARKING].quantity == 1
    assert balance.total_incl_vat == Decimal("1542.75")
    # The unused credits of the package credited are taken back.
    assert credits_left(invoice) == 10_000


@pytest.mark.django_db
def test_a_credit_note_by_amount_and_credits_in_parts_add_up_to_the_invoice(fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)

    with scopes_disabled():
        goodwill = credit_note_issue(invoice=invoice, reason="Late delivery", amount="100.00")
        lines = credit_note_issue(
            invoice=invoice, reason="Not needed", lines={MARKING: 2, DOWNLOAD: 1}
        )
        with pytest.raises(DomainError) as too_much:
            credit_note_issue(invoice=invoice, reason="Too much", amount="450.01")
        rest = credit_note_issue(invoice=invoice, reason="The rest", amount="450.00")
        with pytest.raises(DomainError) as again:
            credit_note_issue(invoice=invoice, reason="Again", amount="0.01")
        numbers = [goodwill.number, lines.number, rest.number]

    year = invoice.year
    assert numbers == [f"NL-CN-{year}-{n:06d}" for n in (1, 2, 3)]
    assert totals(goodwill) == (Decimal("-100.00"), Decimal("-21.00"), Decimal("-121.00"))
    assert totals(lines) == (Decimal("-900.00"), Decimal("-189.00"), Decimal("-1089.00"))
    assert too_much.value.code == "exceeds_invoice"
    assert again.value.code == "already_credited"
    credited = [
        sum(getattr(n, f) for n in (goodwill, lines, rest))
        for f in ("total_excl_vat", "vat_amount", "total_incl_vat")
    ]
    assert credited == [-invoice.total_excl_vat, -invoice.vat_amount, -invoice.total_incl_vat]


@pytest.mark.django_db
def test_a_line_is_credited_at_most_its_quantity(fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)

    with scopes_disabled():
        credit_note_issue(invoice=invoice, reason="One", lines={DOWNLOAD: 1})
        with pytest.raises(DomainError) as beyond:
            credit_note_issue(invoice=invoice, reason="Two more", lines={DOWNLOAD: 2})
        with pytest.raises(DomainError) as nothing:
            credit_note_issue(invoice=invoice, reason="Nothing", lines={MARKING: 0})
        with pytest.raises(DomainError) as no_line:
            credit_note_issue(invoice=invoice, reason="No such line", lines={9: 1})

    assert (beyond.value.code, nothing.value.code) == ("exceeds_line", "nothing_to_credit")
    assert no_line.value.code == "no_such_line"


@pytest.mark.django_db
def test_refunding_used_credits_needs_an_override_with_a_reason_which_is_logged(
    fake_mollie, company
):
    invoice = paid_invoice(fake_mollie, company)
    staff = UserFactory(is_staff=True, email="boekhouding@register.example")
    with scopes_disabled():
        campaign = invoice.order.lines.first().campaign
        credits_spend(campaign=campaign, amount=15_000, reference="scrub:1", reason="scrub")

        with pytest.raises(DomainError) as refused, translation.override("en"):
            credit_note_issue(invoice=invoice, reason="Unhappy", lines={MARKING: 2})
        # 5,000 unused credits are left: one package's worth is not, so it needs the override.
        with pytest.raises(DomainError) as one_package:
            credit_note_issue(invoice=invoice, reason="Unhappy", lines={MARKING: 1})
        credit_note = credit_note_issue(
            invoice=invoice,
            reason="Unhappy",
            lines={MARKING: 2},
            override_reason="Our outage made the scrub results unusable",
            actor=staff,
        )
        override = ActionLog.objects.get(action="credit_note.override")
        taken_back = CreditEntry.objects.get(reason=CreditEntry.Reason.CREDITED)

    assert refused.value.code == one_package.value.code == "used_licence"
    assert "15000 of its 20000 credits are used" in str(refused.value.message)
    assert credit_note.total_excl_vat == Decimal("-350.00")
    assert override.actor == staff
    assert override.object_id == str(credit_note.pk)
    assert override.data["override_reason"] == "Our outage made the scrub results unusable"
    assert override.data["invoice"] == invoice.number
    # What was left unused is taken back; the used credits cannot be.
    assert (taken_back.delta, credits_left(invoice)) == (-5_000, 0)


@pytest.mark.django_db
def test_a_used_download_needs_the_override_and_unused_ones_are_withdrawn(fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)
    with scopes_disabled():
        first, second = Licence.objects.filter(company=company, product__code="download")
        Download.objects.create(
            register=invoice.register,
            company=company,
            campaign=first.campaign,
            kind=DownloadKind.FULL,
            status=DownloadStatus.DONE,
            licence=first,
        )

        # One of the two is unused: crediting one takes that one back without an override.
        one = credit_note_issue(invoice=invoice, reason="One too many", lines={DOWNLOAD: 1})
        with pytest.raises(DomainError) as used:
            credit_note_issue(invoice=invoice, reason="And the other", lines={DOWNLOAD: 1})
        # An amount refunds money paid for the used download too.
        with pytest.raises(DomainError) as by_amount:
            credit_note_issue(invoice=invoice, reason="Discount", amount="10.00")
        second.refresh_from_db()
        first.refresh_from_db()
        withdrawn = ActionLog.objects.get(action="licence.withdrawn")

    assert one.total_excl_vat == Decimal("-550.00")
    assert used.value.code == by_amount.value.code == "used_licence"
    assert (second.status, first.status) == (LicenceStatus.EXPIRED, LicenceStatus.ACTIVE)
    assert withdrawn.object_id == str(second.pk)
    assert one.number in withdrawn.data["reason"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "credit", [{"lines": {MARKING: 1, DOWNLOAD: 2}}, {"amount": "123.45"}], ids=["lines", "amount"]
)
def test_partial_credit_notes_pass_the_peppol_rules_and_have_a_pdf(fake_mollie, company, credit):
    invoice = paid_invoice(fake_mollie, company)
    with scopes_disabled():
        credit_note = credit_note_issue(invoice=invoice, reason="Partly cancelled", **credit)
    invoice_deliver(credit_note.pk)  # what the worker runs after the commit
    with scopes_disabled():
        credit_note.refresh_from_db()
    xml = Path(credit_note.xml.path).read_text()

    code, report = validate(Path(credit_note.xml.path))

    assert (code, report) == (0, "")
    assert credit_note.pdf
    assert f"<cbc:ID>{invoice.number}</cbc:ID>" in xml  # the invoice it refers to
    assert f'"EUR">{-credit_note.total_incl_vat:.2f}</cbc:PayableAmount>' in xml


@pytest.mark.django_db
def test_the_database_refuses_credit_notes_beyond_the_invoice_whoever_writes_them(
    fake_mollie, company
):
    invoice = paid_invoice(fake_mollie, company)
    with scopes_disabled():
        credit_note_issue(invoice=invoice, reason="Most of it", amount="1400.00")
        line = invoice.lines.get(position=DOWNLOAD)
        with pytest.raises(IntegrityError, match="would exceed it"), transaction.atomic():
            raw_credit_note(invoice, sequence=900, excl=Decimal("-50.01"))
        note = raw_credit_note(invoice, sequence=901, excl=Decimal("-10.00"))
        InvoiceLine.objects.create(
            invoice=note,
            position=1,
            credits_line=line,
            description=line.description,
            quantity=-2,
            unit_price=line.unit_price,
            total_excl_vat=Decimal("-10.00"),
            vat_amount=Decimal("-2.10"),
        )
        with pytest.raises(IntegrityError, match="beyond its quantity"), transaction.atomic():
            InvoiceLine.objects.create(
                invoice=note,
                position=2,
                credits_line=line,
                description=line.description,
                quantity=-1,
                unit_price=line.unit_price,
                total_excl_vat=Decimal("0.00"),
                vat_amount=Decimal("0.00"),
            )


def raw_credit_note(invoice: Invoice, *, sequence: int, excl: Decimal) -> Invoice:
    """A credit note written straight to the table, past the service and its checks."""
    vat = (excl * invoice.vat_rate / 100).quantize(Decimal("0.01"))
    fields = {
        f.name: getattr(invoice, f.name)
        for f in Invoice._meta.concrete_fields
        if f.name not in {"id", "kind", "corrects", "number", "sequence", "pdf", "xml", "order"}
    }
    fields.update(
        kind=InvoiceKind.CREDIT_NOTE,
        corrects=invoice,
        number=f"RAW-{sequence}",
        sequence=sequence,
        pdf="",
        xml="",
        reason="raw",
        total_excl_vat=excl,
        vat_amount=vat,
        total_incl_vat=excl + vat,
    )
    return Invoice.objects.create(**fields)


# Real commits so the threads race on PostgreSQL; the seeded registers are restored after.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_credit_notes_at_once_never_exceed_the_invoice(fake_mollie, company, monkeypatch):
    monkeypatch.setattr("billing.tasks.invoice_deliver.delay", lambda invoice_id: None)
    invoice = paid_invoice(fake_mollie, company)
    issued, refused = [], []

    def credit_most():
        try:
            issued.append(credit_note_issue(invoice=invoice, reason="Most", amount="1000.00"))
        except DomainError as error:
            refused.append(error.code)

    failures = run_at_once(credit_most, credit_most)

    assert failures == []
    assert (len(issued), refused) == (1, ["exceeds_invoice"])
    with scopes_disabled():
        assert invoice_balance(invoice).total_excl_vat == Decimal("450.00")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_database_alone_refuses_the_second_of_two_raced_credit_notes(fake_mollie, company):
    """Two writers past the service, each within the invoice alone: the trigger's lock makes
    the second see the first, and refuses it."""
    invoice = paid_invoice(fake_mollie, company)

    failures = run_at_once(
        lambda: raw_credit_note(invoice, sequence=801, excl=Decimal("-1000.00")),
        lambda: raw_credit_note(invoice, sequence=802, excl=Decimal("-1000.00")),
    )

    assert [type(failure) for failure in failures] == [IntegrityError]
    assert "would exceed it" in str(failures[0])
    with scopes_disabled():
        assert Invoice.objects.filter(corrects=invoice).count() == 1


@pytest.mark.django_db
def test_staff_credit_part_of_an_invoice_in_the_admin(client, fake_mollie, company):
    invoice = paid_invoice(fake_mollie, company)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = f"/admin/billing/invoice/{invoice.pk}/credit/"

    change = client.get(f"/admin/billing/invoice/{invoice.pk}/change/", HTTP_HOST="nl.localhost")
    form = client.get(page, HTTP_HOST="nl.localhost")
    too_many = client.post(
        page, {"mode": "lines", "line_2": "3", "reason": "x"}, HTTP_HOST="nl.localhost"
    )
    issued = client.post(
        page, {"mode": "lines", "line_2": "1", "reason": "One too many"}, HTTP_HOST="nl.localhost"
    )
    with scopes_disabled():
        credit_note = Invoice.objects.get(corrects=invoice)
        credits_before = credits_left(invoice)
    marking = client.post(
        page, {"mode": "lines", "line_1": "2", "reason": "Unhappy"}, HTTP_HOST="nl.localhost"
    )

    assert page in change.text
    assert form.status_code == 200
    assert "line_1" in form.text and "line_2" in form.text
    assert too_many.status_code == 200
    assert issued.status_code == 302
    assert issued["Location"] == f"/admin/billing/invoice/{credit_note.pk}/change/"
    assert credit_note.total_excl_vat == Decimal("-550.00")
    assert marking.status_code == 302  # nothing used yet: the credits are taken back
    assert credits_before == 20_000
    assert credits_left(invoice) == 0
