"""Writes for campaigns (SPEC §6)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import DEFAULT_PURPOSE, Campaign, ProviderStatus
from licences.models import Company, CompanyType
from register.errors import DomainError, NotFound
from register.models import Register


def campaign_purposes(register: Register) -> list[str]:
    """A campaign's purpose is one of the register's blocking categories, or `commercial` in a
    register with one full block (be)."""
    return list(register.categories) if register.has_categories else [DEFAULT_PURPOSE]


def campaign_create(
    *,
    company: Company,
    name: str,
    purpose: str,
    service_provider: Company | None = None,
    created_by=None,
) -> Campaign:
    """A campaign; a named service provider (call centre) is invited and must accept."""
    register = company.register
    purposes = campaign_purposes(register)
    if purpose not in purposes:
        raise DomainError(
            _("The purpose must be one of: %(purposes)s.") % {"purposes": ", ".join(purposes)},
            code="invalid_purpose",
        )
    if not name.strip():
        raise DomainError(_("A campaign needs a name."), code="invalid_name")
    if service_provider is not None and (
        service_provider.register_id != company.register_id
        or service_provider.pk == company.pk
        or service_provider.company_type != CompanyType.SERVICE_PROVIDER
    ):
        raise DomainError(
            _("The call centre must be another service provider of this register."),
            code="invalid_service_provider",
        )
    with transaction.atomic():
        return Campaign.objects.create(
            register=register,
            company=company,
            name=name.strip(),
            purpose=purpose,
            service_provider=service_provider,
            provider_status=ProviderStatus.INVITED if service_provider else ProviderStatus.NONE,
            created_by=created_by,
        )


def campaign_provider_respond(*, campaign: Campaign, provider: Company, accept: bool) -> Campaign:
    """The invited call centre accepts or declines running the campaign, once."""
    with transaction.atomic():
        # Lock: an accept and a decline clicked at the same time must not both apply.
        campaign = Campaign.objects.select_for_update(of=("self",)).get(pk=campaign.pk)
        if campaign.service_provider_id != provider.pk:
            raise NotFound
        if campaign.provider_status != ProviderStatus.INVITED:
            raise DomainError(
                _("This invitation has already been answered."), code="already_answered"
            )
        campaign.provider_status = ProviderStatus.ACCEPTED if accept else ProviderStatus.DECLINED
        campaign.provider_responded_at = timezone.now()
        campaign.save(update_fields=["provider_status", "provider_responded_at"])
    return campaign
