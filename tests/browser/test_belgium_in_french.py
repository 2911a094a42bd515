"""Belgium in French in a real browser (issue #12): a French-speaking browser (fr-BE) lands on
French pages on be.localhost, blocks a number and confirms it by mail, and a company signs up,
buys its annual licence through the fake Mollie and gets its invoice — all in French."""

import re

import pytest
from django.core import mail
from django_scopes import scopes_disabled
from playwright.sync_api import expect
from pypdf import PdfReader

from register.models import BlockedNumber

pytestmark = [
    pytest.mark.browser,
    # The live server and the Celery worker see only committed rows; restore the seeded
    # registers and catalogue for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EMAIL = "achats@boulangerie-dupont.example"
PASSWORD = "dupont-pain-2026"


@pytest.fixture
def page(browser):
    """A browser whose person speaks French in Belgium."""
    context = browser.new_context(locale="fr-BE", viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def link_in_last_mail(kind: str) -> str:
    return re.search(rf"http://\S+/{kind}/\S+/", mail.outbox[-1].body).group(0)


def test_a_french_browser_lands_on_french_and_blocks_a_number(page, site, shot):
    page.goto(site("be"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inscrivez votre numéro")
    expect(page.get_by_role("button", name="Français")).to_be_visible()  # the switcher
    shot("be-fr-home")

    page.get_by_label("Numéros de téléphone").fill("0470 12 34 56")
    page.get_by_label("Votre adresse e-mail").fill("marie@example.be")
    page.get_by_role("button", name="Envoyer l'e-mail de confirmation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consultez votre messagerie")

    page.goto(link_in_last_mail("confirm"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmez votre inscription")
    page.get_by_role("button", name="Confirmer l'inscription").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre inscription est confirmée")
    # A day written the French way, never month first.
    expect(page.locator("main")).to_contain_text(
        re.compile(
            r"\d{1,2} (janvier|février|mars|avril|mai|juin|juillet|août|septembre"
            r"|octobre|novembre|décembre) \d{4}"
        )
    )
    shot("be-fr-confirmed")
    with scopes_disabled():
        assert BlockedNumber.objects.filter(number=32470123456).exists()


def test_a_company_signs_up_and_buys_its_licence_in_french(
    page, site, shot, fake_mollie, celery_worker_process
):
    be = site("be")
    page.goto(f"{be}/account/signup/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Créez un compte pour votre entreprise"
    )
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmer le mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer un compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consultez votre messagerie")

    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", mail.outbox[-1].body, re.MULTILINE).group(1)
    page.locator('input[name="code"]').fill(code)
    page.get_by_role("button", name="Confirmer mon adresse e-mail").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Enregistrez votre entreprise")
    page.get_by_label("Dénomination sociale").fill("Boulangerie Dupont SRL")
    page.get_by_label("Numéro BCE ou KvK").fill("0123.456.749")
    page.get_by_label("Numéro de TVA").fill("BE 0123.456.749")
    page.get_by_label("annonceur", exact=True).check()
    page.get_by_label("jusqu'à 250 travailleurs").check()
    page.locator('input[name="street"]').fill("Rue de la Loi 16")
    page.locator('input[name="postcode"]').fill("1000")
    page.locator('input[name="city"]').fill("Bruxelles")
    page.get_by_label("Adresse e-mail de facturation").fill("compta@boulangerie-dupont.example")
    expect(page.locator('select[name="country"]')).to_have_value("BE")
    shot("be-fr-company-new")
    page.get_by_role("button", name="Enregistrer l'entreprise").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Boulangerie Dupont SRL")

    page.get_by_role("navigation", name="Menu de l'entreprise").get_by_role(
        "link", name="Boutique"
    ).click()
    product = page.locator("#product-advertiser-small")
    expect(product).to_contain_text("Licence annuelle annonceur, jusqu'à 250 travailleurs")
    # Amounts the French way: a decimal comma.
    expect(product).to_contain_text("€ 760,00")
    expect(product).to_contain_text("€ 919,60")
    shot("be-fr-shop")
    product.get_by_role("button", name="Acheter et payer").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(fake_mollie.public_url)}/checkout/tr_"))
    page.locator('button[value="paid"]').click()
    expect(page.get_by_role("heading", name="Payé, merci")).to_be_visible()
    shot("be-fr-paid")

    menu = page.get_by_role("navigation", name="Menu de l'entreprise")
    menu.get_by_role("link", name="Entreprise", exact=True).click()
    menu.get_by_role("link", name="Factures").click()
    download_link = page.locator("table tbody tr td:nth-child(5) a")
    for _ in range(60):
        if download_link.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    shot("be-fr-invoices")
    with page.expect_download() as download_info:
        download_link.first.click()
    pdf = download_info.value
    text = "".join(p.extract_text() for p in PdfReader(pdf.path()).pages)
    for expected in ("Facture", "Boulangerie Dupont SRL", "BE0123456749", "760.00", "919.60"):
        assert expected in text
    # The Belgian structured payment reference.
    assert re.search(r"\+\+\+\d{3}/\d{4}/\d{5}\+\+\+", text)
