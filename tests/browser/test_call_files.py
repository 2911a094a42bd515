"""A company user marks a call file in a real browser (SPEC §8, issue 4's "done when"): upload
on a campaign, correct the phone column in the preview, mark it, watch the progress bar reach
done (a real Celery worker does the marking), download the result and the certificate."""

import datetime

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from playwright.sync_api import expect
from pypdf import PdfReader

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

EMAIL = "planning@belcentrum.example"
PASSWORD = "password"  # the factories' password
# Enough records for the worker to report progress on the way.
RECORDS = 300_000


def call_file_content() -> bytes:
    """Name, a landline column named `telefoon` (what detection picks) and the mobiles the user
    wants marked; the first mobile is registered."""
    lines = ["naam;telefoon;mobiel"]
    lines += [f"Klant {n};030{n:07d};061{n:07d}" for n in range(RECORDS)]
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture
def campaign():
    nl = get_register("nl")
    company = CompanyFactory(register=nl, name="Belcentrum B.V.")
    MembershipFactory(company=company, user=UserFactory(email=EMAIL), role=Role.OWNER)
    campaign = CampaignFactory(company=company, name="Zomeractie")
    CreditAccountFactory(campaign=campaign, balance=1_000_000)
    with scopes_disabled():
        BlockedNumber.objects.create(
            register=nl,
            number=31610000000,
            registered_on=datetime.date(2024, 5, 1),
            channel=Channel.WEB,
        )
    return campaign


def test_mark_a_call_file_and_download_result_and_certificate(
    page, site, shot, campaign, stored_files, celery_worker_process
):
    nl = site("nl")
    page.goto(f"{nl}/account/login/")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{nl}{reverse('campaigns:detail', args=[campaign.pk])}")
    expect(page.get_by_text("No call files marked for this campaign yet.")).to_be_visible()

    page.get_by_role("link", name="Mark a call file").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mark a call file")
    expect(page.locator("#licence-note")).to_contain_text(
        "This campaign has 1,000,000 credits; marking costs one credit per record."
    )
    shot("call-file-upload")
    page.get_by_label("Call file").set_input_files(
        {"name": "zomer.csv", "mimeType": "text/csv", "buffer": call_file_content()}
    )
    page.get_by_role("button", name="Upload and check").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check how the file is read")
    phone = page.get_by_label("Telephone number column")
    expect(phone.locator("option:checked")).to_have_text("telefoon (column 2)")
    expect(page.locator("#preview thead .column--phone")).to_contain_text("telefoon")
    shot("call-file-preview")

    phone.select_option(label="mobiel (column 3)")
    page.get_by_role("button", name="Show preview").click()
    expect(page.locator("#preview thead .column--phone")).to_contain_text("mobiel")
    expect(page.locator("#preview tbody tr").first.locator(".column--phone")).to_have_text(
        "0610000000"
    )
    shot("call-file-preview-corrected")

    page.get_by_role("button", name="Mark this file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("zomer.csv")
    shot("call-file-marking")
    # The page asks for the progress and reloads itself when the marking is done.
    expect(page.locator("#outcome")).to_contain_text("Marked.", timeout=90_000)
    expect(page.locator("progress")).to_have_count(0)
    counts = page.locator("#counts")
    expect(counts).to_contain_text("300,000")
    expect(page.get_by_text("The certificate is being made.")).to_have_count(0, timeout=30_000)
    shot("call-file-done")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the marked file").click()
    result = download_info.value
    assert result.suggested_filename == "zomer-marked.csv"
    with open(result.path(), "rb") as marked:
        assert marked.readline() == (
            b"naam;telefoon;mobiel;dnc_status;dnc_reason;dnc_number;dnc_registered_on\r\n"
        )
        assert marked.readline() == (
            b"Klant 0;0300000000;0610000000;BLOCKED;REGISTERED;+31610000000;2024-05-01\r\n"
        )
        assert sum(1 for _ in marked) == RECORDS - 1

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the certificate (PDF)").click()
    certificate = download_info.value
    assert certificate.suggested_filename.endswith(".pdf")
    text = "".join(p.extract_text() for p in PdfReader(certificate.path()).pages)
    assert "zomer.csv" in text
    assert "Belcentrum B.V." in text

    page.get_by_role("link", name="Zomeractie").first.click()
    history = page.locator("#call-files")
    expect(history).to_contain_text("zomer.csv")
    expect(history).to_contain_text("Done")
    shot("call-file-campaign-history")
