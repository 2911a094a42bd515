"""A register is data, not code (SPEC §1, issue #12): a third register, Luxembourg's `lu`, made
only in the admin by a superuser — the register with its host name, calling rules and
languages, its supplier profile, two products — then used as the other two are: a consumer
blocks a number, a company buys a licence through the fake Mollie and gets its invoice (PDF and
a valid Peppol UBL), scrubs a call file on a real worker, checks numbers and asks for the
calling window.

And no code compares a register's slug: what differs between registers is in their rows."""

import json
import re
import time
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from billing.models import Invoice, Order
from campaigns.models import Campaign
from licences.models import Company, LicenceProduct
from licences.services import api_key_create
from register.models import BlockedNumber, Register
from tests.billing.test_peppol import validate
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
HOST = "lu.localhost"
ADMIN = "/admin"
NUMBER = 352621123456  # a Luxembourg mobile number


# The register as a superuser fills in the admin's form, its host name in the inline.
LU = {
    "slug": "lu",
    "name": "Ne m'appelez plus Luxembourg",
    "operator": "Registre luxembourgeois asbl",
    "operator_address": "1, rue de l'Exemple\nL-1234 Luxembourg",
    "support_email": "service@dnc.lu.example",
    "country": "lu",
    "time_zone": "Europe/Luxembourg",
    "categories": "",
    "languages": "fr,de,en",
    "texts": json.dumps(
        {
            "fr": {"intro": "Inscrivez votre numéro luxembourgeois."},
            "de": {"intro": "Tragen Sie Ihre luxemburgische Nummer ein."},
            "en": {"intro": "Register your Luxembourg number."},
        }
    ),
    "confirmation_hours": "72",
    "max_numbers_per_request": "10",
    "use_period_days": "28",
    "vat_rate": "17.00",
    "liberation_day_off": "never",
    "calling_weekday_from": "08:00",
    "calling_weekday_until": "20:00",
    "calling_saturday_from": "",
    "calling_saturday_until": "",
    "calling_short_days": "",
    "calling_short_day_until": "18:00",
    "hosts-TOTAL_FORMS": "1",
    "hosts-INITIAL_FORMS": "0",
    "hosts-MIN_NUM_FORMS": "1",
    "hosts-MAX_NUM_FORMS": "1000",
    "hosts-0-hostname": HOST,
    "hosts-0-primary": "on",
}


def admin_post(client: Client, path: str, data: dict, *, host: str = HOST):
    response = client.post(f"{ADMIN}{path}", data, HTTP_HOST=host)
    errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.text, re.S)
    assert response.status_code == 302, errors
    return response


def make_lu_in_the_admin(superuser) -> None:
    admin = Client()
    admin.force_login(superuser)
    # The register, on the admin of a register that exists: hosts are an inline of it.
    admin_post(admin, "/register/register/add/", LU, host="nl.localhost")
    with scopes_disabled():
        lu = Register.objects.get(slug="lu")
    # The operator on its invoices and two products, on the new register's own admin.
    admin_post(
        admin,
        "/billing/supplierprofile/add/",
        {
            "register": lu.pk,
            "legal_name": "Registre luxembourgeois asbl",
            "street": "1, rue de l'Exemple",
            "postcode": "L-1234",
            "city": "Luxembourg",
            "country": "LU",
            "vat_id": "LU 1502 7442",
            "chamber_number": "F1234",
            "iban": "LU28 0019 4006 4475 0000",
            "email": "factures@dnc.lu.example",
            "invoice_prefix": "LU",
        },
    )
    for code, band, price in [
        ("annual-small", "up_to_250", "600.00"),
        ("annual-large", "over_250", "1800.00"),
    ]:
        admin_post(
            admin,
            "/licences/licenceproduct/add/",
            {
                "code": code,
                "kind": "access",
                "names": json.dumps(
                    {
                        "fr": f"Licence annuelle ({band})",
                        "de": f"Jahreslizenz ({band})",
                        "en": f"Annual licence ({band})",
                    }
                ),
                "price": price,
                "term": "year",
                "company_type": "advertiser",
                "employee_band": band,
                "checks_per_minute": "20",
                "active": "on",
                "for_sale": "on",
                "position": "0",
            },
        )


def consumer_blocks_a_number() -> None:
    consumer = Client(HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="fr")
    home = consumer.get("/")
    assert "Inscrivez votre numéro luxembourgeois." in home.text
    assert home["Content-Language"] == "fr"
    asked = consumer.post("/block/", {"numbers": "621 123 456", "email": "marie@example.lu"})
    assert asked.status_code == 200
    link = re.search(r"http://lu\.localhost(/confirm/\S+/)", mail.outbox[-1].body).group(1)
    assert consumer.post(link, {}).status_code in (200, 302)
    with scopes_disabled():
        blocked = BlockedNumber.objects.get(number=NUMBER)
    assert blocked.register.slug == "lu"


def company_buys_a_licence(fake_mollie) -> tuple[Company, Invoice]:
    owner = UserFactory(email="owner@telemarketing.lu.example")
    portal = Client(HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="fr")
    portal.force_login(owner)
    created = portal.post(
        "/account/company/new/",
        {
            "name": "Télémarketing Luxembourg SARL",
            "chamber_number": "B123456",
            "vat_id": "LU20211787",
            "street": "2, avenue de la Gare",
            "postcode": "L-1610",
            "city": "Luxembourg",
            "country": "LU",
            "company_type": "advertiser",
            "employee_band": "up_to_250",
            "billing_email": "factures@telemarketing.lu.example",
        },
    )
    assert created.status_code == 302
    shop = portal.get("/billing/shop/")
    assert 'id="product-annual-small"' in shop.text
    assert 'id="product-annual-large"' not in shop.text  # priced by size, as data says
    checkout = portal.post("/billing/shop/", {"product": "annual-small", "quantity": 1})
    assert checkout["Location"].startswith(fake_mollie.public_url + "/checkout/tr_")
    with scopes_disabled():
        company = Company.objects.get(register__slug="lu")
        order = Order.objects.get(company=company)
        payment = order.payments.get()
    fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")
    status = portal.get(f"/billing/orders/{order.pk}/status/").json()
    assert status == {"status": "paid", "final": True}
    # The worker renders the PDF and the UBL document after the commit.
    deadline = time.monotonic() + 60
    while True:
        with scopes_disabled():
            invoice = Invoice.objects.get(order=order)
        if invoice.xml:
            break
        assert time.monotonic() < deadline, "the invoice was not rendered"
        time.sleep(0.25)
    return company, invoice


def scrub_check_and_calling_window(company: Company) -> None:
    with scopes_disabled():
        campaign = Campaign.objects.create(
            register=company.register, company=company, name="Printemps", purpose="commercial"
        )
        _key, raw = api_key_create(company=company, name="test")
    api = APIClient(HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="en")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    upload = api.post(
        f"/api/v1/campaigns/{campaign.pk}/call-files",
        {
            "file": SimpleUploadedFile(
                "liste.csv", b"nom;tel\nMarie;621 123 456\nJean;691 234 567\n"
            )
        },
        format="multipart",
    )
    assert upload.status_code == 202, upload.content
    url = f"/api/v1/call-files/{upload.json()['id']}"
    deadline = time.monotonic() + 60
    while (detail := api.get(url).json())["result_url"] is None:
        assert detail["status"] in ("queued", "running", "done"), detail
        assert time.monotonic() < deadline, detail
        time.sleep(0.25)
    rows = b"".join(api.get(detail["result_url"]).streaming_content).decode().splitlines()
    assert [row.split(";")[2:5] for row in rows[1:]] == [
        ["BLOCKED", "REGISTERED", f"+{NUMBER}"],
        ["CALLABLE", "", "+352691234567"],
    ]

    checked = api.post(
        "/api/v1/numbers/check",
        {"numbers": ["+352 621 123 456", "+352 691 234 567"], "campaign": campaign.pk},
        format="json",
    )
    assert checked.status_code == 200, checked.content
    assert [r["status"] for r in checked.json()["results"]] == ["BLOCKED", "CALLABLE"]

    # A Sunday in Luxembourg: no calls; Monday from 08:00 in the register's time zone.
    window = api.get("/api/v1/calling-window", {"at": "2026-06-14T12:00:00+02:00"}).json()
    assert window["allowed"] is False
    assert window["next_allowed_at"] == "2026-06-15T08:00:00+02:00"
    # 23 June, the Grand Duke's birthday, is a public holiday in Luxembourg only.
    national_day = api.get("/api/v1/calling-window", {"at": "2026-06-23T12:00:00+02:00"}).json()
    assert national_day["allowed"] is False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_third_register_made_in_the_admin_works_like_the_others(
    celery_worker_process, fake_mollie, stored_files
):
    make_lu_in_the_admin(UserFactory(is_staff=True, is_superuser=True))
    with scopes_disabled():
        assert LicenceProduct.objects.filter(register__slug="lu").count() == 2

    consumer_blocks_a_number()
    company, invoice = company_buys_a_licence(fake_mollie)
    try:
        scrub_check_and_calling_window(company)
        check_the_invoice(invoice)
    finally:
        # The worker stored them where its settings say, not in a test folder.
        for stored in (invoice.pdf, invoice.xml):
            stored.storage.delete(stored.name)


def check_the_invoice(invoice: Invoice) -> None:

    assert invoice.number.startswith("LU-")
    assert (invoice.supplier_country, invoice.customer_country) == ("LU", "LU")
    assert invoice.vat_rate == 17
    assert invoice.pdf
    xml = Path(invoice.xml.path).read_text()
    assert '<cbc:EndpointID schemeID="9938">LU15027442</cbc:EndpointID>' in xml
    assert validate(Path(invoice.xml.path)) == (0, "")


# Register slugs compared in code: `== "nl"`, `slug != 'be'`, `in ("nl", "be")` and the like.
SLUG_COMPARISON = re.compile(
    r"""(?:==|!=)\s*["'](?:nl|be|lu)["']|["'](?:nl|be|lu)["']\s*(?:==|!=)"""
    r"""|slug\s+(?:not\s+)?in\s*[(\[{]|register\s*==\s*["']"""
)
CODE = [
    "billing",
    "campaigns",
    "complaints",
    "config",
    "licences",
    "register",
    "templates",
    "uploads",
]


@pytest.mark.django_db
def test_the_admin_refuses_a_register_it_could_not_run():
    admin = Client(HTTP_HOST="nl.localhost", HTTP_ACCEPT_LANGUAGE="en")
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    wrong = {**LU, "country": "zz", "time_zone": "Mars/Olympus", "languages": "fr,xx"}

    response = admin.post(f"{ADMIN}/register/register/add/", wrong)

    assert response.status_code == 200
    for message in (
        "No telephone number plan is known for this country code.",
        "Not a time zone, e.g. Europe/Amsterdam.",
        "Languages are among: de, en, fr, nl.",
    ):
        assert message in response.text
    with scopes_disabled():
        assert not Register.objects.filter(slug="lu").exists()


def test_no_code_compares_a_registers_slug():
    found = []
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in {".py", ".html", ".txt"} or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if SLUG_COMPARISON.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_slug_check_finds_a_comparison(tmp_path):
    assert SLUG_COMPARISON.search('if register.slug == "be":')
    assert SLUG_COMPARISON.search("{% if request.register.slug == 'nl' %}")
    assert SLUG_COMPARISON.search('if register.slug in ("nl", "be"):')
    assert not SLUG_COMPARISON.search('Register.objects.get(slug="nl")')
