"""Number checks (SPEC §10): numbers against the register and the opt-out lists that apply: the
company's own, and for a campaign its advertiser's and call centre's (SPEC §8.5).

A check answers per number what marking a call file answers per row (SPEC §8.4, §8.5), by the
same rules: `campaigns.verdicts`.

How a company pays is the register's catalogue, not its name: where the register sells an access
licence (be), checks are included in it and limited per minute by its product; elsewhere (nl) a
check costs the campaign one credit per number offered, invalid and repeated ones included, as a
scrub charges per record offered (SPEC §8.6) — but not an input that is no telephone number at
all (issue #13: "hallo"), which is answered INVALID for free.
"""

import datetime
import re
from dataclasses import dataclass, field
from functools import cache

from django.db import connection, connections, transaction
from django.utils.translation import gettext_lazy as _

from campaigns.checks.ratelimit import (
    DEFAULT_CHECKS_PER_MINUTE,
    checks_take,
    checks_window_left,
)
from campaigns.checks.selectors import checks_charge_credits
from campaigns.models import Campaign, NumberCheck, NumberCheckNumber
from campaigns.selectors import opt_out_companies
from campaigns.services import campaign_purposes
from campaigns.verdicts import Facts, verdict
from licences.models import Company, CreditEntry
from licences.selectors import access_licence_in_force
from licences.services import credits_spend
from register.errors import DomainError, LicenceRequired
from register.models import ALL_CATEGORIES, Register
from register.numberhash import number_hash
from register.phone import Normaliser
from register.replica import read_with_fallback

MAX_NUMBERS_PER_CHECK = 1_000
# Any decimal digit, as libphonenumber reads them (full-width and Arabic-Indic too): an input
# without one is no attempt at a number.
_DIGIT = re.compile(r"\d")


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429

    def __init__(self, message, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class CheckResult:
    input: str
    # E.164 digits; None when the input is no number.
    number: int | None
    status: str
    reason: str
    registered_on: datetime.date | None = None
    # The categories the registration blocks; empty when not registered or in a register
    # without categories (one full block).
    categories: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NumbersChecked:
    results: list[CheckResult]
    purpose: str
    credits_charged: int


@cache
def _normaliser(region: str) -> Normaliser:
    return Normaliser(region)


def _purpose(register: Register, purpose: str | None, campaign: Campaign | None) -> str:
    purpose = purpose or (
        campaign.purpose if campaign is not None else campaign_purposes(register)[0]
    )
    purposes = campaign_purposes(register)
    if purpose not in purposes:
        raise DomainError(
            _("The purpose must be one of: %(purposes)s.") % {"purposes": ", ".join(purposes)},
            code="invalid_purpose",
        )
    return purpose


def _lookup(*, register: Register, opt_out_companies: list[int], numbers: list[int]):
    """The registrations among `numbers`, and those on the opt-out lists of `opt_out_companies`:
    two queries, whatever the batch size, each an index scan of the numbers asked for.

    The register is read from the replica when there is a usable one (register.replica); the
    opt-out lists from the primary, since a company checks numbers it has just put on its own
    list, and a replica a few seconds behind would answer them callable."""
    if not numbers:
        return {}, set()

    def registrations(database: str) -> dict:
        with connections[database].cursor() as cursor:
            cursor.execute(
                "SELECT number, categories, registered_on FROM register_blockednumber"
                " WHERE register_id = %s AND number = ANY(%s::bigint[])",
                [register.pk, numbers],
            )
            return {number: (mask, day) for number, mask, day in cursor.fetchall()}

    registered = read_with_fallback(registrations)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT number FROM campaigns_companyoptout"
            " WHERE company_id = ANY(%s::bigint[]) AND number = ANY(%s::bigint[])",
            [opt_out_companies, numbers],
        )
        opted_out = {number for (number,) in cursor.fetchall()}
    return registered, opted_out


def _take_rate(*, company: Company, units: int) -> None:
    licence = access_licence_in_force(company=company, today=company.register.today())
    if licence is None:
        raise LicenceRequired(_("Number checks need an active licence of this register."))
    limit = licence.product.checks_per_minute or DEFAULT_CHECKS_PER_MINUTE
    if units > limit:
        # The batch can never fit in one window: split, it may start when the window in use ends
        # and the full limit is free (at once, or 1 second, when none is open).
        retry_after = max(1, checks_window_left(company_id=company.pk))
        raise RateLimited(
            _(
                "Your licence allows %(limit)d numbers a minute; this batch has %(count)d. "
                "Send at most %(limit)d numbers at once; try again in %(seconds)d seconds."
            )
            % {"limit": limit, "count": units, "seconds": retry_after},
            retry_after=retry_after,
        )
    allowance = checks_take(company_id=company.pk, units=units, limit=limit)
    if not allowance.granted:
        raise RateLimited(
            _(
                "Your licence allows %(limit)d numbers a minute and they are used up; "
                "try again in %(seconds)d seconds."
            )
            % {"limit": limit, "seconds": allowance.retry_after},
            retry_after=allowance.retry_after,
        )


# One statement, so concurrent checks of a company add to its row of the day without a lost
# update, holding its lock no longer than the statement when no transaction is open around it.
_TALLY = """
    INSERT INTO campaigns_checktally (register_id, company_id, day, checks, numbers)
    VALUES (%(register)s, %(company)s, %(day)s, 1, %(numbers)s)
    ON CONFLICT (company_id, day) DO UPDATE
    SET checks = campaigns_checktally.checks + 1,
        numbers = campaigns_checktally.numbers + EXCLUDED.numbers
"""


def _tally(*, company: Company, numbers: int) -> None:
    """Counts the check for the staff dashboard (CheckTally)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _TALLY,
            {
                "register": company.register_id,
                "company": company.pk,
                "day": company.register.today(),
                "numbers": numbers,
            },
        )


def numbers_check(
    *,
    company: Company,
    numbers: list[str],
    purpose: str | None = None,
    campaign: Campaign | None = None,
    reference: str,
) -> NumbersChecked:
    """Checks `numbers` (as typed) for `purpose`: the campaign's, else the register's first.

    `campaign` must be one the company may use (`campaign_get`); `reference` names this check in
    the credit ledger (nl), so the same check retried pays once.
    """
    if not numbers:
        raise DomainError(_("Give at least one number."), code="no_numbers")
    if len(numbers) > MAX_NUMBERS_PER_CHECK:
        raise DomainError(
            _("At most %(max)d numbers per check; this has %(count)d.")
            % {"max": MAX_NUMBERS_PER_CHECK, "count": len(numbers)},
            code="too_many_numbers",
        )
    register = company.register
    purpose = _purpose(register, purpose, campaign)
    charges_credits = checks_charge_credits(register)
    if charges_credits and campaign is None:
        raise DomainError(
            _("Checks are paid with a campaign's credits: name the campaign."),
            code="campaign_required",
        )
    if not charges_credits:
        _take_rate(company=company, units=len(numbers))

    normalised = _normaliser(register.country).many(numbers)
    registered, opted_out = _lookup(
        register=register,
        opt_out_companies=opt_out_companies(company=company, campaign=campaign),
        numbers=list({found.number for found in normalised if found.number is not None}),
    )
    purpose_bits = register.category_mask([purpose]) if register.has_categories else ALL_CATEGORIES
    results = []
    for raw, (number, problem) in zip(numbers, normalised, strict=True):
        mask, registered_on = (
            registered.get(number, (None, None)) if problem is None else (None, None)
        )
        status, reason = verdict(
            Facts(
                opted_out=number in opted_out,
                problem=problem,
                covered=mask is not None and bool(mask & purpose_bits),
                registered_on=registered_on,
            )
        )
        categories = register.category_codes(mask) if mask is not None else []
        results.append(CheckResult(raw, number, status, reason, registered_on, categories))

    # Charged last, once the answer exists: a balance too small charges nothing (SPEC §8.6).
    charged = sum(1 for raw in numbers if is_number_attempt(raw)) if charges_credits else 0
    with transaction.atomic():
        if charged:
            credits_spend(
                campaign=campaign,
                amount=charged,
                reference=reference,
                reason=CreditEntry.Reason.CHECK,
            )
        _record(
            company=company,
            campaign=campaign,
            offered=len(numbers),
            numbers={number for number, problem in normalised if problem is None},
        )
    _tally(company=company, numbers=len(numbers))
    return NumbersChecked(results=results, purpose=purpose, credits_charged=charged)


def _record(*, company: Company, campaign: Campaign | None, offered: int, numbers: set[int]):
    """The check on record with its numbers' keyed hashes, never the numbers (issue #14): what a
    violation report against the company looks up, after the answer's use period too."""
    register = company.register
    check = NumberCheck.objects.create(
        register=register,
        company=company,
        campaign=campaign,
        numbers=offered,
        valid_until=register.today() + datetime.timedelta(days=register.use_period_days),
    )
    key = register.number_key
    NumberCheckNumber.objects.bulk_create(
        NumberCheckNumber(number_check=check, digest=number_hash(key, number)) for number in numbers
    )


def is_number_attempt(raw: str) -> bool:
    """Whether a check's input is meant as a telephone number, right or wrong: it has a digit.
    Text without one ("hallo", "n.v.t.", "-") is no number at all and costs nothing (issue #13);
    "12345" is a wrong number, and costs a credit like any number looked at."""
    return _DIGIT.search(raw) is not None
