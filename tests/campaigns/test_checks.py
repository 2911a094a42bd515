"""Number checks (SPEC §10): status and reason per number, nl credits, be licence and batches."""

import datetime
import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from campaigns.checks.services import numbers_check
from campaigns.models import CheckTally, CompanyOptOut, NumberCheck, OptOutSource
from licences.models import CreditEntry, LicenceStatus
from register.errors import DomainError, InsufficientCredits, LicenceRequired
from register.models import ALL_CATEGORIES
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    LicenceFactory,
    get_product,
    opt_out,
    register_numbers,
)
from tests.races import run_at_once

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

REGISTERED_ON = datetime.date(2015, 3, 2)
# nl category bits, in the register's order: commercial, ideal, charity.
COMMERCIAL, IDEAL, CHARITY = 1, 2, 4


@pytest.fixture
def nl_campaign(nl):
    """An nl campaign with credits, purpose commercial, and numbers registered per category."""
    account = CreditAccountFactory(campaign=CampaignFactory(company=CompanyFactory(register=nl)))
    account.balance = 100
    with scopes_disabled():
        account.save(update_fields=["balance"])
    register_numbers(
        nl,
        {
            31612345601: ALL_CATEGORIES,
            31612345602: COMMERCIAL,
            31612345603: IDEAL,
            31612345604: CHARITY,
            31612345605: IDEAL | CHARITY,
        },
        registered_on=REGISTERED_ON,
    )
    return account.campaign


@pytest.fixture
def be_company(be):
    company = CompanyFactory(register=be)
    LicenceFactory(company=company, product=get_product(be, "advertiser-small"))
    register_numbers(be, {32470123456: ALL_CATEGORIES}, registered_on=REGISTERED_ON)
    return company


def check(campaign_or_company, numbers, purpose=None):
    with scopes_disabled():
        if hasattr(campaign_or_company, "purpose"):
            company, campaign = campaign_or_company.company, campaign_or_company
        else:
            company, campaign = campaign_or_company, None
        return numbers_check(
            company=company,
            numbers=numbers,
            purpose=purpose,
            campaign=campaign,
            reference=f"test:{uuid.uuid4().hex}",
        )


def outcome(result) -> tuple:
    return result.status, result.reason


# One row per rule of SPEC §8.4/§8.5 for nl's three categories; the campaign's purpose is
# commercial unless the row names one.
NL_ROWS = [
    ("all categories, commercial", "0612345601", None, ("BLOCKED", "REGISTERED")),
    ("commercial only, commercial", "06-12345602", None, ("BLOCKED", "REGISTERED")),
    ("ideal only, commercial", "+31 6 12345603", None, ("CALLABLE", "REGISTERED_OTHER_CATEGORIES")),
    (
        "charity only, commercial",
        "0031612345604",
        None,
        ("CALLABLE", "REGISTERED_OTHER_CATEGORIES"),
    ),
    ("ideal only, ideal", "0612345603", "ideal", ("BLOCKED", "REGISTERED")),
    ("charity only, charity", "0612345604", "charity", ("BLOCKED", "REGISTERED")),
    (
        "commercial only, charity",
        "0612345602",
        "charity",
        ("CALLABLE", "REGISTERED_OTHER_CATEGORIES"),
    ),
    ("ideal and charity, ideal", "0612345605", "ideal", ("BLOCKED", "REGISTERED")),
    (
        "ideal and charity, commercial",
        "0612345605",
        None,
        ("CALLABLE", "REGISTERED_OTHER_CATEGORIES"),
    ),
    ("all categories, charity", "0612345601", "charity", ("BLOCKED", "REGISTERED")),
    ("not registered", "0612345699", None, ("CALLABLE", "")),
    ("not a number", "hello", None, ("INVALID", "INVALID_NUMBER")),
    ("too short", "12345", None, ("INVALID", "INVALID_NUMBER")),
    ("empty", "", None, ("INVALID", "INVALID_NUMBER")),
    ("Belgian number", "+32 470 12 34 56", None, ("OUT_OF_SCOPE", "FOREIGN_NUMBER")),
    # Service numbers are real numbers (not INVALID) that no consumer can register.
    ("0800 number", "0800 0123456", None, ("OUT_OF_SCOPE", "SERVICE_NUMBER")),
    ("0900 number", "0900 1234567", None, ("OUT_OF_SCOPE", "SERVICE_NUMBER")),
    ("short number", "112", None, ("OUT_OF_SCOPE", "SERVICE_NUMBER")),
]


@pytest.mark.parametrize(
    ("raw", "purpose", "expected"),
    [row[1:] for row in NL_ROWS],
    ids=[row[0] for row in NL_ROWS],
)
def test_nl_status_and_reason_per_category_and_purpose(nl_campaign, raw, purpose, expected):
    result = check(nl_campaign, [raw], purpose).results[0]

    assert outcome(result) == expected
    assert result.input == raw


def test_a_result_carries_the_number_registration_date_and_categories(nl_campaign):
    blocked, other, unregistered, invalid = check(
        nl_campaign, ["0612345605", "0612345601", "0612345699", "x"]
    ).results

    assert (blocked.number, blocked.registered_on, blocked.categories) == (
        31612345605,
        REGISTERED_ON,
        ["ideal", "charity"],
    )
    assert other.categories == ["commercial", "ideal", "charity"]
    assert (unregistered.number, unregistered.registered_on, unregistered.categories) == (
        31612345699,
        None,
        [],
    )
    assert invalid.number is None


def test_the_purpose_defaults_to_the_campaigns(nl_campaign):
    with scopes_disabled():
        nl_campaign.purpose = "ideal"
        nl_campaign.save(update_fields=["purpose"])

    checked = check(nl_campaign, ["0612345603"])

    assert checked.purpose == "ideal"
    assert outcome(checked.results[0]) == ("BLOCKED", "REGISTERED")


@pytest.mark.parametrize(
    ("raw", "registered"),
    [
        ("0612345601", True),  # registered for the purpose
        ("0612345603", True),  # registered, for another purpose only
        ("0612345699", False),
        ("0800 0123456", False),
    ],
)
def test_the_company_opt_out_wins_over_everything(nl_campaign, raw, registered):
    opt_out(nl_campaign.company, 31612345601, 31612345603, 31612345699, 318000123456)

    result = check(nl_campaign, [raw]).results[0]

    assert outcome(result) == ("BLOCKED", "COMPANY_OPT_OUT")
    assert (result.registered_on is not None) is registered


def test_another_companys_opt_outs_never_apply(nl_campaign, nl):
    other = CompanyFactory(register=nl)
    opt_out(other, 31612345699)

    assert outcome(check(nl_campaign, ["0612345699"]).results[0]) == ("CALLABLE", "")


def test_a_batch_answers_in_input_order_with_duplicates_each_answered(nl_campaign):
    numbers = ["0612345699", "0612345601", "x", "+31612345601", "0612345601", "0612345699"]

    results = check(nl_campaign, numbers).results

    assert [result.input for result in results] == numbers
    assert [result.status for result in results] == [
        "CALLABLE",
        "BLOCKED",
        "INVALID",
        "BLOCKED",
        "BLOCKED",
        "CALLABLE",
    ]


def test_a_batch_is_looked_up_set_wise_not_per_number(nl_campaign):
    numbers = [f"06123456{n:02d}" for n in range(100)]

    with CaptureQueriesContext(connection) as queries:
        check(nl_campaign, numbers)

    # The register and the opt-out lists in one statement; the charge, the record and the
    # tally in another (issue #15); how the register charges, read once for the process.
    lookups = [q["sql"] for q in queries if "= ANY(" in q["sql"]]
    assert len(lookups) == 1
    statements = [q for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) <= 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0470 12 34 56", ("BLOCKED", "REGISTERED")),
        ("0470 12 34 57", ("CALLABLE", "")),
        ("+31 6 12345601", ("OUT_OF_SCOPE", "FOREIGN_NUMBER")),
        ("0800 12 345", ("OUT_OF_SCOPE", "SERVICE_NUMBER")),
        ("02 123 45 67", ("INVALID", "INVALID_NUMBER")),
    ],
)
def test_be_one_full_block(be_company, raw, expected):
    result = check(be_company, [raw]).results[0]

    assert outcome(result) == expected
    assert result.categories == []


def test_nl_charges_one_credit_per_number_offered_once(nl_campaign):
    checked = check(nl_campaign, ["0612345601", "12345", "0612345601"])

    with scopes_disabled():
        nl_campaign.credit_account.refresh_from_db()
        entries = list(CreditEntry.objects.filter(account__campaign=nl_campaign, delta__lt=0))
    assert checked.credits_charged == 3
    assert nl_campaign.credit_account.balance == 97
    assert [(entry.delta, entry.reason) for entry in entries] == [(-3, "check")]


def test_every_check_is_counted_per_company_and_day_for_the_dashboard(nl_campaign, be_company):
    check(nl_campaign, ["0612345601", "x", "0612345601"])
    check(nl_campaign, ["0612345602"])
    check(be_company, ["0470 12 34 56", "0470 12 34 57"])

    with scopes_disabled():
        tallies = {
            (tally.company_id, tally.day): (tally.checks, tally.numbers)
            for tally in CheckTally.objects.all()
        }
        nl, be = nl_campaign.register, be_company.register
    assert tallies == {
        (nl_campaign.company_id, nl.today()): (2, 4),
        (be_company.pk, be.today()): (1, 2),
    }


def debits(campaign) -> list[int]:
    with scopes_disabled():
        return list(
            CreditEntry.objects.filter(account__campaign=campaign, delta__lt=0).values_list(
                "delta", flat=True
            )
        )


@pytest.mark.parametrize("raw", ["hallo", "n.v.t.", "-", "", "  ", "onbekend!"])
def test_nl_an_input_that_is_no_number_at_all_is_answered_invalid_for_free(nl_campaign, raw):
    checked = check(nl_campaign, [raw])

    assert outcome(checked.results[0]) == ("INVALID", "INVALID_NUMBER")
    assert checked.credits_charged == 0
    assert debits(nl_campaign) == []
    with scopes_disabled():
        nl_campaign.credit_account.refresh_from_db()
    assert nl_campaign.credit_account.balance == 100


@pytest.mark.parametrize("raw", ["12345", "06-1234", "tel 1", "\uff10\uff16"])
def test_nl_a_wrong_number_still_costs_a_credit(nl_campaign, raw):
    checked = check(nl_campaign, [raw])

    assert outcome(checked.results[0]) == ("INVALID", "INVALID_NUMBER")
    assert checked.credits_charged == 1
    assert debits(nl_campaign) == [-1]


def test_nl_a_batch_charges_only_the_inputs_that_are_numbers(nl_campaign):
    checked = check(nl_campaign, ["hallo", "0612345601", "n.v.t.", "12345", "0612345601"])

    assert [r.status for r in checked.results] == [
        "INVALID",
        "BLOCKED",
        "INVALID",
        "INVALID",
        "BLOCKED",
    ]
    assert checked.credits_charged == 3
    assert debits(nl_campaign) == [-3]


def test_nl_text_is_answered_with_an_empty_balance(nl_campaign):
    with scopes_disabled():
        nl_campaign.credit_account.balance = 0
        nl_campaign.credit_account.save(update_fields=["balance"])

    checked = check(nl_campaign, ["hallo"])

    assert outcome(checked.results[0]) == ("INVALID", "INVALID_NUMBER")
    assert debits(nl_campaign) == []


def test_nl_refuses_a_check_the_balance_cannot_pay_and_charges_nothing(nl_campaign):
    with scopes_disabled():
        nl_campaign.credit_account.balance = 2
        nl_campaign.credit_account.save(update_fields=["balance"])

    with pytest.raises(InsufficientCredits) as error:
        check(nl_campaign, ["0612345601", "0612345602", "0612345603"])

    assert "3" in str(error.value.message) and "2" in str(error.value.message)
    with scopes_disabled():
        nl_campaign.credit_account.refresh_from_db()
        assert nl_campaign.credit_account.balance == 2
        assert not CreditEntry.objects.filter(account__campaign=nl_campaign, delta__lt=0).exists()


def test_nl_needs_a_campaign(nl_campaign):
    with pytest.raises(DomainError) as error:
        check(nl_campaign.company, ["0612345601"])

    assert error.value.code == "campaign_required"


def test_the_call_centre_checks_with_the_advertisers_campaign(nl_campaign, nl):
    from campaigns.selectors import campaign_get

    centre = CompanyFactory(register=nl, company_type="service_provider")
    with scopes_disabled():
        nl_campaign.service_provider, nl_campaign.provider_status = centre, "accepted"
        nl_campaign.save(update_fields=["service_provider", "provider_status"])
        campaign = campaign_get(company=centre, campaign_id=nl_campaign.pk)
        checked = numbers_check(
            company=centre, numbers=["0612345601"], campaign=campaign, reference="centre"
        )
        nl_campaign.credit_account.refresh_from_db()

    assert outcome(checked.results[0]) == ("BLOCKED", "REGISTERED")
    assert nl_campaign.credit_account.balance == 99


@pytest.mark.parametrize("status", [None, LicenceStatus.EXPIRED, "ended"])
def test_be_needs_an_access_licence_in_force(be, status):
    company = CompanyFactory(register=be)
    if status == "ended":
        LicenceFactory(
            company=company,
            product=get_product(be, "advertiser-month"),
            starts_on=datetime.date(2020, 1, 1),
            ends_on=datetime.date(2020, 1, 31),
        )
    elif status is not None:
        LicenceFactory(company=company, product=get_product(be, "advertiser-small"), status=status)

    with pytest.raises(LicenceRequired):
        check(company, ["0470123456"])


def test_be_a_cancelled_licence_checks_until_its_end(be):
    company = CompanyFactory(register=be)
    LicenceFactory(
        company=company,
        product=get_product(be, "advertiser-small"),
        status=LicenceStatus.CANCELLED,
        ends_on=datetime.date.today() + datetime.timedelta(days=10),
    )

    assert check(company, ["0470123456"]).credits_charged == 0


@pytest.mark.parametrize(
    ("purpose", "code"), [("ideal", "invalid_purpose"), ("sales", "invalid_purpose")]
)
def test_be_knows_only_the_commercial_purpose(be_company, purpose, code):
    with pytest.raises(DomainError) as error:
        check(be_company, ["0470123456"], purpose)

    assert error.value.code == code


# The API (SPEC §16)


@pytest.fixture
def nl_api(nl_campaign):
    ApiKeyFactory(company=nl_campaign.company, raw="dnc_checks_nl")
    client = APIClient(HTTP_HOST="nl.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION="Bearer dnc_checks_nl")
    return client


@pytest.fixture
def be_api(be_company):
    ApiKeyFactory(company=be_company, raw="dnc_checks_be")
    client = APIClient(HTTP_HOST="be.localhost")
    client.credentials(HTTP_AUTHORIZATION="Bearer dnc_checks_be")
    return client


def test_api_checks_one_number(nl_api, nl_campaign):
    response = nl_api.get(f"/api/v1/numbers/0612345605?campaign={nl_campaign.pk}&purpose=ideal")

    assert response.status_code == 200
    assert response.json() == {
        "input": "0612345605",
        "number": "+31612345605",
        "status": "BLOCKED",
        "reason": "REGISTERED",
        "registered_on": "2015-03-02",
        "categories": ["ideal", "charity"],
    }


def test_api_checks_a_batch_in_input_order(nl_api, nl_campaign):
    response = nl_api.post(
        "/api/v1/numbers/check",
        {"numbers": ["0612345699", "x", "0612345601"], "campaign": nl_campaign.pk},
        format="json",
    )

    assert response.status_code == 200
    assert [(r["input"], r["status"], r["number"]) for r in response.json()["results"]] == [
        ("0612345699", "CALLABLE", "+31612345699"),
        ("x", "INVALID", None),
        ("0612345601", "BLOCKED", "+31612345601"),
    ]


def test_api_refuses_more_than_a_thousand_numbers_and_charges_nothing(nl_api, nl_campaign):
    numbers = [f"0612{n:06d}" for n in range(1_001)]

    response = nl_api.post(
        "/api/v1/numbers/check", {"numbers": numbers, "campaign": nl_campaign.pk}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    with scopes_disabled():
        nl_campaign.credit_account.refresh_from_db()
    assert nl_campaign.credit_account.balance == 100


def test_api_single_check_of_text_charges_nothing(nl_api, nl_campaign):
    response = nl_api.get(f"/api/v1/numbers/hallo?campaign={nl_campaign.pk}")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reason"]) == ("INVALID", "INVALID_NUMBER")
    assert debits(nl_campaign) == []


def test_api_batch_check_charges_the_numbers_not_the_text(nl_api, nl_campaign):
    response = nl_api.post(
        "/api/v1/numbers/check",
        {"numbers": ["hallo", "0612345699", "", "12345"], "campaign": nl_campaign.pk},
        format="json",
    )

    assert response.status_code == 200
    assert [r["reason"] for r in response.json()["results"]] == [
        "INVALID_NUMBER",
        "",
        "INVALID_NUMBER",
        "INVALID_NUMBER",
    ]
    assert debits(nl_campaign) == [-2]


def test_api_checks_exactly_a_thousand_numbers(nl_api, nl_campaign):
    with scopes_disabled():
        nl_campaign.credit_account.balance = 1_000
        nl_campaign.credit_account.save(update_fields=["balance"])
    numbers = [f"0612{n:06d}" for n in range(1_000)]

    response = nl_api.post(
        "/api/v1/numbers/check", {"numbers": numbers, "campaign": nl_campaign.pk}, format="json"
    )

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1_000


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("", 400, "campaign_required"),
        ("?campaign=999999", 404, "not_found"),
        ("?campaign={campaign}&purpose=sales", 400, "invalid_purpose"),
        ("?campaign=abc", 400, "invalid"),
    ],
)
def test_api_check_errors_in_nl(nl_api, nl_campaign, query, status, code):
    response = nl_api.get("/api/v1/numbers/0612345601" + query.format(campaign=nl_campaign.pk))

    assert (response.status_code, response.json()["code"]) == (status, code)


def test_api_answers_402_with_the_credits_needed_and_the_balance(nl_api, nl_campaign):
    with scopes_disabled():
        nl_campaign.credit_account.balance = 1
        nl_campaign.credit_account.save(update_fields=["balance"])

    response = nl_api.post(
        "/api/v1/numbers/check",
        {"numbers": ["0612345601", "0612345602"], "campaign": nl_campaign.pk},
        format="json",
    )

    assert response.status_code == 402
    assert response.json() == {
        "detail": "This needs 2 credits; the campaign has 1.",
        "code": "insufficient_credits",
    }


def test_api_uses_another_companys_campaign_as_not_found(nl_api, nl):
    foreign = CreditAccountFactory(campaign=CampaignFactory(company=CompanyFactory(register=nl)))

    response = nl_api.get(f"/api/v1/numbers/0612345601?campaign={foreign.campaign_id}")

    assert response.status_code == 404


def test_api_be_without_licence_is_403(be):
    ApiKeyFactory(company=CompanyFactory(register=be), raw="dnc_checks_be_none")
    client = APIClient(HTTP_HOST="be.localhost")
    client.credentials(HTTP_AUTHORIZATION="Bearer dnc_checks_be_none")

    response = client.get("/api/v1/numbers/0470123456")

    assert (response.status_code, response.json()["code"]) == (403, "licence_required")


def test_api_be_answers_429_to_a_batch_larger_than_the_limit_per_minute(be_api):
    numbers = [f"0470{n:06d}" for n in range(21)]

    response = be_api.post(
        "/api/v1/numbers/check", {"numbers": numbers}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert (response.status_code, response.json()["code"]) == (429, "rate_limited")
    assert "allows 20 numbers a minute" in response.json()["detail"]
    # No window open yet: the first batch of 20 may go at once.
    assert response["Retry-After"] == "1"
    # A batch that can never fit costs nothing: the full limit is still there.
    response = be_api.post("/api/v1/numbers/check", {"numbers": numbers[:20]}, format="json")
    assert response.status_code == 200


def test_api_be_counts_a_batch_as_its_numbers(be_api):
    first = be_api.post("/api/v1/numbers/check", {"numbers": ["0470123456"] * 15}, format="json")
    second = be_api.post("/api/v1/numbers/check", {"numbers": ["0470123456"] * 6}, format="json")
    third = be_api.post("/api/v1/numbers/check", {"numbers": ["0470123456"] * 5}, format="json")

    assert [first.status_code, second.status_code, third.status_code] == [200, 429, 200]
    assert 0 < int(second["Retry-After"]) <= 60
    assert json.loads(second.content)["code"] == "rate_limited"


def test_the_rate_limit_is_per_company(be_api, be):
    for _attempt in range(20):
        assert be_api.get("/api/v1/numbers/0470123456").status_code == 200
    assert be_api.get("/api/v1/numbers/0470123456").status_code == 429
    other = CompanyFactory(register=be)
    LicenceFactory(company=other, product=get_product(be, "advertiser-small"))

    assert outcome(check(other, ["0470123456"]).results[0]) == ("BLOCKED", "REGISTERED")


def test_a_raised_limit_of_the_product_holds(be_api, be):
    with scopes_disabled():
        product = get_product(be, "advertiser-small")
        product.checks_per_minute = 30
        product.save(update_fields=["checks_per_minute"])

    statuses = [be_api.get("/api/v1/numbers/0470123456").status_code for _ in range(31)]

    assert statuses == [200] * 30 + [429]


def test_the_source_of_an_opt_out_does_not_matter(nl_campaign):
    with scopes_disabled():
        CompanyOptOut.objects.create(
            register=nl_campaign.register,
            company=nl_campaign.company,
            number=31612345699,
            source=OptOutSource.UPLOAD,
        )

    assert check(nl_campaign, ["0612345699"]).results[0].reason == "COMPANY_OPT_OUT"


@pytest.mark.parametrize(
    "numbers", [[], "0612345601", [612345601], ["0" * 65], [None], {"a": "0612345601"}]
)
def test_api_refuses_numbers_that_are_no_list_of_texts(nl_api, nl_campaign, numbers):
    response = nl_api.post(
        "/api/v1/numbers/check", {"numbers": numbers, "campaign": nl_campaign.pk}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_checks_spend_exactly_the_balance_and_record_only_what_was_paid(nl):
    """Eight checks at once of a campaign with five credits: five pass, each paid, recorded and
    counted; three are refused and leave no trace (issue #15: one statement, no lost update)."""
    with scopes_disabled():
        account = CreditAccountFactory(
            campaign=CampaignFactory(company=CompanyFactory(register=nl))
        )
        account.balance = 5
        account.save(update_fields=["balance"])
    campaign = account.campaign

    failures = run_at_once(*[lambda: check(campaign, ["0612345678"]) for _n in range(8)])

    assert len(failures) == 3
    assert all(isinstance(failure, InsufficientCredits) for failure in failures)
    with scopes_disabled():
        account.refresh_from_db()
        assert account.balance == 0
        assert CreditEntry.objects.filter(account=account).count() == 5
        assert NumberCheck.objects.filter(campaign=campaign).count() == 5
        assert CheckTally.objects.get(company=campaign.company).checks == 5


def test_a_check_retried_under_its_reference_pays_once(nl_campaign):
    """The reference names the spend in the ledger: the same check again is answered and put on
    record, and takes no second credit."""
    with scopes_disabled():
        first = numbers_check(
            company=nl_campaign.company,
            numbers=["0612345678"],
            campaign=nl_campaign,
            reference="check:retried",
        )
        again = numbers_check(
            company=nl_campaign.company,
            numbers=["0612345678"],
            campaign=nl_campaign,
            reference="check:retried",
        )
        account = nl_campaign.credit_account
        account.refresh_from_db()
        assert (first.results, again.results) == (first.results, first.results)
        assert account.balance == 99
        assert CreditEntry.objects.filter(account=account, reference="check:retried").count() == 1
        assert NumberCheck.objects.filter(campaign=nl_campaign).count() == 2
