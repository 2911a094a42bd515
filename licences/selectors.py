"""Reads for companies, the catalogue, licences and credits; company isolation is explicit."""

import calendar
import datetime

from django.db.models import F, Q, QuerySet

from licences.models import (
    Company,
    CreditAccount,
    Licence,
    LicenceProduct,
    LicenceStatus,
    Membership,
    ProductKind,
    Term,
    UploadLicenceRequest,
    UploadLicenceRequestStatus,
)
from register.models import Register

TERM_MONTHS = {Term.MONTH: 1, Term.YEAR: 12}


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later or earlier, clamped to the month's end: 31 January + 1 month
    is 28 February."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def period_end(product: LicenceProduct, starts_on: datetime.date) -> datetime.date | None:
    """The last day of a licence period; None for products without an end (nl marking, upload)."""
    months = TERM_MONTHS.get(product.term)
    if months is None:
        return None
    return add_months(starts_on, months) - datetime.timedelta(days=1)


def renewal_date(licence: Licence) -> datetime.date:
    """The day a renewing licence's next period starts: the day after its last day."""
    return licence.ends_on + datetime.timedelta(days=1)


def cancellation_deadline(licence: Licence) -> datetime.date | None:
    """The last day a renewing licence can still be cancelled (nl: 2 months before the renewal
    date, seed 000; be: 1 month before expiry, seed 001); None when it cannot be cancelled."""
    months = licence.product.cancellation_notice_months
    if not licence.renews or licence.ends_on is None or months is None:
        return None
    return add_months(renewal_date(licence), -months)


def companies_for_user(*, user, register: Register) -> QuerySet[Company]:
    return Company.objects.filter(register=register, memberships__user=user)


def membership_for(*, user, company: Company) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, company=company).first()


def products_for_company(*, company: Company) -> QuerySet[LicenceProduct]:
    """The catalogue on sale to this company's type and size (the query form of `is_for`)."""
    return LicenceProduct.objects.filter(
        Q(company_type="") | Q(company_type=company.company_type),
        Q(employee_band="") | Q(employee_band=company.employee_band),
        register=company.register_id,
        active=True,
    )


def products_on_offer(*, register: Register) -> QuerySet[LicenceProduct]:
    """The register's catalogue as shown to anyone before they log in: what is on sale."""
    return LicenceProduct.objects.filter(register=register, active=True, for_sale=True).order_by(
        "position", "code"
    )


def licences_for_company(*, company: Company) -> QuerySet[Licence]:
    return Licence.objects.filter(company=company).select_related("product", "campaign")


def credit_balances(*, company: Company) -> dict:
    """`{"balance": total, "campaigns": [{"campaign": id, "name": …, "balance": n}]}`: nl credits
    belong to a campaign (seed 000) and the several licences of a campaign add up."""
    accounts = (
        CreditAccount.objects.filter(company=company)
        .select_related("campaign")
        .order_by("campaign__name", "campaign_id")
    )
    campaigns = [
        {"campaign": account.campaign_id, "name": account.campaign.name, "balance": account.balance}
        for account in accounts
    ]
    return {"balance": sum(row["balance"] for row in campaigns), "campaigns": campaigns}


def credit_balance(*, campaign) -> int:
    return (
        CreditAccount.objects.filter(campaign=campaign).values_list("balance", flat=True).first()
        or 0
    )


def licence_usable(*, company: Company, kind: str, day: datetime.date) -> QuerySet[Licence]:
    """The company's licences of `kind` (a ProductKind) usable on `day`: started, not ended, and
    active or cancelled, since a cancelled licence stays usable until its end date (no early
    termination, seeds 000, 001)."""
    return Licence.objects.filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=day),
        company=company,
        product__kind=kind,
        status__in=[LicenceStatus.ACTIVE, LicenceStatus.CANCELLED],
        starts_on__lte=day,
    )


def access_licence_in_force(*, company: Company, today: datetime.date) -> Licence | None:
    """The company's access licence in force today (be: checks, downloads and scrubs are included
    in it). The most generous rate limit first."""
    return (
        licence_usable(company=company, kind=ProductKind.ACCESS, day=today)
        .select_related("product")
        .order_by(F("product__checks_per_minute").desc(nulls_last=True))
        .first()
    )


def upload_licence_held(*, company: Company, on: datetime.date) -> bool:
    """Whether the company holds a usable upload licence on `on` (seed 000: free, no end date).

    A cancelled licence stays usable until its end date, as every licence does.
    """
    return licence_usable(company=company, kind=ProductKind.UPLOAD, day=on).exists()


def upload_product(*, register: Register) -> LicenceProduct | None:
    """The register's upload licence product, None where it takes no registrations (be)."""
    return LicenceProduct.objects.filter(
        register=register, kind=ProductKind.UPLOAD, active=True
    ).first()


def upload_licence_request_pending(*, company: Company):
    """The company's request for the upload licence that waits for the register, or None."""
    return UploadLicenceRequest.objects.filter(
        company=company, status=UploadLicenceRequestStatus.PENDING
    ).first()


def licences_due_for_renewal(*, register: Register, on: datetime.date) -> QuerySet[Licence]:
    """Renewing licences whose next period starts on or before `on` and does not exist yet."""
    return Licence.objects.filter(
        register=register,
        status=LicenceStatus.ACTIVE,
        renews=True,
        ends_on__lt=on,
        renewed_by__isnull=True,
    ).select_related("product", "company")


def licences_due_for_renewal_notice(*, register: Register, on: datetime.date) -> QuerySet[Licence]:
    """Renewing licences within their product's notice period before expiry (be: two months,
    seed 001) whose notice has not been sent; a missed day is caught up the next day."""
    notice_months = (
        LicenceProduct.objects.filter(register=register, renewal_notice_months__isnull=False)
        .values_list("renewal_notice_months", flat=True)
        .distinct()
    )
    within_notice = Q(pk__in=[])
    for months in notice_months:
        within_notice |= Q(
            product__renewal_notice_months=months, ends_on__lt=add_months(on, months)
        )
    return Licence.objects.filter(
        within_notice,
        register=register,
        status=LicenceStatus.ACTIVE,
        renews=True,
        ends_on__gte=on,
        renewal_notice_sent_at__isnull=True,
    ).select_related("product", "company")
