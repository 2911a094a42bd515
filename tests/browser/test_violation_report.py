"""A violation report in a real browser (issue #14's "done when"): a company scrubs a file with
the consumer's number (marked by a real Celery worker); the consumer, called anyway, files a
report; the complaints desk opens it, sees the scrub that covered the number on the day of the
call, and downloads the regulator's export of the period."""

import csv
import io
import time

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from campaigns.marking.services import call_file_upload
from campaigns.models import CallFile, CallFileStatus
from complaints.models import ViolationReport
from register.roles import COMPLAINTS
from tests.browser.conftest import SCREENSHOTS, log_in_to_admin
from tests.factories import (
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    UserFactory,
    get_register,
)

pytestmark = [
    pytest.mark.browser,
    # The live server and the worker see only committed rows; restore the seeded registers.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

STAFF_EMAIL = "meldingen@infofilter.example"
PASSWORD = "password"  # the factories' password


@pytest.fixture
def scrubbed(stored_files, celery_worker_process):
    """Zonnig Energie B.V. scrubbed a file holding 06 12345678; the worker marked it."""
    nl = get_register("nl")
    company = CompanyFactory(register=nl, name="Zonnig Energie B.V.")
    campaign = CampaignFactory(company=company, name="Zonnepanelen")
    CreditAccountFactory(campaign=campaign, balance=100)
    with scope(register=nl):
        call_file = call_file_upload(
            company=company,
            campaign=campaign,
            uploaded_by=None,
            upload=ContentFile(b"naam;telefoon\nJan;06 12345678\nPiet;0201234567\n"),
            filename="bellijst.csv",
            confirm=True,
        )
    deadline = time.monotonic() + 60
    with scopes_disabled():
        while CallFile.objects.get(pk=call_file.pk).status != CallFileStatus.DONE:
            assert time.monotonic() < deadline, "the worker did not mark the file"
            time.sleep(0.25)
    return call_file


@pytest.fixture
def desk():
    nl = get_register("nl")
    staff = UserFactory(email=STAFF_EMAIL, is_staff=True)
    staff.groups.set(Group.objects.filter(name=COMPLAINTS))
    nl.staff.add(staff)
    return staff


def test_consumer_reports_a_call_and_staff_see_the_company_s_scrub_and_export_it(
    browser, page, site, shot, scrubbed, desk
):
    nl = site("nl")
    nl_register = get_register("nl")
    today = nl_register.today()

    # The consumer, from the footer of any page.
    page.goto(f"{nl}/check/")
    page.get_by_role("link", name="Called despite your registration?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "I was called despite my registration"
    )
    page.get_by_label("Your number that was called").fill("06-12345678")
    page.get_by_label("Date of the call").fill(today.isoformat())
    page.get_by_label("Time of the call").fill("00:01")
    page.get_by_label("The company the caller named").fill("Zonnig Energie B.V.")
    page.get_by_label("The caller's name").fill("Kees")
    page.get_by_label("What was offered").fill("Zonnepanelen")
    page.get_by_label("Your name").fill("Jan Jansen")
    page.get_by_label("Your e-mail address").fill("jan@example.com")
    shot("violation-report-form")
    page.get_by_role("button", name="Send the report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("We have received it")
    with scopes_disabled():
        report = ViolationReport.objects.get()
    expect(page.locator("#case-reference")).to_have_text(str(report.case_id))
    shot("violation-report-filed")

    # The complaints desk opens it in its own list and sees the evidence.
    admin = browser.new_context(locale="en-GB", viewport={"width": 1300, "height": 900}).new_page()
    admin.set_default_timeout(20_000)
    log_in_to_admin(admin, nl, STAFF_EMAIL, PASSWORD)
    admin.goto(f"{nl}/admin/complaints/violationreport/")
    expect(admin.locator("#result_list")).to_contain_text("Zonnig Energie B.V.")
    admin.locator("#result_list tbody tr th a").first.click()
    expect(admin.locator(".field-evidence")).to_contain_text("Scrubbed a file")
    expect(admin.locator(".field-evidence")).to_contain_text("bellijst.csv")
    expect(admin.locator(".field-reports_against_company")).to_contain_text("1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin.screenshot(path=SCREENSHOTS / "violation-report-admin.png", full_page=True)

    # The regulator's export of the period.
    admin.goto(f"{nl}/admin/complaints/violationreport/")
    admin.get_by_role("link", name="Export for the regulator").click()
    admin.get_by_label("Calls from").fill(today.isoformat())
    admin.get_by_label("up to and including").fill(today.isoformat())
    with admin.expect_download() as download_info:
        admin.get_by_role("button", name="Download CSV").click()
    with open(download_info.value.path(), encoding="utf-8-sig") as exported:
        rows = list(csv.DictReader(io.StringIO(exported.read()), delimiter=";"))
    assert [(row["company"], row["evidence_found"]) for row in rows] == [
        ("Zonnig Energie B.V.", "yes")
    ]
    assert f"scrub {scrubbed.pk}" in rows[0]["evidence"]
