"""Violation reports (issue #14): a consumer files one; staff see whether the company named
scrubbed or checked the number under a use period covering the call, told by keyed hashes that
outlive the purged call file; the regulator's export per period."""

import datetime
import hashlib
import hmac

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from campaigns.checks.services import numbers_check
from campaigns.marking.retention import call_files_purge
from campaigns.models import CallFile, CallFileNumber, NumberCheckNumber
from complaints.models import CaseKind, ViolationReport
from complaints.services import report_evidence, report_file, reports_export_rows
from register.numberhash import number_hash, number_hash_params, sql_number_hash
from tests.campaigns.test_marking import mark, set_balance, upload
from tests.factories import CampaignFactory, LicenceFactory, get_product

pytestmark = pytest.mark.django_db
NUMBER = 31612345678


@pytest.mark.parametrize("number", [31612345678, 32471234567, 3120123456, 1])
def test_sql_and_python_make_the_same_keyed_hash(nl, number):
    key = bytes(nl.number_key)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql_number_hash('%(n)s::bigint')}", {"n": number, **number_hash_params(key)}
        )
        in_sql = cursor.fetchone()[0]
    digest = hmac.new(key, str(number).encode(), hashlib.sha256).digest()
    # The HMAC-SHA256's first 64 bits, as a signed bigint.
    assert in_sql == number_hash(key, number) == int.from_bytes(digest[:8], "big", signed=True)


def test_each_register_has_its_own_number_key(nl, be):
    assert len(bytes(nl.number_key)) == 32
    assert bytes(nl.number_key) != bytes(be.number_key)


def _report(register, *, company_named, called_at, number=NUMBER):
    with scope(register=register):
        return report_file(
            register=register,
            number=number,
            called_at=called_at,
            company_named=company_named,
            caller_name="Piet",
            caller_number="020 123 4567",
            offered="An energy contract",
            filer_email="jan@example.com",
            filer_name="Jan",
            language="nl",
        )


def test_a_scrub_that_offered_the_number_is_evidence_within_its_use_period_after_the_purge(
    nl, media_root
):
    campaign = CampaignFactory(company__register=nl, company__name="Bel BV")
    set_balance(campaign, 100)
    scrubbed = mark(upload(campaign, b"phone\n0612345678\n0612345678\n0201234567\nnot a number\n"))
    assert scrubbed.status == "done"
    with scopes_disabled():
        # Each valid number once, hashed; never the numbers.
        digests = set(
            CallFileNumber.objects.filter(call_file=scrubbed).values_list("digest", flat=True)
        )
    key = bytes(nl.number_key)
    assert digests == {
        number_hash(key, NUMBER),
        number_hash(key, 31201234567),
    }
    # The files go at the end of the use period; the hashes stay with the scrub's record.
    with scope(register=nl):
        call_files_purge(register=nl, today=scrubbed.valid_until + datetime.timedelta(days=1))
    with scopes_disabled():
        assert CallFile.objects.get(pk=scrubbed.pk).files_deleted_at is not None
        assert CallFileNumber.objects.filter(call_file=scrubbed).count() == 2

    now = timezone.now()
    report = _report(nl, company_named="bel bv", called_at=now)
    assert report.company == campaign.company  # matched by name, whatever the case
    assert report.case.kind == CaseKind.REPORT
    with scope(register=nl):
        found = report_evidence(report)
        assert [(item.kind, item.id) for item in found] == [("scrub", scrubbed.pk)]
        # Another number, or a call after the use period: no evidence.
        other = _report(nl, company_named="Bel BV", called_at=now, number=31698765432)
        assert report_evidence(other) == []
        ViolationReport.objects.filter(pk=other.pk).update(
            number=NUMBER,
            called_at=timezone.now().replace(year=now.year + 1),
        )
        other.refresh_from_db()
        assert report_evidence(other) == []


def test_a_number_check_is_evidence_too(be):
    company = LicenceFactory(
        company__register=be, product=get_product(be, "advertiser-small")
    ).company
    with scope(register=be):
        numbers_check(company=company, numbers=["0471 23 45 67", "rubbish"], reference="t-1")
        assert NumberCheckNumber.objects.count() == 1
        report = _report(
            be, company_named=company.name, called_at=timezone.now(), number=32471234567
        )
        assert [item.kind for item in report_evidence(report)] == ["check"]


def test_the_regulators_export_lists_the_periods_reports_with_the_evidence(nl, media_root):
    campaign = CampaignFactory(company__register=nl, company__name="=Bel BV")
    set_balance(campaign, 10)
    mark(upload(campaign, b"phone\n0612345678\n"))
    now = timezone.now()
    _report(nl, company_named="=Bel BV", called_at=now)
    _report(nl, company_named="Nobody Ltd", called_at=now, number=31698765432)
    _report(nl, company_named="=Bel BV", called_at=now - datetime.timedelta(days=60))
    today = nl.today()
    with scope(register=nl):
        lines = list(reports_export_rows(register=nl, start=today, end=today))
    assert len(lines) == 3
    assert lines[0].startswith("\ufeffcase;received_at;called_at;number_called;company_named")
    known, unknown = lines[1].rstrip("\r\n").split(";"), lines[2].rstrip("\r\n").split(";")
    assert known[3:5] == ["+31612345678", "'=Bel BV"]  # a formula neutralised
    assert known[8:10] == ["1", "yes"]
    assert unknown[4] == "Nobody Ltd" and unknown[9] == "unknown company"


def test_the_public_page_files_a_report_and_redirects(nl):
    client = Client()
    response = client.post(
        "/cases/report/",
        {
            "number": "06 12345678",
            "called_on": "2026-01-05",
            "called_time": "18:30",
            "company_named": "Bel BV",
            "caller_name": "Piet",
            "caller_number": "",
            "offered": "Solar panels",
            "body": "",
            "name": "Jan",
            "email": "jan@example.com",
        },
        HTTP_HOST="nl.localhost",
    )
    assert response.status_code == 302
    filed = client.get(response["Location"], HTTP_HOST="nl.localhost")
    with scopes_disabled():
        report = ViolationReport.objects.get()
    assert str(report.case.pk) in filed.text
    assert report.number == NUMBER
    assert timezone.localtime(report.called_at, nl.zone).strftime("%Y-%m-%d %H:%M") == (
        "2026-01-05 18:30"
    )
    refused = client.post(
        "/cases/report/",
        {"number": "0800 1234567", "called_on": "2999-01-01", "called_time": "10:00"},
        HTTP_HOST="nl.localhost",
    )
    assert refused.status_code == 200
    assert set(refused.context["form"].errors) >= {"number", "called_on", "company_named"}


def test_the_api_still_files_only_requests_complaints_and_disputes(nl):
    from complaints.api import API_KINDS

    assert [kind for kind, _label in API_KINDS] == ["request", "complaint", "dispute"]
