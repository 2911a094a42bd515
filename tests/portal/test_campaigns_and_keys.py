"""Campaign pages with call-centre invitations (SPEC §6); API keys shown once (SPEC §3)."""

import pytest
from django_scopes import scopes_disabled

from campaigns.models import Campaign, ProviderStatus
from licences.authentication import hash_key
from licences.models import ApiKey, CompanyType, Role
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    MembershipFactory,
)
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def call_centre(company):
    return CompanyFactory(
        register=company.register,
        name="Belcentrale Noord B.V.",
        chamber_number="87654321",
        company_type=CompanyType.SERVICE_PROVIDER,
    )


@pytest.fixture
def call_centre_client(call_centre):
    return client_for(MembershipFactory(company=call_centre, role=Role.OWNER).user)


def test_create_a_campaign_with_a_purpose_of_the_register(member_client, company):
    form = member_client.get("/campaigns/new/").text
    assert "Commercial" in form

    response = member_client.post("/campaigns/new/", {"name": "Voorjaarsactie", "purpose": "ideal"})

    with scopes_disabled():
        campaign = Campaign.objects.get()
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert (campaign.company, campaign.purpose, campaign.provider_status) == (company, "ideal", "")
    assert "Voorjaarsactie" in member_client.get("/campaigns/").text


def test_a_purpose_outside_the_register_is_refused(member_client):
    response = member_client.post("/campaigns/new/", {"name": "X", "purpose": "politics"})

    assert response.status_code == 200
    assert "Select a valid choice." in response.text


def test_call_centre_is_invited_by_chamber_number_and_accepts(
    owner_client, call_centre, call_centre_client
):
    owner_client.post(
        "/campaigns/new/",
        {"name": "Najaarsactie", "purpose": "commercial", "call_centre": "8765 4321"},
    )
    with scopes_disabled():
        campaign = Campaign.objects.get()
    assert (campaign.service_provider, campaign.provider_status) == (call_centre, "invited")
    # Invited is not yet accepted: the call centre sees the invitation, not the campaign.
    assert call_centre_client.get(f"/campaigns/{campaign.pk}/").status_code == 404
    invitations = call_centre_client.get("/campaigns/").text
    assert "asks you to run “Najaarsactie”" in invitations

    response = call_centre_client.post(f"/campaigns/{campaign.pk}/respond/", {"answer": "accept"})

    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    campaign.refresh_from_db()
    assert campaign.provider_status == ProviderStatus.ACCEPTED
    detail = call_centre_client.get(f"/campaigns/{campaign.pk}/").text
    assert "Bakkerij De Korenschoof B.V." in detail
    assert (
        call_centre_client.post(
            f"/campaigns/{campaign.pk}/respond/", {"answer": "decline"}
        ).status_code
        == 404
    )


def test_only_the_invited_call_centre_may_answer(owner_client, call_centre, company):
    campaign = CampaignFactory(
        company=company, service_provider=call_centre, provider_status=ProviderStatus.INVITED
    )
    stranger = client_for(
        MembershipFactory(
            company=CompanyFactory(
                register=company.register, company_type=CompanyType.SERVICE_PROVIDER
            ),
            role=Role.OWNER,
        ).user
    )

    assert stranger.post(
        f"/campaigns/{campaign.pk}/respond/", {"answer": "accept"}
    ).status_code == (404)
    assert (
        owner_client.post(f"/campaigns/{campaign.pk}/respond/", {"answer": "accept"}).status_code
        == 404
    )


def test_an_unknown_or_advertiser_call_centre_is_refused(owner_client, company):
    CompanyFactory(register=company.register, name="Adverteerder B.V.", chamber_number="11112222")

    for query in ("99999999", "Adverteerder B.V."):
        response = owner_client.post(
            "/campaigns/new/", {"name": "X", "purpose": "commercial", "call_centre": query}
        )
        assert "No call centre with this number or name" in response.text
    with scopes_disabled():
        assert not Campaign.objects.exists()


def test_campaign_page_shows_its_credits_and_another_companys_is_404(member_client, company):
    campaign = CampaignFactory(company=company, name="Voorjaarsactie")
    CreditAccountFactory(campaign=campaign, balance=12_345)
    foreign = CampaignFactory(company=CompanyFactory(register=company.register))

    page = member_client.get(f"/campaigns/{campaign.pk}/").text

    assert '<span class="card__value" id="credit-balance">12,345</span>' in page
    assert member_client.get(f"/campaigns/{foreign.pk}/").status_code == 404


def test_a_new_api_key_is_shown_once_and_stored_as_a_hash(member_client, member, company):
    created = member_client.post("/account/api-keys/", {"name": "CRM productie"})

    # The POST answers with a redirect: reloading the page it leads to makes no second key.
    assert (created.status_code, created["Location"]) == (302, "/account/api-keys/")
    response = member_client.get(created["Location"])
    with scopes_disabled():
        api_key = ApiKey.objects.get()
    raw = response.text.split('<code class="secret" id="new-key">')[1].split("</code>")[0]
    assert 'id="copy-key"' in response.text
    assert api_key.key_hash == hash_key(raw)
    assert (api_key.company, api_key.name, api_key.created_by) == (company, "CRM productie", member)
    assert response["Cache-Control"].startswith("max-age=0")
    listing = member_client.get("/account/api-keys/").text
    assert raw not in listing
    assert f"{api_key.prefix}…" in listing
    assert "never" in listing


def test_revoking_a_key_and_another_companys_key_is_404(member_client, company):
    own = ApiKeyFactory(company=company, name="oud")
    foreign = ApiKeyFactory(company=CompanyFactory(register=company.register))

    assert member_client.post(f"/account/api-keys/{foreign.pk}/revoke/").status_code == 404
    assert member_client.post(f"/account/api-keys/{own.pk}/revoke/").status_code == 302

    own.refresh_from_db()
    foreign.refresh_from_db()
    assert own.revoked_at is not None
    assert foreign.revoked_at is None
    assert "The key “oud” is revoked." in member_client.get("/account/api-keys/").text
    assert "<td>oud</td>" not in member_client.get("/account/api-keys/").text
