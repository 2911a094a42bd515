"""Whether a company checked a number before calling it (issue #14): the evidence a violation
report asks for. A scrub or a number check is evidence for a call on a day within its use
period (from the day it was made up to `valid_until`) when it offered that number, told by the
number's keyed hash (register.numberhash), as the numbers themselves are not kept.

A campaign's scrubs count for the advertiser and for its call centre alike: both are
responsible for the call (seeds 001, 002). complaints reads this through the setting
`REPORT_EVIDENCE` (config wires the apps; complaints does not import campaigns).
"""

import datetime
from dataclasses import dataclass

from django.db.models import Q

from campaigns.models import (
    CallFile,
    CallFileNumber,
    CallFileStatus,
    NumberCheck,
    NumberCheckNumber,
)
from licences.models import Company
from register.numberhash import number_hash


@dataclass(frozen=True)
class Evidence:
    kind: str  # "scrub" or "check"
    id: int
    made_at: datetime.datetime
    valid_until: datetime.date
    description: str


def number_evidence(*, company: Company, number: int, on: datetime.date) -> list[Evidence]:
    """The scrubs and checks of `company` that offered `number` and whose use period covers
    `on`, oldest first: index lookups by the number's hash, whatever the volume kept."""
    register = company.register
    digest = number_hash(register.number_key, number)
    # Made before the end of that day in the register's time zone.
    day_ends = datetime.datetime.combine(
        on + datetime.timedelta(days=1), datetime.time(), register.zone
    )
    scrubs = (
        CallFile.objects.filter(
            Q(company=company)
            | Q(campaign__company=company)
            | Q(campaign__service_provider=company),
            register=register,
            status=CallFileStatus.DONE,
            finished_at__lt=day_ends,
            valid_until__gte=on,
            pk__in=CallFileNumber.objects.filter(digest=digest).values("call_file_id"),
        )
        .select_related("campaign")
        .order_by("finished_at")
    )
    checks = NumberCheck.objects.filter(
        company=company,
        checked_at__lt=day_ends,
        valid_until__gte=on,
        pk__in=NumberCheckNumber.objects.filter(digest=digest).values("number_check_id"),
    ).order_by("checked_at")
    found = [
        Evidence(
            "scrub",
            scrub.pk,
            scrub.finished_at,
            scrub.valid_until,
            f"{scrub.filename} ({scrub.campaign.name}, SHA-256 {scrub.sha256[:12]}…)",
        )
        for scrub in scrubs
    ]
    found += [
        Evidence("check", check.pk, check.checked_at, check.valid_until, f"{check.numbers}")
        for check in checks
    ]
    return sorted(found, key=lambda evidence: evidence.made_at)
