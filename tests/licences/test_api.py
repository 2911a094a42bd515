"""API v1 me, licences, credits (SPEC §16)."""

import pytest
from django_scopes import scope
from rest_framework.test import APIClient

from licences.models import EmployeeBand, LicenceSource
from licences.services import api_key_create, api_key_revoke, licences_activate
from tests.factories import ApiKeyFactory, CampaignFactory, CompanyFactory, get_product

pytestmark = pytest.mark.django_db


def client_for(company, key: str = "dnc_test_key") -> APIClient:
    ApiKeyFactory(company=company, raw=key)
    client = APIClient(HTTP_HOST=f"{company.register.slug}.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_me_names_the_company_and_the_register(be):
    company = CompanyFactory(register=be, name="Bellers NV", employee_band=EmployeeBand.OVER_250)
    response = client_for(company).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "company": {
            "id": company.pk,
            "name": "Bellers NV",
            "type": "advertiser",
            "employees": "over_250",
            "phone": None,
        },
        "register": "be",
    }


def test_me_gives_the_companys_contact_telephone_in_e164(be):
    company = CompanyFactory(register=be, phone="+32 470 12 34 56")
    response = client_for(company).get("/api/v1/me")
    assert response.json()["company"]["phone"] == "+32470123456"


def test_a_key_of_nl_is_unknown_on_be(nl):
    client = client_for(CompanyFactory(register=nl))
    response = client.get("/api/v1/me", HTTP_HOST="be.localhost")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_revoked_key_is_refused(nl):
    company = CompanyFactory(register=nl)
    with scope(register=nl):
        api_key, raw = api_key_create(company=company, name="ci")
    client = APIClient(HTTP_HOST="nl.localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/me").status_code == 200
    with scope(register=nl):
        api_key_revoke(api_key=api_key)
    assert client.get("/api/v1/me").status_code == 401


def test_licences_and_credits_show_the_company_s_own_only(nl):
    campaign = CampaignFactory(company__register=nl, name="Spring")
    other = CampaignFactory(company__register=nl)
    with scope(register=nl):
        for number, target in enumerate([campaign, campaign, other]):
            licences_activate(
                company=target.company,
                product=get_product(nl, "marking-1"),
                campaign=target,
                source=LicenceSource.ORDER,
                reference=f"order:{number}",
            )
    client = client_for(campaign.company)

    licences = client.get("/api/v1/licences").json()
    credits = client.get("/api/v1/credits").json()

    assert [(row["product"], row["campaign"], row["credits"]) for row in licences] == [
        ("marking-1", campaign.pk, 10_000),
        ("marking-1", campaign.pk, 10_000),
    ]
    assert {row["status"] for row in licences} == {"active"}
    assert licences[0]["ends_on"] is None
    assert credits == {
        "balance": 20_000,
        "campaigns": [{"campaign": campaign.pk, "balance": 20_000}],
    }
