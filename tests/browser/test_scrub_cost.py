"""The monthly scrubber in a real browser (issue #13 items 1, 2, 4): upload a messy file, read
the counts and the cost before marking, mark it, watch the progress page reach 100% without
reloading (a real Celery worker marks), and download the result with a reason on every row.
Screenshots of each page at 390 and 1280 px go to the screenshot folder."""

import datetime
import re

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from licences.models import Role
from register.models import BlockedNumber, Channel
from tests.factories import (
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    MembershipFactory,
    UserFactory,
    get_register,
)

pytestmark = [
    pytest.mark.browser,
    # The live server and the worker see only committed rows; restore the seeded registers.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EMAIL = "scrub@maandelijks.example"
PASSWORD = "password"  # the factories' password
# Enough clean records after the messy ones for the worker to report progress on the way.
CLEAN = 150_000
MESSY = [
    "naam;telefoon",
    "Jansen;06 10000000",  # line 2: registered for every category
    "",  # line 3: blank
    "De Vries;hallo",  # line 4: invalid
    "Bakker;0800 0123456",  # line 5: service number
    "Dupont;+32 470 12 34 56",  # line 6: foreign
    "Jansen again;0031610000000",  # line 7: repeat of line 2
    "Peters;06 10000001",  # line 8: registered for charity only
    " ; ",  # line 9: blank
]
RECORDS = len(MESSY) - 3 + CLEAN
BALANCE = 200_000
WIDTHS = (390, 1280)


def call_file_content() -> bytes:
    lines = [*MESSY, *(f"Klant {n};062{n:07d}" for n in range(CLEAN))]
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture
def campaign():
    nl = get_register("nl")
    company = CompanyFactory(register=nl, name="Maandelijks Schonen B.V.")
    MembershipFactory(company=company, user=UserFactory(email=EMAIL), role=Role.OWNER)
    campaign = CampaignFactory(company=company, name="Decemberactie")
    CreditAccountFactory(campaign=campaign, balance=BALANCE)
    with scopes_disabled():
        for number, categories in ((31610000000, 7), (31610000001, 4)):
            BlockedNumber.objects.create(
                register=nl,
                number=number,
                categories=categories,
                registered_on=datetime.date(2024, 5, 1),
                channel=Channel.WEB,
            )
    return campaign


def shots(page, shot, name: str) -> None:
    """The page at a phone's and a laptop's width, full length; back to 1280 after."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shot(f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def open_the_upload_page(page, host: str, campaign) -> None:
    """Logged in as the campaign's owner, at 1280 px."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{host}/account/login/")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{host}{reverse('call_files:new', args=[campaign.pk])}")


def test_read_the_cost_mark_and_watch_the_progress_without_reloading(
    page, site, shot, campaign, stored_files, celery_worker_process
):
    open_the_upload_page(page, site("nl"), campaign)

    # The layout of the marked file, with a reason for every row.
    expect(page.locator("#marked-example")).to_contain_text("REGISTERED_OTHER_CATEGORIES")
    expect(page.locator("#marked-example")).to_contain_text("SERVICE_NUMBER")
    shots(page, shot, "scrub-upload")
    page.get_by_label("Call file").set_input_files(
        {"name": "december.csv", "mimeType": "text/csv", "buffer": call_file_content()}
    )
    page.get_by_role("button", name="Upload and check").click()

    # Before paying: the whole file counted and priced, the problem rows by line.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check how the file is read")
    expect(page.locator("#count-records")).to_have_text(f"{RECORDS:,}")
    expect(page.locator("#count-blank")).to_have_text("2")
    expect(page.locator("#count-invalid")).to_have_text("1")
    expect(page.locator("#count-foreign")).to_have_text("1")
    expect(page.locator("#count-service")).to_have_text("1")
    expect(page.locator("#count-duplicates")).to_have_text("1")
    expect(page.locator("#credits-needed")).to_have_text(f"{RECORDS:,}")
    expect(page.locator("#balance-after")).to_have_text(f"{BALANCE - RECORDS:,}")
    problems = page.locator("#problems tbody tr")
    expect(problems).to_have_count(4)
    assert [row.split("\t")[0] for row in problems.all_inner_texts()] == ["4", "5", "6", "7"]
    shots(page, shot, "scrub-preview")

    page.get_by_role("button", name="Mark this file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("december.csv")
    # A mark that a reload would wipe, and every value the bar takes.
    page.evaluate(
        """() => {
            window.notReloaded = true;
            window.barValues = [];
            // The bar of each state the page swaps in, not only the first one.
            new MutationObserver((changes) => changes.forEach((change) => {
                if (change.target.id === "marking-progress") {
                    window.barValues.push(Number(change.target.value));
                }
            })).observe(document.getElementById("call-file"),
                        {attributes: true, attributeFilter: ["value"], subtree: true});
        }"""
    )
    expect(page.locator("#marking-rows")).to_contain_text("rows done", timeout=60_000)
    shots(page, shot, "scrub-marking")
    expect(page.locator("#outcome")).to_contain_text("Marked.", timeout=120_000)
    expect(page.get_by_text("The certificate is being made.")).to_have_count(0, timeout=60_000)
    assert page.evaluate("window.notReloaded") is True
    values = page.evaluate("window.barValues")
    assert values[-1] == 100, values
    assert any(0 < value < 100 for value in values), values
    assert values == sorted(values), values
    expect(page.locator("#counts")).to_contain_text(f"{RECORDS:,}")
    shots(page, shot, "scrub-done")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the marked file").click()
    with open(download_info.value.path(), "rb") as marked:
        head = [marked.readline().decode().rstrip("\r\n") for _ in range(9)]
    assert head[0] == "naam;telefoon;dnc_status;dnc_reason;dnc_number;dnc_registered_on"
    assert [re.split(";", line)[2:4] for line in head[1:] if line.strip(" ;")] == [
        ["BLOCKED", "REGISTERED"],
        ["INVALID", "INVALID_NUMBER"],
        ["OUT_OF_SCOPE", "SERVICE_NUMBER"],
        ["OUT_OF_SCOPE", "FOREIGN_NUMBER"],
        ["BLOCKED", "REGISTERED"],
        ["CALLABLE", "REGISTERED_OTHER_CATEGORIES"],
    ]


def test_leave_out_the_repeats_before_marking(page, site, shot, campaign, stored_files):
    open_the_upload_page(page, site("nl"), campaign)
    content = ("\r\n".join([*MESSY, "Peters again;+31 6 10000001"]) + "\r\n").encode()
    page.get_by_label("Call file").set_input_files(
        {"name": "herhaald.csv", "mimeType": "text/csv", "buffer": content}
    )
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("#count-records")).to_have_text("7")
    expect(page.locator("#count-duplicates")).to_have_text("2")

    # The choice sits with the count of repeats, outside the settings' form element.
    choice = page.get_by_label(re.compile(r"^Leave out the 2 later repeats"))
    expect(choice).not_to_be_checked()
    choice.check()
    page.get_by_role("button", name="Show preview").click()

    expect(page.locator("#count-records")).to_have_text("5")
    expect(page.locator("#credits-needed")).to_have_text("5")
    expect(page.locator("#balance-after")).to_have_text(f"{BALANCE - 5:,}")
    expect(choice).to_be_checked()
    shots(page, shot, "scrub-leave-out-repeats")
    page.get_by_role("button", name="Mark this file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("herhaald.csv")
    with scopes_disabled():
        assert campaign.call_files.get().leave_out_duplicates is True
