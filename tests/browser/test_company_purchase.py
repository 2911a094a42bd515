"""A company signs up, buys marking-1 through the fake Mollie's checkout and gets its credits
and a real invoice PDF, in a real browser (SPEC §6, §7, §12; issue 3's "done when")."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect
from pypdf import PdfReader

pytestmark = [
    pytest.mark.browser,
    # The live server and the Celery worker see only committed rows; restore the seeded
    # registers and catalogue for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EMAIL = "inkoop@korenschoof.example"
PASSWORD = "korenschoof-brood-2026"


def menu(page, name: str) -> None:
    page.get_by_role("navigation", name="Company menu").get_by_role("link", name=name).click()


def test_sign_up_buy_marking_1_and_download_the_invoice(
    page, site, shot, fake_mollie, celery_worker_process
):
    nl = site("nl")
    page.goto(f"{nl}/account/signup/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account for your company")
    shot("portal-signup")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    shot("portal-signup-sent")

    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", mail.outbox[-1].body, re.MULTILINE).group(1)
    page.get_by_label("Code").fill(code)
    shot("portal-verify")
    page.get_by_role("button", name="Confirm my e-mail address").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Register your company")
    page.get_by_label("Legal name").fill("Bakkerij De Korenschoof B.V.")
    page.get_by_label("Chamber of commerce number").fill("12345678")
    page.get_by_label("VAT id").fill("NL123456782B01")
    page.get_by_label("advertiser", exact=True).check()
    page.get_by_label("up to 250 employees").check()
    page.get_by_label("Street and number").fill("Molenweg 12")
    page.get_by_label("Postcode").fill("3511 AB")
    page.get_by_label("City").fill("Utrecht")
    page.get_by_label("Billing e-mail").fill("boekhouding@korenschoof.example")
    shot("portal-company-new")
    page.get_by_role("button", name="Register company").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bakkerij De Korenschoof B.V.")
    shot("portal-company")

    menu(page, "Campaigns")
    shot("portal-campaigns-empty")
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Voorjaarsactie")
    page.get_by_label("Commercial telemarketing (offers from companies)").check()
    shot("portal-campaign-new")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Voorjaarsactie")
    expect(page.locator("#credit-balance")).to_have_text("0")

    menu(page, "Shop")
    shot("portal-shop")
    product = page.locator("#product-marking-1")
    expect(product).to_contain_text("€ 175.00")
    expect(product).to_contain_text("€ 211.75 incl. 21% VAT")
    product.get_by_label("Campaign").select_option(label="Voorjaarsactie")
    product.get_by_role("button", name="Buy and pay").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(fake_mollie.public_url)}/checkout/tr_"))
    expect(page.get_by_text("EUR 211.75")).to_be_visible()
    page.locator('button[value="paid"]').click()

    expect(page.get_by_role("heading", name="Paid, thank you")).to_be_visible()
    shot("portal-order-paid")
    page.get_by_role("link", name="See your licences").click()
    expect(page.get_by_role("table").first).to_contain_text("10,000")
    shot("portal-licences")

    menu(page, "Invoices")
    download_link = page.get_by_role("table").get_by_role("link", name=re.compile("^Download"))
    for _ in range(60):
        if download_link.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    shot("portal-invoices")
    with page.expect_download() as download_info:
        download_link.click()
    pdf = download_info.value
    assert re.fullmatch(r"NL-\d{4}-\d{6}\.pdf", pdf.suggested_filename)
    text = "".join(p.extract_text() for p in PdfReader(pdf.path()).pages)
    for expected in (
        "Bakkerij De Korenschoof B.V.",
        "NL123456782B01",
        "12345678",
        pdf.suggested_filename.removesuffix(".pdf"),
        "175.00",
        "36.75",
        "211.75",
    ):
        assert expected in text

    menu(page, "API keys")
    page.get_by_label("Name").fill("CRM")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key")).to_contain_text("dnc_")
    shot("portal-api-keys")
    menu(page, "Members")
    shot("portal-members")
