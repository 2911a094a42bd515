"""The company's history (issue 13): every scrub, check batch and download across campaigns,
filtered by campaign, user and period, as a page and as CSV; credits used per month as a chart
with the same numbers in a table."""

import csv
import datetime
import io

import pytest
from django_scopes import scope, scopes_disabled

from campaigns.history.selectors import credits_used_per_month
from campaigns.models import CallFile, CallFileStatus, Download, DownloadKind, DownloadStatus
from licences.models import CreditEntry
from licences.services import credits_spend
from tests.factories import CampaignFactory, CompanyFactory, CreditAccountFactory
from tests.portal.conftest import client_for

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 7)


def at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12), datetime.UTC)


def scrub(campaign, user, filename, day, credits=0):
    with scopes_disabled():
        call_file = CallFile.objects.create(
            register=campaign.register,
            company=campaign.company,
            campaign=campaign,
            uploaded_by=user,
            filename=filename,
            sha256="0" * 64,
            size=10,
            kind="csv",
            status=CallFileStatus.DONE,
            progress=100,
            rows_total=credits,
            rows_blocked=0,
            rows_callable=credits,
            rows_invalid=0,
            rows_out_of_scope=0,
            credits_charged=credits,
            valid_until=day + datetime.timedelta(days=28),
        )
        CallFile.objects.filter(pk=call_file.pk).update(created_at=at(day))
        if credits:
            with scope(register=campaign.register):
                entry = credits_spend(
                    campaign=campaign,
                    amount=credits,
                    reference=f"call-file:{call_file.pk}",
                    reason=CreditEntry.Reason.SCRUB,
                )
            CreditEntry.objects.filter(pk=entry.pk).update(created_at=at(day))
    return call_file


def check(campaign, amount, day, reference):
    with scope(register=campaign.register):
        entry = credits_spend(
            campaign=campaign, amount=amount, reference=reference, reason=CreditEntry.Reason.CHECK
        )
    with scopes_disabled():
        CreditEntry.objects.filter(pk=entry.pk).update(created_at=at(day))


def download(campaign, user, day):
    with scopes_disabled():
        made = Download.objects.create(
            register=campaign.register,
            company=campaign.company,
            campaign=campaign,
            kind=DownloadKind.FULL,
            status=DownloadStatus.DONE,
            rows=1234,
            valid_until=day + datetime.timedelta(days=28),
            created_by=user,
        )
        Download.objects.filter(pk=made.pk).update(created_at=at(day))


@pytest.fixture
def history(company, owner, member):
    spring = CampaignFactory(company=company, name="Voorjaar")
    autumn = CampaignFactory(company=company, name="=Najaar")  # a formula, for the CSV
    for campaign in (spring, autumn):
        CreditAccountFactory(campaign=campaign, balance=1_000)
    scrub(spring, owner, "maart.csv", datetime.date(2026, 3, 10), credits=40)
    scrub(autumn, member, "oktober.csv", datetime.date(2026, 10, 2), credits=25)
    check(autumn, 5, datetime.date(2026, 10, 20), "check:1")
    download(spring, member, datetime.date(2026, 11, 5))
    # Another company's work is never shown.
    other = CampaignFactory(company=CompanyFactory(register=company.register), name="Elders")
    CreditAccountFactory(campaign=other, balance=100)
    scrub(other, None, "elders.csv", datetime.date(2026, 10, 3), credits=7)
    return spring, autumn


def listed(page: str) -> list[str]:
    return [name for name in ("maart.csv", "oktober.csv", "elders.csv") if name in page] + [
        kind for kind in ("Numbers checked</td>", "full list") if kind in page
    ]


def test_history_lists_every_scrub_check_and_download_of_the_company(owner_client, history):
    page = owner_client.get("/history/").text

    assert listed(page) == ["maart.csv", "oktober.csv", "full list"]
    assert "Numbers checked" in page
    assert "elders.csv" not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"campaign": "spring"}, {"maart.csv", "download"}),
        ({"campaign": "autumn"}, {"oktober.csv", "check"}),
        ({"user": "member"}, {"oktober.csv", "download"}),
        ({"since": "2026-10-01", "until": "2026-10-31"}, {"oktober.csv", "check"}),
        ({"since": "2026-11-01"}, {"download"}),
    ],
)
def test_history_filters_by_campaign_user_and_period(
    owner_client, history, member, query, expected
):
    spring, autumn = history
    ids = {"spring": spring.pk, "autumn": autumn.pk, "member": member.pk}
    query = {key: ids.get(value, value) for key, value in query.items()}

    answer = owner_client.get("/history/", {**query, "format": "csv"})

    rows = list(csv.DictReader(io.StringIO(answer.content.decode()), delimiter=";"))
    assert {row["subject"] if row["kind"] == "scrub" else row["kind"] for row in rows} == expected


def test_history_csv_is_neutralised_against_formulas(owner_client, history):
    answer = owner_client.get("/history/", {"format": "csv"})

    assert answer["Content-Disposition"] == 'attachment; filename="history.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.content.decode()), delimiter=";"))
    assert [row["kind"] for row in rows] == ["download", "check", "scrub", "scrub"]
    assert {row["campaign"] for row in rows} == {"Voorjaar", "'=Najaar"}
    scrubbed = rows[2]
    assert (scrubbed["subject"], scrubbed["records"], scrubbed["credits"]) == (
        "oktober.csv",
        "25",
        "25",
    )
    assert scrubbed["valid_until"] == "2026-10-30"


def test_a_period_ending_before_it_starts_is_a_message(owner_client, history):
    page = owner_client.get("/history/", {"since": "2026-10-02", "until": "2026-10-01"})
    assert page.status_code == 200
    assert "The end of the period is before its start." in page.text


def test_credits_used_per_month_match_the_chart_and_its_table(owner_client, company, history):
    with scope(register=company.register):
        months = credits_used_per_month(company=company, today=TODAY)

    assert len(months) == 12 and months[0]["month"] == datetime.date(2026, 1, 1)
    used = {m["month"].month: (m["scrub"], m["check"]) for m in months if m["total"]}
    assert used == {3: (40, 0), 10: (25, 5)}

    page = owner_client.get("/history/").text
    table = page.split('class="table usage__table"')[1].split("</table>")[0]
    assert '<td class="num">25</td><td class="num">5</td><td class="num">30</td>' in table
    chart = page.split("<svg")[1].split("</svg>")[0]
    assert '<text x="' in chart and ">30</text>" in chart and ">40</text>" in chart
    assert "<script" not in page.split('id="usage-heading"')[1].split("</figure>")[0]


def test_history_is_the_companys_staff_only(accountant, history):
    assert client_for(accountant).get("/history/").status_code == 404
    assert client_for().get("/history/").status_code == 302
