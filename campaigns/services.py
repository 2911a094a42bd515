"""Writes for campaigns and the company opt-out list (SPEC §6)."""

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import DEFAULT_PURPOSE, Campaign, CompanyOptOut, OptOutSource, ProviderStatus
from licences.models import Company, CompanyType
from register.errors import DomainError, NotFound
from register.models import Register
from register.phone import Normaliser, normalise
from uploads.intake.detect import looks_binary


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


# The company opt-out list ("recht van verzet", seeds 002, 004)

# A list of a million numbers is about 15 MB; anything far larger is no opt-out list.
OPT_OUT_FILE_MAX_BYTES = 32 * 1024 * 1024
# A report names this many invalid lines, and counts the rest.
OPT_OUT_REPORT_LINES = 100
_COLUMN_SEPARATORS = str.maketrans({";": ",", "\t": ",", "|": ","})


def _opt_out_number(*, company: Company, number: str) -> int:
    """Any real telephone number: the opt-out list holds what a person told the company, so
    service numbers and other countries' numbers count too, whatever the register holds."""
    parsed = normalise(number, company.register.country)
    if parsed.number is None:
        raise DomainError(
            _("“%(number)s” is not a valid telephone number.") % {"number": number},
            code="invalid_number",
        )
    return parsed.number


def opt_out_add(
    *, company: Company, number: str, source: str = OptOutSource.PORTAL
) -> tuple[CompanyOptOut, bool]:
    """Puts a number on the company's opt-out list; True when it was not on it yet."""
    digits = _opt_out_number(company=company, number=number)
    with transaction.atomic():
        return CompanyOptOut.objects.get_or_create(
            company=company,
            number=digits,
            defaults={"register_id": company.register_id, "source": source},
        )


def opt_out_remove(*, company: Company, number: str) -> None:
    """Takes a number off the company's list; a number not on it is NotFound."""
    digits = _opt_out_number(company=company, number=number)
    with transaction.atomic():
        deleted, _rows = CompanyOptOut.objects.filter(company=company, number=digits).delete()
    if not deleted:
        raise NotFound(_("This number is not on your opt-out list."))


@dataclass
class OptOutUploadReport:
    added: int = 0
    # Already on the list, or earlier in the same file.
    already: int = 0
    invalid_total: int = 0
    # (line number, text) of the first OPT_OUT_REPORT_LINES invalid lines.
    invalid: list[tuple[int, str]] = field(default_factory=list)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows save CSV in Windows-1252; numbers are ASCII either way.
        return data.decode("cp1252", errors="replace")


def opt_outs_upload(*, company: Company, data: bytes) -> OptOutUploadReport:
    """Adds the numbers of a file: one a line, or the first column of a CSV (`;`, `,`, tab or `|`).

    A first line without digits is a header and skipped. One INSERT … ON CONFLICT DO NOTHING
    adds every new number, so a file of a million lines is one statement, not a million.
    """
    if len(data) > OPT_OUT_FILE_MAX_BYTES:
        raise DomainError(
            _("The file is larger than %(mb)d MB.") % {"mb": OPT_OUT_FILE_MAX_BYTES // 2**20},
            code="file_too_large",
            status=413,
        )
    text = _decode(data)
    if "\x00" in text or looks_binary(text):
        raise DomainError(
            _("The file contains binary data. Upload a CSV or TXT file with one number a line."),
            code="binary_file",
        )
    lines = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        text = line.translate(_COLUMN_SEPARATORS).split(",", 1)[0].strip().strip('"').strip()
        if not text or (line_number == 1 and not any(char.isdigit() for char in text)):
            continue
        lines.append((line_number, text))
    if not lines:
        raise DomainError(_("The file holds no numbers."), code="empty_file")

    report = OptOutUploadReport()
    numbers = []
    normalised = Normaliser(company.register.country).many([text for _line, text in lines])
    for (line_number, text), parsed in zip(lines, normalised, strict=True):
        if parsed.number is None:
            report.invalid_total += 1
            if len(report.invalid) < OPT_OUT_REPORT_LINES:
                report.invalid.append((line_number, text))
        else:
            numbers.append(parsed.number)
    if numbers:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO campaigns_companyoptout"
                " (register_id, company_id, number, source, created_at)"
                " SELECT %s, %s, number, %s, now() FROM unnest(%s::bigint[]) AS number"
                " ON CONFLICT (company_id, number) DO NOTHING",
                [company.register_id, company.pk, OptOutSource.UPLOAD, numbers],
            )
            report.added = cursor.rowcount
    report.already = len(numbers) - report.added
    return report
