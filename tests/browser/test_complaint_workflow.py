"""A request, a complaint and a dispute through every step of seed 003, in a real browser:
the company user files in the portal, register staff take the steps in the admin, and the
letters reach the outbox while every step shows on the user's case page (issue 6's "done when").

The letters are delivered by their Celery task (`complaints.tasks.letter_deliver`: WeasyPrint
PDF, then the mail), queued after each step's commit as in production. The task runs in the live
server's process rather than in a worker process, because the outbox this test reads
(`django.core.mail.outbox`, the locmem backend of the test settings) exists only in this process.
"""

import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from complaints.models import Case, CaseKind, Letter, Stage
from complaints.tasks import letter_deliver
from licences.models import Role
from register.roles import COMPLAINTS
from tests.browser.conftest import SCREENSHOTS, log_in_to_admin
from tests.factories import CompanyFactory, MembershipFactory, UserFactory, get_register

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

USER_EMAIL = "klachten@energiedirect.example"
STAFF_EMAIL = "servicedesk@infofilter.example"
PASSWORD = "password"  # the factories' password


@pytest.fixture
def letters_delivered_in_process(monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(
        letter_deliver, "delay", lambda letter_id: letter_deliver.apply(args=[letter_id])
    )


@pytest.fixture
def people():
    nl = get_register("nl")
    company = CompanyFactory(register=nl, name="Energie Direct B.V.")
    user = UserFactory(email=USER_EMAIL, first_name="Sanne", last_name="de Vries")
    MembershipFactory(company=company, user=user, role=Role.OWNER)
    staff = UserFactory(email=STAFF_EMAIL, is_staff=True)
    # The complaints desk's role is all the whole workflow needs.
    staff.groups.set(Group.objects.filter(name=COMPLAINTS))
    nl.staff.add(staff)
    return {"user": user, "staff": staff}


def log_in_to_portal(page, base: str) -> None:
    page.goto(f"{base}/account/login/")
    page.get_by_label("E-mail address").fill(USER_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def newest_case(kind: str) -> Case:
    with scopes_disabled():
        return Case.objects.filter(kind=kind).latest("pk")


def file_in_portal(page, shot, name: str, *, subject: str, body: str) -> None:
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Your question, request or motivation").fill(body)
    shot(f"{name}-form")
    page.get_by_role("button", name="Send").click()


def admin_shot(admin, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    admin.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def take_step(admin, base: str, case: Case, step: str, name: str, **fields) -> None:
    """Opens the case in the admin, clicks the step and confirms it with its fields."""
    admin.goto(f"{base}/admin/complaints/case/{case.pk}/change/")
    admin.get_by_role("link", name=step, exact=True).click()
    for label, value in fields.items():
        admin.get_by_label(label).fill(value)
    admin_shot(admin, f"{name}-admin")
    admin.get_by_role("button", name="Confirm").click()
    expect(admin.locator(".messagelist")).to_contain_text(f"{step}: done.")


def timeline(page):
    return page.locator("#case-timeline")


def test_request_complaint_and_dispute_run_to_the_board_s_decision(
    browser, page, site, shot, people, letters_delivered_in_process
):
    nl = site("nl")
    admin = browser.new_context(locale="en-GB", viewport={"width": 1300, "height": 900}).new_page()
    admin.set_default_timeout(20_000)
    log_in_to_admin(admin, nl, STAFF_EMAIL, PASSWORD)

    # The user asks the service desk something, with a document.
    log_in_to_portal(page, nl)
    page.get_by_role("navigation", name="Company menu").get_by_role("link", name="Cases").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    page.get_by_role("link", name="New request, complaint or dispute").click()
    page.get_by_label("A question or request to the service desk").check()
    expect(page.get_by_label("Describe your earlier request or complaint")).to_be_hidden()
    page.get_by_label("Attachments").set_input_files(
        files=[{"name": "gesprek.txt", "mimeType": "text/plain", "buffer": b"Gebeld op 2 mei."}]
    )
    file_in_portal(
        page,
        shot,
        "case-1-request",
        subject="Gebeld ondanks inschrijving",
        body="Een klant zegt dat wij hem belden terwijl hij ingeschreven staat. Klopt dat?",
    )
    request = newest_case(CaseKind.REQUEST)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request {request.pk}")
    expect(page.locator("#case-due")).to_contain_text("Handled by")
    expect(page.locator("#case-attachments")).to_contain_text("gesprek.txt")
    shot("case-2-request-page")

    # The service desk answers; the user is not satisfied and complains to the director.
    take_step(
        admin,
        nl,
        request,
        "Decide",
        "case-3-request-answer",
        Motivation="Het nummer staat sinds 1 maart in het register; u had het niet mogen bellen.",
    )
    page.reload()
    expect(timeline(page)).to_contain_text("Decided")
    expect(page.locator("#case-letters")).to_contain_text("PDF")
    page.get_by_role("link", name="Not satisfied? File a complaint").click()
    expect(
        page.get_by_label("A complaint to the director about how a request was handled")
    ).to_be_checked()
    file_in_portal(
        page,
        shot,
        "case-4-complaint",
        subject="Antwoord klopt niet",
        body="Het nummer is pas op 3 maart ingeschreven: wij belden op 2 maart. Graag herzien.",
    )
    complaint = newest_case(CaseKind.COMPLAINT)
    assert complaint.refers_to_id == request.pk
    expect(page.locator("#case-due")).to_contain_text("Acknowledged by")
    expect(page.locator("#case-due")).to_contain_text("Decision by")
    shot("case-5-complaint-page")

    # The director acknowledges and decides; the user disputes the decision before the board.
    take_step(admin, nl, complaint, "Acknowledge", "case-6-complaint-acknowledge")
    take_step(
        admin,
        nl,
        complaint,
        "Decide",
        "case-7-complaint-decide",
        Motivation="De registratie van 1 maart staat in de historie van het register.",
    )
    page.reload()
    page.get_by_role("link", name="Not satisfied? Bring a dispute").click()
    file_in_portal(
        page,
        shot,
        "case-8-dispute",
        subject="Geschil over de beslissing",
        body="De historie toont 3 maart. Wij vragen het bestuur te beslissen.",
    )
    dispute = newest_case(CaseKind.DISPUTE)
    assert dispute.refers_to_id == complaint.pk

    # The board's steps, to its decision.
    take_step(admin, nl, dispute, "Acknowledge", "case-9-dispute-acknowledge")
    take_step(admin, nl, dispute, "Inform the director", "case-10-inform-director")
    take_step(
        admin,
        nl,
        dispute,
        "Record the director's position",
        "case-11-record-position",
        **{"The director's position": "De inschrijving dateert van 1 maart, zie bijlage."},
    )
    take_step(admin, nl, dispute, "Send the position to the user", "case-12-send-position")
    take_step(
        admin,
        nl,
        dispute,
        "Record the user's reaction",
        "case-13-record-reaction",
        **{"The user's reaction": "Wij houden vast aan 3 maart."},
    )
    take_step(
        admin,
        nl,
        dispute,
        "Board decides",
        "case-14-board-decides",
        Motivation="Het register toont 1 maart; de klacht is ongegrond.",
    )
    admin.goto(f"{nl}/admin/complaints/case/{dispute.pk}/change/")
    admin_shot(admin, "case-15-admin-dispute-decided")

    # Every step is on the user's case page, with its letters.
    page.goto(f"{nl}/cases/{dispute.pk}/")
    expect(page.locator("#case-stage")).to_have_text("Decided")
    for step in (
        "Filed",
        "Acknowledged",
        "Director informed",
        "Director's position recorded",
        "Position sent to the user",
        "User's reaction recorded",
        "Board decided",
        "Letter sent",
    ):
        expect(timeline(page)).to_contain_text(step)
    shot("case-16-dispute-page")
    page.goto(f"{nl}/cases/")
    shot("case-17-list")

    with scopes_disabled():
        letters = list(Letter.objects.order_by("pk").values_list("case_id", "kind", "recipient"))
        assert Case.objects.get(pk=dispute.pk).stage == Stage.DECIDED
    assert letters == [
        (request.pk, "answer", USER_EMAIL),
        (complaint.pk, "acknowledgement", USER_EMAIL),
        (complaint.pk, "decision", USER_EMAIL),
        (dispute.pk, "acknowledgement", USER_EMAIL),
        (dispute.pk, "position", USER_EMAIL),
        (dispute.pk, "board_decision", USER_EMAIL),
    ]
    sent = [message for message in mail.outbox if message.to == [USER_EMAIL]]
    assert len(sent) == len(letters)
    assert all(
        len(message.attachments) == 1 and message.attachments[0][2] == "application/pdf"
        for message in sent
    )
    assert "Het register toont 1 maart" in sent[-1].body


def test_a_consumer_files_a_request_and_follows_it_by_the_mailed_link(
    page, site, shot, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    nl = site("nl")
    page.goto(f"{nl}/cases/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("A question, complaint or dispute")
    page.get_by_label("A question or request to the service desk").check()
    page.get_by_label("Subject").fill("Nog steeds gebeld")
    page.get_by_label("Your question, request or motivation").fill(
        "Mijn nummer staat sinds januari in het register, toch belt een energiebedrijf mij."
    )
    page.get_by_label("Your name").fill("J. Jansen")
    page.get_by_label("Your e-mail address").fill("j.jansen@example.nl")
    shot("case-public-1-form")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("We have received it")
    case = newest_case(CaseKind.REQUEST)
    expect(page.locator("#case-reference")).to_have_text(str(case.pk))
    shot("case-public-2-filed")

    link = re.search(r"http://\S+/cases/follow/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Your case {case.pk}")
    expect(page.locator("#case-due")).to_contain_text("Handled by")
    expect(page.locator("#case-timeline")).to_contain_text("Filed")
    shot("case-public-3-follow")
