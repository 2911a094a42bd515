"""Violation reports (issue #14): a consumer called despite the registration files what happened;
staff see per company the reports and whether it checked the number; the regulator gets a
period's export."""

import csv
import datetime
from collections.abc import Iterator

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from complaints.models import CaseChannel, CaseKind, ViolationReport
from complaints.services.filing import case_file
from licences.models import Company
from register.audit import log_action
from register.errors import DomainError
from register.models import Register
from register.phone import format_international
from register.spreadsheets import spreadsheet_safe


def report_file(
    *,
    register: Register,
    number: int,
    called_at: datetime.datetime,
    company_named: str,
    caller_name: str = "",
    caller_number: str = "",
    offered: str = "",
    body: str = "",
    filer_name: str = "",
    filer_email: str,
    language: str = "",
) -> ViolationReport:
    """Files the report as a case of kind `report` (handled as a request, art. 2.1) with its
    details. `number` is normalised and valid for the register. The company is matched when
    exactly one of the register's companies bears the name given."""
    if called_at > timezone.now():
        raise DomainError(_("The call lies in the future."), code="called_in_future")
    company_named = company_named.strip()
    matches = list(Company.objects.filter(register=register, name__iexact=company_named)[:2])
    subject = _("Called by %(company)s on %(date)s") % {
        "company": company_named,
        "date": register.date_of(called_at).isoformat(),
    }
    caller = f"{caller_name.strip()} {caller_number.strip()}".strip()
    called = timezone.localtime(called_at, register.zone).strftime("%Y-%m-%d %H:%M")
    details = [
        (_("Number called"), format_international(number)),
        (_("Called at"), called),
        (_("Company named"), company_named),
        (_("Caller"), caller),
        (_("What was offered"), offered.strip()),
    ]
    lines = [f"{label}: {value}" for label, value in details]
    with transaction.atomic():
        case = case_file(
            register=register,
            kind=CaseKind.REPORT,
            subject=str(subject)[:200],
            body="\n".join([*lines, "", body.strip()]).strip(),
            filer_email=filer_email,
            filer_name=filer_name,
            channel=CaseChannel.PUBLIC,
            language=language,
        )
        return ViolationReport.objects.create(
            register=register,
            case=case,
            number=number,
            called_at=called_at,
            caller_name=caller_name.strip(),
            caller_number=caller_number.strip(),
            company_named=company_named,
            company=matches[0] if len(matches) == 1 else None,
            offered=offered.strip(),
        )


def report_company_set(*, report: ViolationReport, company: Company | None, actor) -> None:
    """Staff say which company of the register the report is about (or none), logged."""
    with transaction.atomic():
        ViolationReport.objects.filter(pk=report.pk).update(company=company)
        log_action(
            register=report.register,
            actor=actor,
            action="violation_report.company_set",
            target=report,
            data={"company": company.pk if company else None},
        )


def report_evidence(report: ViolationReport) -> list:
    """The scrubs and checks of the report's company that covered its number on the day of the
    call (`REPORT_EVIDENCE`, campaigns.evidence); empty while no company is set."""
    if report.company is None:
        return []
    evidence = import_string(settings.REPORT_EVIDENCE)
    return evidence(
        company=report.company,
        number=report.number,
        on=report.register.date_of(report.called_at),
    )


class _Echo:
    def write(self, text: str) -> str:
        return text


EXPORT_HEADER = [
    "case",
    "received_at",
    "called_at",
    "number_called",
    "company_named",
    "company_id",
    "company",
    "chamber_number",
    "reports_against_company_in_period",
    "evidence_found",
    "evidence",
]


def reports_export_rows(
    *, register: Register, start: datetime.date, end: datetime.date
) -> Iterator[str]:
    """The reports of calls from `start` up to and including `end` as CSV lines (`;`, UTF-8
    with a BOM) for the regulator: per report the company and whether it scrubbed or checked
    the number under a use period covering the call. Consumer text neutralised against
    spreadsheet formulas."""
    zone = register.zone
    since = datetime.datetime.combine(start, datetime.time(), zone)
    until = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), zone)
    reports = list(
        ViolationReport.objects.filter(register=register, called_at__gte=since, called_at__lt=until)
        .select_related("case", "company", "register")
        .order_by("called_at", "pk")
    )
    per_company: dict[int, int] = {}
    for report in reports:
        if report.company_id:
            per_company[report.company_id] = per_company.get(report.company_id, 0) + 1
    rows = []
    # Read here, within the caller's scope: the lines are written as the response streams.
    for report in reports:
        evidence = report_evidence(report)
        company = report.company
        rows.append(
            [
                report.case_id,
                report.case.received_at.isoformat(),
                timezone.localtime(report.called_at, zone).isoformat(),
                f"+{report.number}",
                spreadsheet_safe(report.company_named),
                company.pk if company else "",
                spreadsheet_safe(company.name) if company else "",
                spreadsheet_safe(company.chamber_number) if company else "",
                per_company.get(report.company_id, 0) if company else "",
                ("yes" if evidence else "no") if company else "unknown company",
                " | ".join(
                    f"{item.kind} {item.id} {timezone.localtime(item.made_at, zone):%Y-%m-%d} "
                    f"valid until {item.valid_until.isoformat()}"
                    for item in evidence
                ),
            ]
        )
    return _csv_lines(rows)


def _csv_lines(rows: list[list]) -> Iterator[str]:
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff" + writer.writerow(EXPORT_HEADER)
    for row in rows:
        yield writer.writerow(row)
