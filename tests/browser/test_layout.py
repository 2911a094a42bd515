"""Company pages on a phone and on a laptop (issue 13): nothing scrolls sideways at 390 px, the
result links show at 1280 px, the company menu fits one line; /verify/ and "For companies" too.
Each page's screenshot is written to the artefacts folder, to be looked at."""

import io

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from campaigns.marking.job import call_file_mark
from campaigns.marking.services import call_file_upload
from licences.models import Role
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    MembershipFactory,
    UserFactory,
    get_register,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

EMAIL = "planning.afdeling.noord@belcentrum-nederland.example"
PASSWORD = "password"  # the factories' password
PHONE, LAPTOP = 390, 1280


@pytest.fixture
def call_file(media_root):
    """A company with long names, a member, an API key and a marked call file.

    Asked for before the browser starts: pyHanko signs the certificate through asyncio.run,
    which Playwright's running event loop in this thread would refuse."""
    nl = get_register("nl")
    company = CompanyFactory(register=nl, name="Belcentrum Nederland Klantcontact B.V.")
    owner = UserFactory(email=EMAIL)
    MembershipFactory(company=company, user=owner, role=Role.OWNER)
    MembershipFactory(company=company, user=UserFactory(email="collega.met.een.lang.adres@x.nl"))
    ApiKeyFactory(company=company, name="CRM koppeling productieomgeving")
    campaign = CampaignFactory(company=company, name="Zomeractie energiecontracten 2026")
    CreditAccountFactory(campaign=campaign, balance=1_000)
    with scopes_disabled():
        upload = call_file_upload(
            company=company,
            campaign=campaign,
            uploaded_by=owner,
            upload=io.BytesIO(b"naam;telefoon\nJansen;0612345678\nBakker;12\n"),
            filename="bellijst-zomeractie-energiecontracten-noord-holland-2026.csv",
            confirm=True,
        )
        call_file_mark(call_file_id=upload.pk)
        upload.refresh_from_db()
    return upload


def company_pages(call_file) -> dict[str, str]:
    campaign = call_file.campaign_id
    return {
        "company": reverse("licences:company"),
        "members": reverse("licences:members"),
        "licences": reverse("licences:licences"),
        "api-keys": reverse("licences:api_keys"),
        "invoices": reverse("billing:invoices"),
        "shop": reverse("billing:shop"),
        "campaigns": reverse("campaigns:list"),
        "campaign": reverse("campaigns:detail", args=[campaign]),
        "call-file": reverse("call_files:detail", args=[call_file.pk]),
        "call-file-new": reverse("call_files:new", args=[campaign]),
        "number-search": reverse("campaigns:number_search"),
        "opt-outs": reverse("campaigns:opt_outs"),
        "downloads": reverse("downloads:list"),
        "registrations": reverse("uploads:list"),
        "cases": reverse("complaints:list"),
        "history": reverse("history:list"),
    }


def overflow(page) -> int:
    """How far the page is wider than the window: 0 when nothing scrolls sideways."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_company_pages_do_not_scroll_sideways(call_file, page, site, shot, width):
    nl = site("nl")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{nl}/account/login/")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{nl}{reverse('licences:company')}")

    too_wide = {}
    for name, path in company_pages(call_file).items():
        page.goto(f"{nl}{path}")
        shot(f"layout-{width}-{name}")
        if overflow(page) > 0:
            too_wide[name] = overflow(page)
    assert too_wide == {}

    page.goto(f"{nl}{reverse('campaigns:detail', args=[call_file.campaign_id])}")
    if width == LAPTOP:
        # The menu is one line, and the marked file's links are in sight without scrolling.
        tops = page.locator(".portal-nav > ul:first-child > li").evaluate_all(
            "items => new Set(items.map(item => item.getBoundingClientRect().top)).size"
        )
        assert tops == 1
        for name in ("Result", "Certificate"):
            box = page.get_by_role("link", name=name, exact=True).bounding_box()
            assert box is not None and box["x"] + box["width"] <= width
    # The SHA-256 on the call file's page wraps inside the window.
    page.goto(f"{nl}{reverse('call_files:detail', args=[call_file.pk])}")
    box = page.get_by_text(call_file.sha256[:16]).bounding_box()
    assert box["x"] + box["width"] <= width


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_public_pages_for_companies_do_not_scroll_sideways(call_file, page, site, shot, width):
    nl = site("nl")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{nl}/")
    page.get_by_role("link", name="For companies").click()
    # What a company buys and must do, before anyone asks it to log in.
    for heading in ("How scrubbing works", "Your obligations", "Licences and prices"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("link", name="Log in", exact=True)).to_be_visible()
    shot(f"layout-{width}-for-companies")
    assert overflow(page) == 0

    page.goto(f"{nl}/verify/?reference={call_file.certificate_reference}&sha256={call_file.sha256}")
    expect(
        page.get_by_role("heading", name="Bel-me-niet Register issued this certificate")
    ).to_be_visible()
    shot(f"layout-{width}-verify")
    assert overflow(page) == 0
