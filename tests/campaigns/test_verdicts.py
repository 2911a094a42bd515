"""One verdict rule (STYLE 17, campaigns.verdicts): each row runs through a single API check, a
batch API check and a real scrub by the Celery worker, and all three give the same status,
reason and registration date (SPEC §8.4, §8.5, §10; seed 001). A campaign run by a call centre
applies the opt-out lists of both the advertiser and the call centre, whichever of them asks
(SPEC §8.5, issue #10 item 5)."""

import datetime
import time
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from campaigns.models import ProviderStatus
from campaigns.verdicts import RULES
from register.models import ALL_CATEGORIES
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    get_register,
    opt_out,
    register_numbers,
)

REGISTERED_ON = datetime.date(2015, 3, 2)
# nl category bits, in the register's order: commercial, ideal, charity. The campaign's purpose
# is commercial.
COMMERCIAL, IDEAL, CHARITY = 1, 2, 4

ADVERTISER, CENTRE = "advertiser", "call centre"

# (case, phone as typed, E.164 digits, opt-in date, registered with, the opt-out lists it is on,
# who checks and scrubs, status, reason, registered on). The campaign is the advertiser's; it is
# run by a call centre (invited and accepted) where a row names one. A check takes no opt-in
# date: rows with one are the scrub's alone (SPEC §8.5), the checks are asked where it has none.
ROWS = [
    ("registered for every category", "0612345601", 31612345601, "", ALL_CATEGORIES,
     (), ADVERTISER, "BLOCKED", "REGISTERED", "2015-03-02"),
    ("registered for the purpose only", "06-1234 5602", 31612345602, "", COMMERCIAL,
     (), ADVERTISER, "BLOCKED", "REGISTERED", "2015-03-02"),
    ("registered for other categories only", "+31 6 12345603", 31612345603, "", IDEAL | CHARITY,
     (), ADVERTISER, "CALLABLE", "REGISTERED_OTHER_CATEGORIES", "2015-03-02"),
    ("not registered", "0612345699", 31612345699, "", None,
     (), ADVERTISER, "CALLABLE", "", ""),
    ("company opt-out", "0612345610", 31612345610, "", None,
     (ADVERTISER,), ADVERTISER, "BLOCKED", "COMPANY_OPT_OUT", ""),
    ("company opt-out of a registered number", "0612345611", 31612345611, "", ALL_CATEGORIES,
     (ADVERTISER,), ADVERTISER, "BLOCKED", "COMPANY_OPT_OUT", "2015-03-02"),
    ("company opt-out of a number registered for other categories", "0612345612", 31612345612,
     "", IDEAL, (ADVERTISER,), ADVERTISER, "BLOCKED", "COMPANY_OPT_OUT", "2015-03-02"),
    # Seed 001: the consumer's latest act prevails.
    ("opt-in after registration", "0612345604", 31612345604, "2016-01-01", ALL_CATEGORIES,
     (), ADVERTISER, "CALLABLE", "OPT_IN_AFTER_REGISTRATION", "2015-03-02"),
    ("opt-in on the day of registration", "0612345606", 31612345606, "2015-03-02", ALL_CATEGORIES,
     (), ADVERTISER, "BLOCKED", "REGISTERED", "2015-03-02"),
    ("opt-in before registration", "0612345607", 31612345607, "2014-12-31", COMMERCIAL,
     (), ADVERTISER, "BLOCKED", "REGISTERED", "2015-03-02"),
    ("opt-in on a number registered for other categories", "0612345608", 31612345608,
     "2016-01-01", IDEAL, (), ADVERTISER, "CALLABLE", "REGISTERED_OTHER_CATEGORIES",
     "2015-03-02"),
    ("opt-in on a number not registered", "0612345698", 31612345698, "2016-01-01", None,
     (), ADVERTISER, "CALLABLE", "", ""),
    ("opt-out beats a later opt-in", "0612345613", 31612345613, "2020-01-01", ALL_CATEGORIES,
     (ADVERTISER,), ADVERTISER, "BLOCKED", "COMPANY_OPT_OUT", "2015-03-02"),
    ("invalid", "12345", None, "", None,
     (), ADVERTISER, "INVALID", "INVALID_NUMBER", ""),
    ("foreign", "+32 470 12 34 56", 32470123456, "", None,
     (), ADVERTISER, "OUT_OF_SCOPE", "FOREIGN_NUMBER", ""),
    ("service number", "0900-1234567", 319001234567, "", None,
     (), ADVERTISER, "OUT_OF_SCOPE", "SERVICE_NUMBER", ""),
    ("emergency number", "112", None, "", None,
     (), ADVERTISER, "OUT_OF_SCOPE", "SERVICE_NUMBER", ""),
    # Issue #10 item 5: the opt-outs follow the campaign, whoever of the two asks.
    ("call centre asks, advertiser's list", "0612345620", 31612345620, "", None,
     (ADVERTISER,), CENTRE, "BLOCKED", "COMPANY_OPT_OUT", ""),
    ("call centre asks, its own list", "0612345621", 31612345621, "", None,
     (CENTRE,), CENTRE, "BLOCKED", "COMPANY_OPT_OUT", ""),
    ("call centre asks, both lists", "0612345622", 31612345622, "", ALL_CATEGORIES,
     (ADVERTISER, CENTRE), CENTRE, "BLOCKED", "COMPANY_OPT_OUT", "2015-03-02"),
    ("call centre asks, neither list", "0612345623", 31612345623, "", None,
     (), CENTRE, "CALLABLE", "", ""),
    ("advertiser asks, the call centre's list", "0612345624", 31612345624, "", None,
     (CENTRE,), ADVERTISER, "BLOCKED", "COMPANY_OPT_OUT", ""),
    ("advertiser asks, both lists", "0612345625", 31612345625, "", None,
     (ADVERTISER, CENTRE), ADVERTISER, "BLOCKED", "COMPANY_OPT_OUT", ""),
]  # fmt: skip


def test_every_rule_has_a_row():
    assert {(rule.status, rule.reason) for rule in RULES} <= {(row[7], row[8]) for row in ROWS}


def single_check(client, campaign, phone: str) -> dict:
    response = client.get(f"/api/v1/numbers/{quote(phone, safe='')}?campaign={campaign.pk}")
    assert response.status_code == 200, response.json()
    return response.json()


def batch_check(client, campaign, phone: str) -> dict:
    response = client.post(
        "/api/v1/numbers/check", {"numbers": [phone], "campaign": campaign.pk}, format="json"
    )
    assert response.status_code == 200, response.json()
    [result] = response.json()["results"]
    return result


def scrub(client, campaign, case: str, phone: str, opt_in: str) -> list[str]:
    """The row's marks (status, reason, number, registered on) from a one-record call file
    marked by the real worker."""
    content = f"name;phone;opt-in date\r\n{case};{phone};{opt_in}\r\n".encode()
    response = client.post(
        f"/api/v1/campaigns/{campaign.pk}/call-files",
        {
            "file": SimpleUploadedFile("calls.csv", content),
            "phone_column": "2",
            "opt_in_column": "3",
        },
        format="multipart",
    )
    assert response.status_code == 202, response.json()
    url = f"/api/v1/call-files/{response.json()['id']}"
    deadline = time.monotonic() + 60
    while (detail := client.get(url).json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, detail
        time.sleep(0.1)
    assert detail["status"] == "done", detail
    result = client.get(detail["result_url"])
    lines = b"".join(result.streaming_content).decode().splitlines()
    assert lines[0].endswith(";dnc_status;dnc_reason;dnc_number;dnc_registered_on")
    return lines[1].split(";")[-4:]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("phone", "number", "opt_in", "registered", "lists", "by", "status", "reason", "registered_on"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_checks_and_scrubs_give_each_number_the_same_verdict(
    celery_worker_process,
    stored_files,
    phone,
    number,
    opt_in,
    registered,
    lists,
    by,
    status,
    reason,
    registered_on,
):
    nl = get_register("nl")
    companies = {ADVERTISER: CompanyFactory(register=nl)}
    campaign = CampaignFactory(company=companies[ADVERTISER])
    if CENTRE in (*lists, by):
        companies[CENTRE] = CompanyFactory(register=nl, company_type="service_provider")
        campaign.service_provider = companies[CENTRE]
        campaign.provider_status = ProviderStatus.ACCEPTED
        with scopes_disabled():
            campaign.save(update_fields=["service_provider", "provider_status"])
    CreditAccountFactory(campaign=campaign, balance=10)
    if registered is not None:
        register_numbers(nl, {number: registered}, registered_on=REGISTERED_ON)
    for company in lists:
        opt_out(companies[company], number)
    ApiKeyFactory(company=companies[by], raw="dnc_verdicts")
    client = APIClient(HTTP_HOST="nl.localhost")
    client.credentials(HTTP_AUTHORIZATION="Bearer dnc_verdicts")
    expected = (status, reason, registered_on)

    answers = {}
    if not opt_in:
        for path, check in (("single check", single_check), ("batch check", batch_check)):
            result = check(client, campaign, phone)
            answers[path] = (result["status"], result["reason"], result["registered_on"] or "")
    marks = scrub(client, campaign, "row", phone, opt_in)
    answers["scrub"] = (marks[0], marks[1], marks[3])

    assert answers == dict.fromkeys(answers, expected)
    assert marks[2] == ("" if number is None else f"+{number}")
