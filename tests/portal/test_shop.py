"""Shop, checkout and the return page (SPEC §7, §12): the catalogue offered to the company,
prices excl. and incl. VAT, an order paid through the fake Mollie, the outcome shown."""

from decimal import Decimal

import pytest
from django_scopes import scope, scopes_disabled

from billing.models import Order, OrderStatus
from licences.models import CompanyType, EmployeeBand, Licence
from licences.selectors import credit_balance
from tests.factories import CampaignFactory, CompanyFactory, MembershipFactory, get_register
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(company):
    return CampaignFactory(company=company, name="Voorjaarsactie", purpose="commercial")


def buy(client, campaign, code="marking-1", quantity=1):
    data = {"product": code, "quantity": quantity}
    if campaign is not None:
        data["campaign"] = campaign.pk
    return client.post("/billing/shop/", data)


def test_nl_shop_offers_the_catalogue_with_prices_excl_and_incl_vat(owner_client, campaign):
    page = owner_client.get("/billing/shop/").text

    for code, excl, incl in [
        ("marking-1", "175.00", "211.75"),
        ("marking-2", "400.00", "484.00"),
        ("marking-3", "825.00", "998.25"),
        ("download", "550.00", "665.50"),
    ]:
        assert f'id="product-{code}"' in page
        assert f"€ {excl}" in page
        assert f"€ {incl} incl. 21% VAT" in page
    assert 'id="product-upload"' in page
    # The service licence is for call centres (seed 000); this company is an advertiser.
    assert 'id="product-service"' not in page
    assert "Voorjaarsactie" in page


@pytest.mark.parametrize(
    ("company_type", "band", "offered", "not_offered"),
    [
        (CompanyType.ADVERTISER, EmployeeBand.OVER_250, "advertiser-large", "advertiser-small"),
        (CompanyType.SERVICE_PROVIDER, EmployeeBand.UP_TO_250, "provider-small", "provider-large"),
    ],
)
def test_be_shop_offers_the_price_for_the_companys_type_and_size(
    company_type, band, offered, not_offered
):
    company = CompanyFactory(
        register=get_register("be"), company_type=company_type, employee_band=band
    )
    user = MembershipFactory(company=company, role="owner").user
    page = client_for(user, host="be.localhost").get("/billing/shop/").text

    assert f'id="product-{offered}"' in page
    assert f'id="product-{not_offered}"' not in page


def test_a_product_for_a_campaign_asks_for_one(owner_client, campaign):
    response = buy(owner_client, None)

    assert response.status_code == 200
    assert "Choose the campaign this licence is for." in response.text
    with scopes_disabled():
        assert not Order.objects.exists()


def test_another_companys_campaign_cannot_be_chosen(owner_client, company):
    foreign = CampaignFactory(company=CompanyFactory(register=company.register))

    response = buy(owner_client, foreign)

    assert response.status_code == 200
    with scopes_disabled():
        assert not Order.objects.exists()


def test_buying_sends_the_buyer_to_the_mollie_checkout(owner_client, campaign, fake_mollie):
    response = buy(owner_client, campaign, quantity=2)

    assert response.status_code == 302
    assert response["Location"].startswith(fake_mollie.public_url + "/checkout/tr_")
    with scopes_disabled():
        order = Order.objects.get()
        payment = order.payments.get()
    assert (order.total_excl_vat, order.vat_amount, order.total_incl_vat) == (
        Decimal("350.00"),
        Decimal("73.50"),
        Decimal("423.50"),
    )
    remote = fake_mollie.store.get(payment.provider_id)
    assert remote.redirect_url == f"http://nl.localhost/billing/orders/{order.pk}/"


def test_return_page_waits_while_open_then_shows_paid_after_syncing(
    owner_client, campaign, fake_mollie, queued_deliveries, django_capture_on_commit_callbacks
):
    buy(owner_client, campaign)
    with scopes_disabled():
        order = Order.objects.get()
        payment = order.payments.get()

    waiting = owner_client.get(f"/billing/orders/{order.pk}/")
    assert "Waiting for your payment" in waiting.text
    assert f'data-status-url="/billing/orders/{order.pk}/status/"' in waiting.text
    assert owner_client.get(f"/billing/orders/{order.pk}/status/").json() == {
        "status": "open",
        "final": False,
    }

    # Paid at Mollie, and its webhook lost: asking for the status settles the order anyway.
    fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")
    with django_capture_on_commit_callbacks(execute=True):
        status = owner_client.get(f"/billing/orders/{order.pk}/status/").json()

    assert status == {"status": "paid", "final": True}
    assert "Paid, thank you" in owner_client.get(f"/billing/orders/{order.pk}/").text
    with scope(register=campaign.register):
        assert credit_balance(campaign=campaign) == 10_000
        assert Licence.objects.filter(campaign=campaign).count() == 1
    assert len(queued_deliveries) == 1


@pytest.mark.parametrize(
    ("outcome", "text"),
    [
        ("failed", "The payment failed"),
        ("canceled", "The payment was canceled"),
        ("expired", "The payment has expired"),
    ],
)
def test_unpaid_outcomes_are_shown_and_grant_nothing(
    owner_client, campaign, fake_mollie, outcome, text
):
    buy(owner_client, campaign)
    with scopes_disabled():
        order = Order.objects.get()
        provider_id = order.payments.get().provider_id
    fake_mollie.store.set_status(payment_id=provider_id, status=outcome)

    assert owner_client.get(f"/billing/orders/{order.pk}/status/").json() == {
        "status": outcome,
        "final": True,
    }
    page = owner_client.get(f"/billing/orders/{order.pk}/")
    assert text in page.text
    assert "data-status-url" not in page.text
    with scopes_disabled():
        assert Order.objects.get().status == outcome != OrderStatus.PAID
        assert not Licence.objects.exists()
        assert credit_balance(campaign=campaign) == 0


def test_another_companys_order_is_not_found(owner_client, campaign, fake_mollie, company):
    buy(owner_client, campaign)
    with scopes_disabled():
        order = Order.objects.get()
    outsider = MembershipFactory(company=CompanyFactory(register=company.register), role="owner")
    client = client_for(outsider.user)

    for path in ("", "status/"):
        assert client.get(f"/billing/orders/{order.pk}/{path}").status_code == 404
    assert client.post(f"/billing/orders/{order.pk}/pay/").status_code == 404


def test_the_upload_licence_is_not_sold_in_the_shop(owner_client, fake_mollie):
    # SPEC §11: granted by register staff on request, never by a self-served (€0) order.
    page = owner_client.get("/billing/shop/").text
    assert 'id="product-upload"' in page
    assert "Request it" in page

    response = owner_client.post("/billing/shop/", {"product": "upload", "quantity": 1})

    assert response.status_code == 400
    assert "not sold" in response.text
    with scopes_disabled():
        assert not Order.objects.exists()
        assert not Licence.objects.exists()


def test_the_companys_only_campaign_is_preselected(owner_client, campaign, company):
    page = owner_client.get("/billing/shop/").text
    option = f'<option value="{campaign.pk}" selected>'
    assert option in page.split('id="product-marking-1"')[1].split("</form>")[0]
    assert "— choose —" in page

    # With two campaigns the user chooses, unless the link named one.
    second = CampaignFactory(company=company, name="Tweede")
    page = owner_client.get("/billing/shop/").text
    assert " selected>" not in page.split('id="product-marking-1"')[1].split("</form>")[0]
    page = owner_client.get("/billing/shop/", {"campaign": second.pk}).text
    assert f'<option value="{second.pk}" selected>' in page
