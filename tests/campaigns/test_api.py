"""API v1 campaigns (SPEC §6, §16)."""

import pytest
from rest_framework.test import APIClient

from campaigns.models import ProviderStatus
from licences.models import CompanyType
from tests.factories import ApiKeyFactory, CampaignFactory, CompanyFactory, get_register

pytestmark = pytest.mark.django_db


def client_for(company, key: str = "dnc_test_key") -> APIClient:
    ApiKeyFactory(company=company, raw=key)
    client = APIClient(HTTP_HOST=f"{company.register.slug}.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.mark.parametrize(
    ("slug", "purpose", "status"),
    [
        ("nl", "charity", 201),
        ("nl", "commercial", 201),
        ("nl", "politics", 400),
        ("be", "commercial", 201),
        ("be", "charity", 400),
    ],
)
def test_a_campaign_s_purpose_is_one_of_the_register_s_categories(slug, purpose, status):
    company = CompanyFactory(register=get_register(slug))
    response = client_for(company).post(
        "/api/v1/campaigns", {"name": "Spring", "purpose": purpose}, format="json"
    )
    assert response.status_code == status
    body = response.json()
    if status == 201:
        assert set(body) == {"id", "name", "purpose", "created_at"}
        assert (body["name"], body["purpose"]) == ("Spring", purpose)
    else:
        assert body["code"] == "invalid_purpose"


def test_creating_a_campaign_without_a_name_is_a_field_error(nl):
    response = client_for(CompanyFactory(register=nl)).post(
        "/api/v1/campaigns", {"purpose": "commercial"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "name" in response.json()


def test_a_company_lists_its_own_campaigns_and_those_it_runs_as_call_centre(nl):
    company = CompanyFactory(register=nl, company_type=CompanyType.SERVICE_PROVIDER)
    own = CampaignFactory(company=company)
    runs = CampaignFactory(
        company__register=nl, service_provider=company, provider_status=ProviderStatus.ACCEPTED
    )
    CampaignFactory(
        company__register=nl, service_provider=company, provider_status=ProviderStatus.INVITED
    )
    CampaignFactory(company__register=nl)

    listed = client_for(company).get("/api/v1/campaigns").json()

    assert sorted(row["id"] for row in listed) == sorted([own.pk, runs.pk])


def test_another_company_s_campaign_is_not_found(nl):
    client = client_for(CompanyFactory(register=nl))
    other = CampaignFactory(company__register=nl)
    response = client.get(f"/api/v1/campaigns/{other.pk}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Niet gevonden.", "code": "not_found"}


def test_a_company_reads_its_own_campaign(nl):
    campaign = CampaignFactory(company__register=nl, name="Spring", purpose="ideal")
    response = client_for(campaign.company).get(f"/api/v1/campaigns/{campaign.pk}")
    assert response.status_code == 200
    assert response.json()["name"] == "Spring"
