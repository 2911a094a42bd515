"""The staff dashboard, the admin's index (issue 14): its panels' numbers on a known dataset,
the period filter, each panel's CSV, and who sees which register's numbers."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_scopes import scope, scopes_disabled

from campaigns.models import CallFile, CallFileStatus, CheckTally, FileKind
from complaints.models import Case, Stage
from register.models import ALL_CATEGORIES, Channel, EventAction
from tests.factories import CampaignFactory, UserFactory, register_staff
from tests.register.test_statistics import at, blocked, event

pytestmark = pytest.mark.django_db

NOVEMBER = "start=2026-11-01&end=2026-11-30&by=week"


def staff_client(register, host):
    user = register_staff(register, email=f"staff-{register.slug}@example.com")
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


@pytest.fixture
def data(nl, be):
    """Registrations in both registers, a scrub and checks of an nl company, an overdue case."""
    with scope(register=nl):
        for number, channel, when in [
            (31610000001, Channel.WEB, at(2, 10)),
            (31610000002, Channel.PHONE, at(3, 10)),
            (31610000003, Channel.WEB, at(12, 10)),
        ]:
            blocked(nl, number, ALL_CATEGORIES, when, channel)
            event(nl, number, EventAction.BLOCK, channel, when, ALL_CATEGORIES)
    with scope(register=be):
        for n in range(5):
            blocked(be, 3212345600 + n, ALL_CATEGORIES, at(2, 10), Channel.WEB)
            event(be, 3212345600 + n, EventAction.BLOCK, Channel.WEB, at(2, 10), ALL_CATEGORIES)
    campaign = CampaignFactory(company__register=nl, register=nl, company__name="Belco Zuid B.V.")
    company = campaign.company
    with scopes_disabled():
        CallFile.objects.create(
            register=nl,
            company=company,
            campaign=campaign,
            filename="calls.csv",
            sha256="0" * 64,
            size=12,
            kind=FileKind.DELIMITED,
            status=CallFileStatus.DONE,
            rows_total=120,
            rows_blocked=20,
            rows_callable=100,
            rows_invalid=0,
            rows_out_of_scope=0,
            valid_until=datetime.date(2026, 12, 1),
            finished_at=at(5, 14),
        )
        CheckTally.objects.create(register=nl, company=company, day=nl.today(), checks=2, numbers=7)
        Case.objects.create(
            register=nl,
            kind="request",
            filer_email="x@example.com",
            language="nl",
            subject="Still called",
            body="…",
            channel="public",
            received_at=at(2, 9),
            stage=Stage.RECEIVED,
            admissibility="timely",
            next_due=datetime.date(2026, 11, 16),
        )
    return company


def test_the_dashboard_shows_each_panel_with_its_numbers(nl, data):
    client = staff_client(nl, "nl.localhost")
    page = client.get(f"/admin/?{NOVEMBER}")
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count('<svg class="chart"') == 8
    # Open cases: the overdue one listed with its deadline.
    assert "Still called" in text and "2026-11-16" in text
    assert "Belco Zuid B.V." in text
    for key in ("registrations", "size", "cases", "usage", "revenue"):
        assert f"/admin/dashboard/{key}.csv?{NOVEMBER}" in text.replace("&amp;", "&")


def test_a_panels_csv_holds_its_numbers_for_the_period(nl, data):
    client = staff_client(nl, "nl.localhost")
    registrations = client.get(f"/admin/dashboard/registrations.csv?{NOVEMBER}")
    assert registrations.status_code == 200
    lines = registrations.content.decode().splitlines()
    assert len(lines) == 1 + 6
    assert lines[2] == "2026-11-02,1,1,0,0,0"
    assert lines[3] == "2026-11-09,1,0,0,0,0"
    size = client.get(f"/admin/dashboard/size.csv?{NOVEMBER}").content.decode().splitlines()
    assert size[1:4] == ["2026-10-26,0", "2026-11-02,2", "2026-11-09,3"]
    by_month = client.get(
        "/admin/dashboard/registrations.csv?start=2026-11-01&end=2026-11-30&by=month"
    )
    assert by_month.content.decode().splitlines()[1:] == ["2026-11,2,1,0,0,0"]
    # scrubs, checks, downloads, records scrubbed, numbers checked (today's checks: the period
    # must reach today).
    today = nl.today().isoformat()
    usage = client.get(f"/admin/dashboard/usage.csv?start=2026-11-01&end={today}&by=month")
    assert usage.content.decode().splitlines()[1] == "Belco Zuid B.V.,1,2,0,120,7"
    cases = client.get(f"/admin/dashboard/cases.csv?{NOVEMBER}").content.decode().splitlines()
    assert cases[1:] == [f"{Stage.RECEIVED.label},1,0"]


def test_a_period_that_cannot_be_shown_is_a_message_not_an_error(nl, data):
    client = staff_client(nl, "nl.localhost")
    page = client.get("/admin/?start=2026-11-30&end=2026-11-01&by=day")
    assert page.status_code == 200
    # nl.localhost speaks Dutch.
    assert "De periode moet beginnen voordat hij eindigt." in page.content.decode()
    assert client.get("/admin/?start=2020-01-01&end=2026-11-01&by=day").status_code == 200
    assert client.get("/admin/?start=nonsense&end=&by=year").status_code == 200
    bad = client.get("/admin/dashboard/size.csv?start=2026-11-30&end=2026-11-01&by=day")
    assert bad.status_code == 400
    assert client.get("/admin/dashboard/nothing.csv").status_code == 404


def test_staff_of_one_register_never_see_anothers_numbers(nl, be, data):
    client = staff_client(be, "be.localhost")
    registrations = client.get(f"/admin/dashboard/registrations.csv?{NOVEMBER}")
    assert registrations.content.decode().splitlines()[2] == "2026-11-02,5,0,0,0,0"
    page = client.get(f"/admin/?{NOVEMBER}").content.decode()
    assert "Belco Zuid B.V." not in page and "Still called" not in page
    usage = client.get("/admin/dashboard/usage.csv").content.decode().splitlines()
    assert usage[1:] == []
    # be's staff on nl's host: sent to log in, as for every admin page of a register not theirs.
    be_staff_on_nl = Client(HTTP_HOST="nl.localhost")
    be_staff_on_nl.force_login(get_user_model().objects.get(email="staff-be@example.com"))
    for path in ("/admin/", f"/admin/dashboard/registrations.csv?{NOVEMBER}"):
        assert be_staff_on_nl.get(path).status_code == 302


@pytest.mark.parametrize("path", ["/admin/", "/admin/dashboard/size.csv"])
def test_a_user_who_is_not_staff_cannot_see_the_dashboard(nl, data, path):
    anonymous = Client(HTTP_HOST="nl.localhost")
    assert anonymous.get(path).status_code == 302
    member = Client(HTTP_HOST="nl.localhost")
    member.force_login(UserFactory())
    answer = member.get(path)
    assert answer.status_code in (302, 403)
    assert b"Belco" not in answer.content
