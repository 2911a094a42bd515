"""The demo staff login of nl, as `make run` makes it, does the service desk's and the complaints
desk's work in the admin, and reaches nothing of be's and no list of the system's users
(SPEC §1, §3, §14)."""

import io
import re

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from campaigns.management.commands.load_demo_data import STAFF_NL
from complaints.models import Case, CaseKind
from complaints.services import case_file
from register.models import BlockedNumber
from register.phone import format_international
from tests.browser.conftest import log_in_to_admin
from tests.factories import get_register

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def a_case_in(slug: str, subject: str) -> Case:
    register = get_register(slug)
    with scope(register=register):
        return case_file(
            register=register,
            kind=CaseKind.REQUEST,
            subject=subject,
            body="I am still being called.",
            filer_email="jan@example.com",
            channel="portal",
            language="en",
        )


@pytest.fixture
def demo(monkeypatch):
    """The demo data of `make run`, and a request filed in each register."""
    monkeypatch.setattr("complaints.tasks.letter_deliver.delay", lambda letter_id: None)
    call_command("load_demo_data", stdout=io.StringIO())
    with scopes_disabled():
        numbers = {
            slug: BlockedNumber.objects.filter(register__slug=slug).order_by("number").first()
            for slug in ("nl", "be")
        }
    return {
        "numbers": numbers,
        "cases": {"nl": a_case_in("nl", "Called at dinner"), "be": a_case_in("be", "Appelé")},
    }


def test_the_demo_staff_of_nl_finds_cases_and_numbers_and_nothing_of_be(page, site, shot, demo):
    nl, be = site("nl"), site("be")
    username, password = STAFF_NL

    log_in_to_admin(page, nl, username, password)
    expect(page.get_by_role("link", name="Cases", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Blocked numbers")).to_be_visible()
    expect(page.get_by_text("You don’t have permission")).to_have_count(0)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    shot("staff-1-index")

    # The complaints desk: find the case by its subject and open it.
    page.get_by_role("link", name="Cases", exact=True).click()
    page.locator("#searchbar").fill("dinner")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=str(demo["cases"]["nl"].pk), exact=True).click()
    expect(page.get_by_text("Called at dinner").first).to_be_visible()
    expect(page.get_by_role("link", name="Decide", exact=True)).to_be_visible()
    shot("staff-2-case")

    # The service desk: a number written the way a consumer says it on the phone.
    number = demo["numbers"]["nl"]
    international = format_international(number.number)
    spoken = "0" + str(number.number)[2:]
    page.goto(f"{nl}/admin/")
    page.get_by_role("link", name="Blocked numbers").click()
    page.locator("#searchbar").fill(spoken)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=international)).to_be_visible()
    expect(page.get_by_role("option", name=re.compile("Unblock"))).to_have_count(1)
    shot("staff-3-number")

    # Nothing of be's: its objects through nl's admin are not found ...
    for path in (
        f"/admin/complaints/case/{demo['cases']['be'].pk}/change/",
        f"/admin/register/blockednumber/{demo['numbers']['be'].pk}/change/",
    ):
        assert page.goto(f"{nl}{path}").status == 404
    # ... nor is the system's user list open ...
    assert page.goto(f"{nl}/admin/auth/user/").status == 403
    # ... and be's admin refuses the nl login once it has logged in there.
    log_in_to_admin(page, be, username, password)
    expect(page.get_by_role("heading", name="403 Forbidden")).to_be_visible()
    expect(page.get_by_role("link", name="Cases", exact=True)).to_have_count(0)
    shot("staff-4-be-refused")
