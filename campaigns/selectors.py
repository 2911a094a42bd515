"""Reads for campaigns: a company sees its own and those it runs as accepted call centre; and
the company's opt-out list."""

from collections.abc import Iterator

from django.db.models import Q, QuerySet
from django.utils import timezone

from campaigns.models import Campaign, CompanyOptOut, ProviderStatus
from licences.models import Company
from register.errors import NotFound
from register.phone import format_international
from register.spreadsheets import spreadsheet_safe

# A spreadsheet runs a text cell that starts with one of these as a formula (SPEC §17); an
# international number ("+31 6 …") is one of them.


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


def opt_out_companies(*, company: Company, campaign: Campaign | None) -> list[int]:
    """The companies whose opt-out lists a scrub or check by `company` applies (SPEC §6, §8.5):
    its own; and for a campaign, its advertiser's and, once accepted, the call centre's that runs
    it, whichever of the two asks: the opt-outs follow the campaign."""
    companies = {company.pk}
    if campaign is not None:
        companies.add(campaign.company_id)
        if campaign.service_provider_id and campaign.provider_status == ProviderStatus.ACCEPTED:
            companies.add(campaign.service_provider_id)
    return sorted(companies)


def opt_outs_for_company(*, company: Company) -> QuerySet[CompanyOptOut]:
    return CompanyOptOut.objects.filter(company=company)


def opt_outs_export_rows(*, company: Company) -> Iterator[list[str]]:
    """The opt-out list as CSV rows, header first, read from the database in chunks."""
    yield ["number", "international", "added_at", "source"]
    rows = (
        opt_outs_for_company(company=company)
        .order_by("number")
        .values_list("number", "created_at", "source")
        .iterator(chunk_size=5_000)
    )
    for number, created_at, source in rows:
        yield [
            str(number),
            spreadsheet_safe(format_international(number)),
            timezone.localtime(created_at).isoformat(timespec="seconds"),
            source,
        ]
