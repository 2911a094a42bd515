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

from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.checks.ratelimit import (
    DEFAULT_CHECKS_PER_MINUTE,
    checks_take,
    checks_window_left,
)
from campaigns.checks.selectors import checks_charge_credits
from campaigns.models import Campaign
from campaigns.selectors import opt_out_companies
from campaigns.services import campaign_purposes
from campaigns.verdicts import Facts, verdict
from licences.models import Company, CreditEntry
from licences.selectors import access_licence_in_force
from register.errors import DomainError, InsufficientCredits, LicenceRequired
from register.hotcache import cached
from register.models import ALL_CATEGORIES, Register
from register.numberhash import number_hash_params, sql_number_hash
from register.phone import Normaliser
from register.prepared import prepared_cursor
from register.replica import PRIMARY, read_database, read_with_fallback

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


@cache
def _verdict(opted_out: bool, problem, covered: bool, registered: bool) -> tuple[str, str]:
    """`verdict` for a check, once per combination: a check has no opt-in date, so its verdict
    depends on whether the number is registered, never on the day."""
    return verdict(
        Facts(
            opted_out=opted_out,
            problem=problem,
            covered=covered,
            registered_on=datetime.date.min if registered else None,
        )
    )


def _bigints(values) -> str:
    """`values` as a PostgreSQL array literal, for a `%s::bigint[]` parameter: the driver's
    adaptation of a list costs more than the lookup of a batch of 1,000."""
    return "{" + ",".join(map(str, values)) + "}"


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


# Each an index scan of the numbers asked for, whatever the batch size; a registration's
# categories are never NULL, an opt-out's row has none.
_REGISTERED = (
    "SELECT number, categories, registered_on FROM register_blockednumber"
    " WHERE register_id = %s AND number = ANY(%s::bigint[])"
)
_OPTED_OUT = (
    "SELECT DISTINCT number, NULL::smallint, NULL::date FROM campaigns_companyoptout"
    " WHERE company_id = ANY(%s::bigint[]) AND number = ANY(%s::bigint[])"
)


def _lookup(*, register: Register, opt_out_companies: list[int], numbers: list[int]):
    """The registrations among `numbers`, and those on the opt-out lists of `opt_out_companies`:
    one statement on the primary, prepared once per connection.

    The register is read from the replica when there is a usable one (register.replica), and
    the opt-out lists then in a second statement on the primary, since a company checks numbers
    it has just put on its own list, and a replica a few seconds behind would answer them
    callable."""
    if not numbers:
        return {}, set()
    listed = _bigints(numbers)
    if read_database() == PRIMARY:
        with prepared_cursor() as cursor:
            cursor.execute(
                f"{_REGISTERED} UNION ALL {_OPTED_OUT}",
                [register.pk, listed, opt_out_companies, listed],
            )
            rows = cursor.fetchall()
    else:

        def registrations(database: str) -> list[tuple]:
            with connections[database].cursor() as cursor:
                cursor.execute(_REGISTERED, [register.pk, listed])
                return cursor.fetchall()

        rows = read_with_fallback(registrations)
        with prepared_cursor() as cursor:
            cursor.execute(_OPTED_OUT, [opt_out_companies, listed])
            rows += cursor.fetchall()
    registered, opted_out = {}, set()
    for number, mask, day in rows:
        if mask is None:
            opted_out.add(number)
        else:
            registered[number] = (mask, day)
    return registered, opted_out


def _take_rate(*, company: Company, units: int) -> None:
    today = company.register.today()
    licence = cached(
        ("access-licence", company.pk, today),
        lambda: access_licence_in_force(company=company, today=today),
    )
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


# The check's every write in one statement, so one round trip: the credits taken (nl), the check
# on record with its numbers' hashes (issue #14) and counted for the dashboard (CheckTally).
# Nothing but the statement is atomic around it: concurrent checks of a campaign each take their
# credits from the balance the one before left (the UPDATE waits for the row and evaluates
# `balance >= charged` again on it), and add to the company's row of the day without a lost
# update. A balance too small takes nothing and records nothing (SPEC §8.6).
_RECORD = f"""
WITH spent AS (
    UPDATE licences_creditaccount SET balance = balance - %(charged)s
    WHERE %(charged)s > 0 AND register_id = %(register)s AND campaign_id = %(campaign)s
        AND balance >= %(charged)s
    RETURNING id, register_id, balance
), entry AS (
    INSERT INTO licences_creditentry
        (register_id, account_id, licence_id, delta, balance_after, reason, reference, created_at)
    SELECT register_id, id, NULL, -%(charged)s, balance, %(reason)s, %(reference)s, %(now)s
    FROM spent
), paid AS (
    SELECT %(charged)s = 0 OR EXISTS (SELECT FROM spent) AS paid
), recorded AS (
    INSERT INTO campaigns_numbercheck
        (register_id, company_id, campaign_id, checked_at, valid_until, numbers)
    SELECT %(register)s, %(company)s, %(campaign)s, %(now)s, %(valid_until)s, %(offered)s
    FROM paid WHERE paid
    RETURNING id
), hashes AS (
    INSERT INTO campaigns_numberchecknumber (digest, number_check_id)
    SELECT {sql_number_hash("number")}, recorded.id
    FROM recorded, unnest(%(numbers)s::bigint[]) AS number
), tally AS (
    INSERT INTO campaigns_checktally (register_id, company_id, day, checks, numbers)
    SELECT %(register)s, %(company)s, %(day)s, 1, %(offered)s FROM paid WHERE paid
    ON CONFLICT (company_id, day) DO UPDATE
    SET checks = campaigns_checktally.checks + 1,
        numbers = campaigns_checktally.numbers + EXCLUDED.numbers
)
SELECT paid, (
    SELECT balance FROM licences_creditaccount
    WHERE register_id = %(register)s AND campaign_id = %(campaign)s
)
"""  # noqa: S608 (sql_number_hash is a constant, no input)
# As its own transaction, the statement is committed without waiting for its WAL to reach the
# disk, which costs more than everything else a check does: a crash of the database server
# can lose the checks of its last moments (their records, and credits they took: in the
# company's favour), each whole or not at all, and nothing else.
_RECORD_ON_ITS_OWN = _RECORD + ", set_config('synchronous_commit', 'off', true) FROM paid"
_RECORD_IN_TRANSACTION = _RECORD + " FROM paid"


def _record(
    *,
    company: Company,
    campaign: Campaign | None,
    offered: int,
    numbers: set[int],
    charged: int,
    reference: str,
) -> None:
    """Takes `charged` credits from the campaign (InsufficientCredits when too few, and then
    nothing is written), puts the check on record with its numbers' keyed hashes, never the
    numbers — what a violation report against the company looks up, after the answer's use
    period too (issue #14) — and counts it for the staff dashboard (CheckTally).

    `reference` names the spend in the credit ledger: spending again under the same reference
    (a retried check) takes nothing and records the check."""
    register = company.register
    today = register.today()
    params = {
        "register": register.pk,
        "company": company.pk,
        "campaign": campaign.pk if campaign is not None else None,
        "charged": charged,
        "reason": CreditEntry.Reason.CHECK.value,
        "reference": reference,
        "now": timezone.now(),
        "day": today,
        "valid_until": today + datetime.timedelta(days=register.use_period_days),
        "offered": offered,
        "numbers": _bigints(numbers),
        **number_hash_params(register.number_key),
    }
    try:
        paid, balance = _record_statement(params)
    except IntegrityError:
        # The reference was spent before (credit_entry_once_per_reference): paid already.
        paid, balance = _record_statement({**params, "charged": 0})
    if not paid:
        raise InsufficientCredits(
            _("This needs %(needed)d credits; the campaign has %(balance)d.")
            % {"needed": charged, "balance": balance or 0}
        )


def _record_statement(params: dict) -> tuple[bool, int | None]:
    # Within a caller's transaction, in a savepoint, so that a duplicate reference leaves the
    # transaction usable, and committed as the caller commits; otherwise the statement is its
    # own transaction (no BEGIN, no COMMIT).
    if connection.in_atomic_block:
        with transaction.atomic(), prepared_cursor() as cursor:
            cursor.execute(_RECORD_IN_TRANSACTION, params)
            return cursor.fetchone()[:2]
    with prepared_cursor() as cursor:
        cursor.execute(_RECORD_ON_ITS_OWN, params)
        return cursor.fetchone()[:2]


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
        status, reason = _verdict(
            number in opted_out,
            problem,
            mask is not None and bool(mask & purpose_bits),
            registered_on is not None,
        )
        categories = register.category_codes(mask) if mask is not None else []
        results.append(CheckResult(raw, number, status, reason, registered_on, categories))

    # Charged last, once the answer exists: a balance too small charges nothing (SPEC §8.6).
    charged = sum(1 for raw in numbers if is_number_attempt(raw)) if charges_credits else 0
    _record(
        company=company,
        campaign=campaign,
        offered=len(numbers),
        numbers={number for number, problem in normalised if problem is None},
        charged=charged,
        reference=reference,
    )
    return NumbersChecked(results=results, purpose=purpose, credits_charged=charged)


def is_number_attempt(raw: str) -> bool:
    """Whether a check's input is meant as a telephone number, right or wrong: it has a digit.
    Text without one ("hallo", "n.v.t.", "-") is no number at all and costs nothing (issue #13);
    "12345" is a wrong number, and costs a credit like any number looked at."""
    return _DIGIT.search(raw) is not None
