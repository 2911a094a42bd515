"""Reads for the company's history (issue 13): every scrub, check batch and download across its
campaigns, and the credits used per month."""

import dataclasses
import datetime

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from campaigns.models import CallFile, CallFileStatus, Campaign, Download
from licences.models import Company, CreditEntry

MIDNIGHT = datetime.time(0, 0)


@dataclasses.dataclass(frozen=True)
class HistoryRow:
    kind: str  # "scrub", "check" or "download"
    at: datetime.datetime
    campaign: Campaign | None
    user: str  # the e-mail address of who did it; empty where not recorded (API checks)
    subject: str  # the file's name, the download's kind, the numbers checked
    records: int | None
    credits: int
    status: str
    valid_until: datetime.date | None
    url_name: str  # the page of the scrub or the list of downloads; empty for checks
    url_args: tuple = ()


def _period(queryset, since: datetime.date | None, until: datetime.date | None, zone):
    """Days in the register's zone, both included."""
    if since:
        queryset = queryset.filter(created_at__gte=datetime.datetime.combine(since, MIDNIGHT, zone))
    if until:
        next_day = until + datetime.timedelta(days=1)
        queryset = queryset.filter(
            created_at__lt=datetime.datetime.combine(next_day, MIDNIGHT, zone)
        )
    return queryset


def company_history(
    *,
    company: Company,
    campaign: Campaign | None = None,
    user=None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> list[HistoryRow]:
    """Newest first; `since` and `until` are the register's days, both included."""
    zone = company.register.zone
    scrubs = CallFile.objects.filter(company=company).exclude(status=CallFileStatus.DRAFT)
    downloads = Download.objects.filter(company=company)
    checks = CreditEntry.objects.filter(
        account__company=company, reason=CreditEntry.Reason.CHECK, delta__lt=0
    )
    if campaign is not None:
        scrubs = scrubs.filter(campaign=campaign)
        downloads = downloads.filter(campaign=campaign)
        checks = checks.filter(account__campaign=campaign)
    if user is not None:
        scrubs = scrubs.filter(uploaded_by=user)
        downloads = downloads.filter(created_by=user)
        # A check's charge records no user: filtering by one leaves the checks out.
        checks = checks.none()
    scrubs = _period(scrubs, since, until, zone)
    downloads = _period(downloads, since, until, zone)
    checks = _period(checks, since, until, zone)

    rows = [
        HistoryRow(
            kind="scrub",
            at=call_file.created_at,
            campaign=call_file.campaign,
            user=call_file.uploaded_by.email if call_file.uploaded_by else "",
            subject=call_file.filename,
            records=call_file.rows_total,
            credits=call_file.credits_charged,
            status=call_file.get_status_display(),
            valid_until=call_file.valid_until,
            url_name="call_files:detail",
            url_args=(call_file.pk,),
        )
        for call_file in scrubs.select_related("campaign", "uploaded_by")
    ]
    rows += [
        HistoryRow(
            kind="download",
            at=download.created_at,
            campaign=download.campaign,
            user=download.created_by.email if download.created_by else "",
            subject=download.get_kind_display(),
            records=download.rows,
            credits=0,
            status=download.get_status_display(),
            valid_until=download.usable_until,
            url_name="downloads:list",
        )
        for download in downloads.select_related("campaign", "created_by")
    ]
    rows += [
        HistoryRow(
            kind="check",
            at=entry.created_at,
            campaign=entry.account.campaign,
            user="",
            subject="",
            records=-entry.delta,
            credits=-entry.delta,
            status="",
            valid_until=None,
            url_name="",
        )
        for entry in checks.select_related("account__campaign")
    ]
    return sorted(rows, key=lambda row: row.at, reverse=True)


def credits_used_per_month(
    *, company: Company, months: int = 12, today: datetime.date | None = None
) -> list[dict]:
    """The last `months` months, oldest first, each `{month, scrub, check, total}`: credits spent
    on scrubs and on checks, months without any included (a chart needs every month)."""
    today = today or company.register.today()
    first = today.replace(day=1)
    for _ in range(months - 1):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    spent = (
        CreditEntry.objects.filter(
            account__company=company,
            delta__lt=0,
            reason__in=[CreditEntry.Reason.SCRUB, CreditEntry.Reason.CHECK],
            created_at__gte=datetime.datetime.combine(first, MIDNIGHT, company.register.zone),
        )
        .annotate(month=TruncMonth("created_at", tzinfo=company.register.zone))
        .values("month", "reason")
        .annotate(used=Sum("delta"))
    )
    used = {(row["month"].date(), row["reason"]): -row["used"] for row in spent}
    result = []
    month = first
    while month <= today:
        scrub = used.get((month, CreditEntry.Reason.SCRUB), 0)
        check = used.get((month, CreditEntry.Reason.CHECK), 0)
        result.append({"month": month, "scrub": scrub, "check": check, "total": scrub + check})
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return result
