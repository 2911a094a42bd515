"""What companies did with the register in a period, for the staff dashboard: scrubs, checks
and downloads per company."""

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Sum
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campaigns.models import CallFile, CallFileStatus, CheckTally, Download, DownloadStatus
from licences.models import Company
from register.figures import Figures
from register.models import Register

# The companies the chart draws; the table and the CSV have them all.
CHART_COMPANIES = 15


def usage_per_company(*, register: Register, start: date, end: date) -> Figures:
    """Per company, most active first: call files marked, their records, checks, the numbers
    checked and downloads made, from `start` to `end` (the register's days, both included).
    A scrub or download counts on the day it finished; a failed one does not count."""
    since = datetime.combine(start, time(), tzinfo=register.zone)
    until = datetime.combine(end + timedelta(days=1), time(), tzinfo=register.zone)
    usage: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    scrubs = (
        CallFile.objects.filter(
            register=register,
            status=CallFileStatus.DONE,
            finished_at__gte=since,
            finished_at__lt=until,
        )
        .values("company")
        .annotate(files=Count("pk"), records=Sum("rows_total"))
    )
    for row in scrubs:
        usage[row["company"]][0] = row["files"]
        usage[row["company"]][1] = row["records"] or 0
    checks = (
        CheckTally.objects.filter(register=register, day__gte=start, day__lte=end)
        .values("company")
        .annotate(checks=Sum("checks"), numbers=Sum("numbers"))
    )
    for row in checks:
        usage[row["company"]][2] = row["checks"]
        usage[row["company"]][3] = row["numbers"]
    downloads = (
        Download.objects.filter(
            register=register,
            status=DownloadStatus.DONE,
            finished_at__gte=since,
            finished_at__lt=until,
        )
        .values("company")
        .annotate(downloads=Count("pk"))
    )
    for row in downloads:
        usage[row["company"]][4] = row["downloads"]
    names = dict(Company.objects.filter(register=register, pk__in=usage).values_list("pk", "name"))
    order = sorted(usage, key=lambda pk: (-sum(usage[pk][i] for i in (0, 2, 4)), names[pk], pk))
    return Figures(
        title=_("Scrubs, checks and downloads per company"),
        heading=_("Company"),
        rows=[names[pk] for pk in order],
        columns=[
            str(_("scrubs")),
            str(_("checks")),
            str(_("downloads")),
            str(_("records scrubbed")),
            str(_("numbers checked")),
        ],
        cells=[[usage[pk][i] for i in (0, 2, 4, 1, 3)] for pk in order],
        links=[reverse("admin:licences_company_change", args=[pk]) for pk in order],
        drawn=3,
        drawn_rows=CHART_COMPANIES,
    )
