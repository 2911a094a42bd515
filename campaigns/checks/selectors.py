"""Reads for number checks: how the register charges for them, and the campaign named."""

from campaigns.models import Campaign
from campaigns.selectors import campaign_get
from licences.models import Company, LicenceProduct, ProductKind
from register.errors import NotFound
from register.hotcache import cached
from register.models import Register


def checks_charge_credits(register: Register) -> bool:
    """Whether a check costs credits (nl) rather than being included in an access licence (be).
    A scrub is charged the same way (SPEC §8.6)."""
    return cached(
        ("checks-charge-credits", register.pk),
        lambda: (
            not LicenceProduct.objects.filter(register=register, kind=ProductKind.ACCESS).exists()
        ),
    )


def campaign_for_checks(*, company: Company, campaign_id: int) -> Campaign:
    """`campaign_get` for the check API, from the process's hot cache: a dialer names the same
    campaign with every number."""

    def load() -> Campaign | None:
        try:
            return campaign_get(company=company, campaign_id=campaign_id)
        except NotFound:
            return None

    campaign = cached(("campaign", company.pk, campaign_id), load)
    if campaign is None:
        raise NotFound
    return campaign
