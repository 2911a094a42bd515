"""Reads for campaigns: a company sees its own and those it runs as accepted call centre."""

from django.db.models import Q, QuerySet

from campaigns.models import Campaign, ProviderStatus
from licences.models import Company
from register.errors import NotFound


def campaigns_for_company(*, company: Company) -> QuerySet[Campaign]:
    return Campaign.objects.filter(
        Q(company=company) | Q(service_provider=company, provider_status=ProviderStatus.ACCEPTED),
        register=company.register_id,
    ).select_related("company", "service_provider")


def campaign_get(*, company: Company, campaign_id: int) -> Campaign:
    """One of the company's campaigns; any other is NotFound, never forbidden (SPEC §16)."""
    campaign = campaigns_for_company(company=company).filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound
    return campaign
