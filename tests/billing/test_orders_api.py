"""The orders API (SPEC §16): order, pay at checkout_url, find the invoice once paid."""

import pytest
from django_scopes import scopes_disabled

from billing.models import Invoice
from billing.services import invoice_pdf_render, payment_sync
from tests.factories import ApiKeyFactory, CampaignFactory, CompanyFactory, get_register

pytestmark = pytest.mark.django_db

NL = {"HTTP_HOST": "nl.localhost"}


@pytest.fixture
def key(nl_company):
    ApiKeyFactory(company=nl_company, raw="dnc_orders_key")
    return {**NL, "HTTP_AUTHORIZATION": "Bearer dnc_orders_key"}


def test_post_order_answers_201_with_totals_and_a_checkout(client, fake_mollie, key, nl_campaign):
    response = client.post(
        "/api/v1/orders",
        {"lines": [{"product": "marking-1", "quantity": 2, "campaign": nl_campaign.pk}]},
        content_type="application/json",
        **key,
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "open"
    assert (body["total_excl_vat"], body["vat"], body["total_incl_vat"]) == (
        "350.00",
        "73.50",
        "423.50",
    )
    assert body["lines"] == [
        {
            "product": "marking-1",
            "description": "Markeerpakket 1 (10.000 records) — Voorjaarsactie",
            "quantity": 2,
            "campaign": nl_campaign.pk,
            "unit_price_excl_vat": "175.00",
            "total_excl_vat": "350.00",
            "vat": "73.50",
        }
    ]
    assert body["payment_id"].startswith("tr_")
    assert body["checkout_url"] == f"{fake_mollie.public_url}/checkout/{body['payment_id']}"
    assert body["invoice"] is None
    remote = fake_mollie.store.get(body["payment_id"])
    assert remote.redirect_url == f"http://nl.localhost/billing/orders/{body['id']}/"
    assert remote.webhook_url.startswith("http://nl.localhost/billing/webhooks/mollie/")


def test_get_order_gives_the_invoice_and_its_pdf_url_once_paid(
    client, fake_mollie, key, nl_campaign, queued_deliveries
):
    # SPEC §16: the invoice with its pdf_url once paid. It was null until the worker rendered
    # the PDF (issue #11); now the PDF's endpoint renders it when the worker has not yet.
    created = client.post(
        "/api/v1/orders",
        {"lines": [{"product": "download", "campaign": nl_campaign.pk}]},
        content_type="application/json",
        **key,
    ).json()
    fake_mollie.store.set_status(payment_id=created["payment_id"], status="paid")
    with scopes_disabled():
        payment_sync(payment_id=created["payment_id"])

    paid = client.get(f"/api/v1/orders/{created['id']}", **key).json()
    with scopes_disabled():
        assert not Invoice.objects.get(order_id=created["id"]).pdf  # the worker has not run
    pdf = client.get(paid["invoice"]["pdf_url"].removeprefix("http://nl.localhost"), **key)
    again = client.get(f"/api/v1/orders/{created['id']}/invoice.pdf", **key)

    assert paid["status"] == "paid"
    assert paid["checkout_url"] is None
    assert paid["invoice"]["number"].startswith("NL-")
    assert paid["invoice"]["pdf_url"] == (
        f"http://nl.localhost/api/v1/orders/{created['id']}/invoice.pdf"
    )
    assert pdf.status_code == again.status_code == 200
    first = b"".join(pdf.streaming_content)
    assert first.startswith(b"%PDF")
    assert b"".join(again.streaming_content) == first  # rendered once
    with scopes_disabled():
        invoice = Invoice.objects.get(order_id=created["id"])
        assert invoice.pdf
        assert invoice_pdf_render(invoice_id=invoice.pk).pdf.name == invoice.pdf.name


def _invoice_id(order_id: int) -> int:
    return Invoice.objects.get(order_id=order_id).pk


def test_another_companys_order_is_404(client, fake_mollie, key, nl_campaign):
    other = CompanyFactory(register=get_register("nl"))
    ApiKeyFactory(company=other, raw="dnc_other_key")
    created = client.post(
        "/api/v1/orders",
        {"lines": [{"product": "marking-1", "campaign": nl_campaign.pk}]},
        content_type="application/json",
        **key,
    ).json()
    other_key = {**NL, "HTTP_AUTHORIZATION": "Bearer dnc_other_key"}

    detail = client.get(f"/api/v1/orders/{created['id']}", **other_key)
    pdf = client.get(f"/api/v1/orders/{created['id']}/invoice.pdf", **other_key)

    assert (detail.status_code, detail.json()["code"]) == (404, "not_found")
    assert pdf.status_code == 404


def test_another_companys_campaign_is_404(client, fake_mollie, key):
    foreign = CampaignFactory(company=CompanyFactory(register=get_register("nl")))

    response = client.post(
        "/api/v1/orders",
        {"lines": [{"product": "marking-1", "campaign": foreign.pk}]},
        content_type="application/json",
        **key,
    )

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([{"product": "service"}], "product_not_offered"),  # an advertiser is no call centre
        ([{"product": "advertiser-small"}], "product_not_offered"),  # a be product
        ([{"product": "marking-1"}], "campaign_required"),
        ([{"product": "marking-1", "quantity": 0}], "invalid"),
        ([], "invalid"),
    ],
)
def test_invalid_orders_are_400_in_the_one_error_shape(client, fake_mollie, key, lines, code):
    response = client.post(
        "/api/v1/orders", {"lines": lines}, content_type="application/json", **key
    )

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["detail"]


def test_orders_need_an_api_key(client):
    response = client.post("/api/v1/orders", {"lines": []}, content_type="application/json", **NL)

    assert response.status_code == 401
