"""Company identifiers (issue #12): checked with python-stdnum where it knows the number, KvK as
8 digits; the country a choice list; a chamber of commerce number once per register; the
operators' placeholders valid; Belgian invoices with a structured payment reference."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django_scopes import scopes_disabled
from pypdf import PdfReader
from stdnum.be import ogm_vcs

from billing.models import Invoice, SupplierProfile
from billing.services import order_create, payment_start, payment_sync
from billing.tasks import invoice_deliver
from licences.identifiers import chamber_number_clean, iban_clean, postcode_clean, vat_id_clean
from licences.models import Company, CompanyType
from licences.services import company_create
from register.errors import DomainError
from tests.billing.test_peppol import validate
from tests.factories import CompanyFactory, UserFactory, get_register

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nl 123456782 b01", "NL123456782B01"),
        ("BE 0123.456.749", "BE0123456749"),
        ("", ""),
        ("NL123456789B01", None),  # the 11-test fails
        ("BE0812345678", None),  # mod 97 fails
        ("1234", None),
    ],
)
def test_vat_ids(value, expected):
    if expected is None:
        with pytest.raises(ValidationError):
            vat_id_clean(value)
    else:
        assert vat_id_clean(value) == expected


@pytest.mark.parametrize(
    ("country", "value", "expected"),
    [
        ("NL", "1234 5678", "12345678"),
        ("NL", "1234567", None),
        ("NL", "1234567a", None),
        ("BE", "0812.345.603", "0812345603"),
        ("BE", "0812.345.678", None),  # the old be supplier placeholder: mod 97 fails
        ("BE", "812345603", "0812345603"),  # the old nine-digit form
        ("LU", "B123456", "B123456"),  # no rule known: as typed
    ],
)
def test_chamber_numbers(country, value, expected):
    if expected is None:
        with pytest.raises(ValidationError):
            chamber_number_clean(value, country=country)
    else:
        assert chamber_number_clean(value, country=country) == expected


def test_postcodes_and_ibans():
    assert postcode_clean("3511ab", country="NL") == "3511 AB"
    assert postcode_clean("1000", country="BE") == "1000"
    assert iban_clean("NL91 ABNA 0417 1643 00") == "NL91ABNA0417164300"
    with pytest.raises(ValidationError):
        postcode_clean("351 AB", country="NL")
    with pytest.raises(ValidationError):
        iban_clean("BE68539007547034")  # the old be placeholder: the Belgian check fails


def test_the_operators_supplier_profiles_are_valid():
    with scopes_disabled():
        for profile in SupplierProfile.objects.all():
            profile.full_clean()
        be = SupplierProfile.objects.get(register__slug="be")

    assert (be.chamber_number, be.vat_id) == ("0812345603", "BE0812345603")


def test_the_supplier_profile_admin_refuses_a_wrong_iban():
    client = Client(HTTP_HOST="be.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with scopes_disabled():
        profile = SupplierProfile.objects.get(register__slug="be")
    page = f"/admin/billing/supplierprofile/{profile.pk}/change/"
    form = {
        field: getattr(profile, field)
        for field in ("legal_name", "street", "postcode", "city", "vat_id", "chamber_number")
    }
    form.update(country="BE", email=profile.email, invoice_prefix="BE")

    refused = client.post(page, {**form, "iban": "BE68539007547034"})
    saved = client.post(page, {**form, "iban": "BE71 0961 2345 6769"})

    assert refused.status_code == 200
    assert "This is not a valid IBAN." in refused.text
    assert saved.status_code == 302
    with scopes_disabled():
        assert SupplierProfile.objects.get(pk=profile.pk).iban == "BE71096123456769"


def test_a_chamber_of_commerce_number_is_taken_once_per_register():
    nl, be = get_register("nl"), get_register("be")
    CompanyFactory(register=nl, chamber_number="12345678")
    client = Client(HTTP_HOST="nl.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(UserFactory())
    details = {
        "name": "Tweede B.V.",
        "chamber_number": "1234 5678",
        "street": "Markt 1",
        "postcode": "5611 AA",
        "city": "Eindhoven",
        "country": "NL",
        "company_type": "advertiser",
        "employee_band": "up_to_250",
        "billing_email": "facturen@tweede.example",
    }

    refused = client.post("/account/company/new/", details)
    with scopes_disabled():
        # Another register may have a company with that number; a service is refused too.
        elsewhere = company_create(
            register=be, name="Elders", owner=UserFactory(), chamber_number="12345678", country="NL"
        )
        with pytest.raises(DomainError) as by_service:
            company_create(
                register=nl, name="Derde", owner=UserFactory(), chamber_number="12345678"
            )
        with pytest.raises(IntegrityError), transaction.atomic():
            Company.objects.create(register=nl, name="Vierde", chamber_number="12345678")

    assert refused.status_code == 200
    assert "A company with this chamber of commerce number is already registered." in refused.text
    assert elsewhere.chamber_number == "12345678"
    assert by_service.value.code == "invalid_company"


def test_a_service_refuses_a_wrong_vat_id():
    with scopes_disabled(), pytest.raises(DomainError) as wrong:
        company_create(
            register=get_register("be"), name="X", owner=UserFactory(), vat_id="BE0123456789"
        )

    assert wrong.value.code == "invalid_company"


def test_belgian_invoices_carry_a_structured_payment_reference(fake_mollie, media_root):
    be = get_register("be")
    company = CompanyFactory(
        register=be,
        name="Belbureau Brussel BV",
        vat_id="BE0123456749",
        chamber_number="0123456749",
        street="Wetstraat 16",
        postcode="1000",
        city="Brussel",
        country="BE",
        company_type=CompanyType.ADVERTISER,
    )
    with scopes_disabled():
        order = order_create(
            company=company, lines=[{"product": "advertiser-small", "quantity": 1}]
        )
        payment = payment_start(order=order, base_url="http://be.localhost")
        fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")
        payment_sync(payment_id=payment.provider_id)
        invoice = Invoice.objects.get(order=order)
    invoice_deliver(invoice.pk)
    with scopes_disabled():
        invoice.refresh_from_db()
    reference = invoice.structured_reference
    pdf = "".join(page.extract_text() for page in PdfReader(invoice.pdf.path).pages)
    xml = Path(invoice.xml.path).read_text()

    assert reference.startswith("+++") and reference.endswith("+++")
    assert ogm_vcs.is_valid(reference)
    assert reference in pdf
    assert f"<cbc:PaymentID>{reference}</cbc:PaymentID>" in xml
    assert validate(Path(invoice.xml.path)) == (0, "")


def test_dutch_invoices_have_no_structured_reference(fake_mollie, media_root):
    company = CompanyFactory(
        register=get_register("nl"), country="NL", company_type=CompanyType.SERVICE_PROVIDER
    )
    with scopes_disabled():
        order = order_create(company=company, lines=[{"product": "service", "quantity": 1}])
        payment = payment_start(order=order, base_url="http://nl.localhost")
        fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")
        payment_sync(payment_id=payment.provider_id)
        invoice = Invoice.objects.get(order=order)

    assert invoice.structured_reference == ""
