"""Campaigns with a call centre that accepts or declines (SPEC §6, seeds 001, 002)."""

import pytest
from django_scopes import scope

from campaigns.models import ProviderStatus
from campaigns.selectors import campaign_get, campaigns_for_company
from campaigns.services import campaign_create, campaign_provider_respond
from licences.models import CompanyType
from register.errors import DomainError, NotFound
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def parties(nl):
    advertiser = CompanyFactory(register=nl)
    call_centre = CompanyFactory(register=nl, company_type=CompanyType.SERVICE_PROVIDER)
    return advertiser, call_centre


@pytest.mark.parametrize(("accept", "sees_it"), [(True, True), (False, False)])
def test_an_invited_call_centre_sees_the_campaign_once_it_accepts(nl, parties, accept, sees_it):
    advertiser, call_centre = parties
    with scope(register=nl):
        campaign = campaign_create(
            company=advertiser, name="Spring", purpose="commercial", service_provider=call_centre
        )
        assert campaign.provider_status == ProviderStatus.INVITED
        assert not campaigns_for_company(company=call_centre).exists()
        campaign_provider_respond(campaign=campaign, provider=call_centre, accept=accept)
        assert campaigns_for_company(company=call_centre).filter(pk=campaign.pk).exists() is sees_it
        with pytest.raises(DomainError) as again:
            campaign_provider_respond(campaign=campaign, provider=call_centre, accept=True)
    assert again.value.code == "already_answered"


def test_only_the_invited_call_centre_can_answer(nl, parties):
    advertiser, call_centre = parties
    stranger = CompanyFactory(register=nl, company_type=CompanyType.SERVICE_PROVIDER)
    with scope(register=nl):
        campaign = campaign_create(
            company=advertiser, name="Spring", purpose="charity", service_provider=call_centre
        )
        with pytest.raises(NotFound):
            campaign_provider_respond(campaign=campaign, provider=stranger, accept=True)
        with pytest.raises(NotFound):
            campaign_get(company=stranger, campaign_id=campaign.pk)


@pytest.mark.parametrize("provider", ["advertiser", "self", "other register"])
def test_the_call_centre_is_another_service_provider_of_the_register(nl, be, parties, provider):
    advertiser, _ = parties
    service_provider = {
        "advertiser": CompanyFactory(register=nl),
        "self": advertiser,
        "other register": CompanyFactory(register=be, company_type=CompanyType.SERVICE_PROVIDER),
    }[provider]
    with scope(register=nl), pytest.raises(DomainError) as raised:
        campaign_create(
            company=advertiser, name="x", purpose="commercial", service_provider=service_provider
        )
    assert raised.value.code == "invalid_service_provider"
