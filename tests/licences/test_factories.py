import pytest
from django_scopes import scope

from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CreditAccountFactory,
    LicenceFactory,
    MembershipFactory,
    get_product,
)

pytestmark = pytest.mark.django_db


def test_factories_build_a_consistent_company_world(be):
    membership = MembershipFactory(company__register=be)
    company = membership.company
    campaign = CampaignFactory(company=company)
    key = ApiKeyFactory(company=company, raw="dnc_secret")
    licence = LicenceFactory(company=company, product=get_product(be, "advertiser-small"))
    account = CreditAccountFactory(campaign=campaign, balance=5)
    with scope(register=be):
        assert {campaign.register, key.register, licence.register, account.register} == {be}
        assert account.company == company
        assert licence.renews is True
    assert key.prefix == "dnc_secr"
