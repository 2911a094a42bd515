"""Filing and following requests, complaints and disputes in the browser (SPEC §14, seed 003):
the consumer's public form and mailed link, and the company portal's cases."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format
from django_scopes import scopes_disabled

from complaints.models import Case, CaseAttachment, CaseChannel, CaseKind, Letter, LetterKind
from complaints.services import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, case_file
from licences.models import Role
from tests.factories import CompanyFactory, MembershipFactory, UserFactory, get_register

pytestmark = pytest.mark.django_db

NL_HOST = "nl.localhost"
CONSUMER = "j.jansen@example.nl"


@pytest.fixture(autouse=True)
def _media_and_limits(media_root, fresh_rate_limits):
    """Attachments in a temporary folder; no rate limit used."""


def browser(user=None, host: str = NL_HOST) -> Client:
    client = Client(HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


def stored(**filters) -> int:
    with scopes_disabled():
        return Case.objects.filter(**filters).count()


def earlier_request(*, days_ago: int, email: str = CONSUMER, company=None, user=None) -> Case:
    """A request received by post `days_ago` days ago, so its 5-working-day term has passed."""
    with scopes_disabled():
        return case_file(
            register=company.register if company else get_register("nl"),
            kind=CaseKind.REQUEST,
            subject="Nog steeds gebeld",
            body="Ik sta ingeschreven en word toch gebeld.",
            filer_email=email,
            filer_name="J. Jansen",
            company=company,
            user=user,
            channel=CaseChannel.POST,
            received_at=timezone.now() - timedelta(days=days_ago),
        )


def public_form(**overrides) -> dict:
    return {
        "kind": "request",
        "subject": "Ik word nog gebeld",
        "body": "Mijn nummer staat in het register, toch belt Energie B.V. mij.",
        "name": "J. Jansen",
        "email": CONSUMER,
        **overrides,
    }


def follow_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/cases/follow/\S+/)", message.body).group(1)


# The public form ----------------------------------------------------------------------------


def file_publicly(capture, **overrides):
    """Posts the public form; the follow-link mail goes out after commit, as in production."""
    with capture(execute=True):
        return browser().post("/cases/new/", public_form(**overrides))


def test_a_consumer_files_a_request_gets_its_reference_and_a_mail_with_the_follow_link(
    django_capture_on_commit_callbacks,
):
    response = file_publicly(django_capture_on_commit_callbacks)

    assert response.status_code == 200
    with scopes_disabled():
        case = Case.objects.get()
    assert (case.kind, case.channel, case.filer_email) == ("request", "public", CONSUMER)
    assert case.company is None
    assert f'id="case-reference">{case.pk}<' in response.content.decode()
    to_consumer = [m for m in mail.outbox if m.to == [CONSUMER]]
    assert any("/cases/follow/" in m.body for m in to_consumer)

    page = browser().get(follow_link(next(m for m in to_consumer if "/cases/follow/" in m.body)))
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0")
    text = page.content.decode()
    assert f"Your case {case.pk}" in text
    assert 'id="case-stage">Received<' in text
    assert "Handled by" in text
    assert "suspends none of your obligations" in text


def test_a_consumer_may_leave_a_telephone_number_to_be_called_back_on(
    django_capture_on_commit_callbacks,
):
    file_publicly(django_capture_on_commit_callbacks, phone="06-12345678")

    with scopes_disabled():
        case = Case.objects.get()
    assert case.filer_phone.as_e164 == "+31612345678"
    form = browser().get("/cases/new/").content.decode()
    assert 'name="phone"' in form and 'type="tel"' in form and 'autocomplete="tel"' in form


def too_long(length: int) -> str:
    return "x" * (length + 1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "", "This field is required."),
        ("kind", "appeal", "Select a valid choice."),
        ("subject", "", "This field is required."),
        ("subject", too_long(200), "at most 200 characters"),
        ("body", "", "This field is required."),
        ("body", too_long(20000), "at most 20000 characters"),
        ("name", "", "This field is required."),
        ("email", "", "This field is required."),
        ("email", "j.jansen@", "Enter a valid email address."),
        ("late_reason", too_long(2000), "at most 2000 characters"),
        ("phone", "06 1234 56789", "has one digit too many for a telephone number"),
        ("phone", "bel me", "“bel me” is not a valid telephone number."),
    ],
)
def test_each_bad_field_of_the_public_form_is_named_and_nothing_is_stored(field, value, message):
    response = browser().post("/cases/new/", public_form(**{field: value}))

    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert "Please correct the following" in response.content.decode()
    assert stored() == 0
    assert mail.outbox == []


def test_a_complaint_without_an_earlier_case_or_its_description_is_refused():
    response = browser().post("/cases/new/", public_form(kind="complaint"))

    assert (
        "give its reference number or describe it" in response.context["form"].errors["earlier"][0]
    )
    assert stored() == 0


def test_a_request_refers_to_no_earlier_case():
    earlier = earlier_request(days_ago=20)
    response = browser().post("/cases/new/", public_form(refers_to=str(earlier.pk)))

    assert "A request stands on its own" in response.context["form"].errors["refers_to"][0]
    assert stored(channel=CaseChannel.PUBLIC) == 0


@pytest.mark.parametrize(
    ("reference", "email"),
    [("999999", CONSUMER), ("{number}", "someone.else@example.nl"), ("twelve", CONSUMER)],
)
def test_a_reference_counts_only_with_the_address_it_was_filed_from(reference, email):
    earlier = earlier_request(days_ago=20)
    response = browser().post(
        "/cases/new/",
        public_form(kind="complaint", refers_to=reference.format(number=earlier.pk), email=email),
    )

    assert "We know no case with this number" in response.context["form"].errors["refers_to"][0]
    assert stored(channel=CaseChannel.PUBLIC) == 0


def test_a_complaint_before_the_request_s_term_shows_the_date_from_which_it_is_allowed():
    earlier = earlier_request(days_ago=0)
    response = browser().post(
        "/cases/new/", public_form(kind="complaint", refers_to=str(earlier.pk))
    )

    assert response.status_code == 200
    with scopes_disabled():
        allowed_from = Case.objects.get(pk=earlier.pk).handle_by + timedelta(days=1)
    assert response.context["form"].non_field_errors() == [
        "A complaint about this request may be filed from "
        f"{date_format(allowed_from)}: once the request is answered or its term of 5 working "
        "days has passed (art. 2.2)."
    ]
    assert stored(channel=CaseChannel.PUBLIC) == 0


def test_a_complaint_by_reference_after_the_request_s_term_is_filed_against_it():
    earlier = earlier_request(days_ago=20)
    response = browser().post(
        "/cases/new/",
        public_form(kind="complaint", refers_to=f"#{earlier.pk}", body="Geen antwoord."),
    )

    assert response.status_code == 200
    with scopes_disabled():
        complaint = Case.objects.get(channel=CaseChannel.PUBLIC)
        assert (complaint.kind, complaint.refers_to_id) == ("complaint", earlier.pk)


def test_a_complaint_described_without_reference_carries_the_description_in_writing():
    browser().post(
        "/cases/new/",
        public_form(kind="complaint", earlier="Op 3 maart gebeld met de servicedesk."),
    )

    with scopes_disabled():
        complaint = Case.objects.get(channel=CaseChannel.PUBLIC)
    assert complaint.refers_to is None
    assert "Op 3 maart gebeld met de servicedesk." in complaint.body
    assert "Energie B.V." in complaint.body


def test_a_late_complaint_asks_once_why_it_comes_late_and_then_is_filed_as_late():
    earlier = earlier_request(days_ago=120)
    form = public_form(kind="complaint", refers_to=str(earlier.pk))
    client = browser()

    asked = client.post("/cases/new/", form)
    assert "The term for this ended on" in asked.context["form"].errors["late_reason"][0]
    assert 'name="late_seen"' in asked.content.decode()
    assert stored(channel=CaseChannel.PUBLIC) == 0

    client.post("/cases/new/", {**form, "late_reason": "Ik lag vier maanden in het ziekenhuis."})
    with scopes_disabled():
        complaint = Case.objects.get(channel=CaseChannel.PUBLIC)
    assert (complaint.admissibility, complaint.late_reason) == (
        "late",
        "Ik lag vier maanden in het ziekenhuis.",
    )


def test_a_late_complaint_can_be_sent_as_it_is_once_asked():
    earlier = earlier_request(days_ago=120)
    browser().post(
        "/cases/new/", public_form(kind="complaint", refers_to=str(earlier.pk), late_seen="1")
    )

    with scopes_disabled():
        complaint = Case.objects.get(channel=CaseChannel.PUBLIC)
    assert (complaint.admissibility, complaint.late_reason) == ("late", "")


def test_the_public_form_is_rate_limited_per_client(settings):
    settings.COMPLAINTS_PUBLIC_RATE = "2/h"
    client = browser()
    for _ in range(2):
        assert client.post("/cases/new/", public_form()).status_code == 200

    assert client.post("/cases/new/", public_form()).status_code == 429
    assert stored() == 2


def test_an_unknown_follow_link_is_a_404():
    earlier_request(days_ago=0)
    assert browser().get("/cases/follow/not-a-token/").status_code == 404


def pdf_file(name: str = "brief.pdf", size: int = 1000) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n" + b"0" * (size - 9), "application/pdf")


def test_attachments_are_stored_and_downloaded_as_attachments_through_the_follow_link(
    django_capture_on_commit_callbacks,
):
    html = SimpleUploadedFile("bewijs.html", b"<script>alert(1)</script>", "text/html")
    file_publicly(django_capture_on_commit_callbacks, attachments=[pdf_file(), html])
    token_link = follow_link(next(m for m in mail.outbox if "/cases/follow/" in m.body))

    with scopes_disabled():
        case = Case.objects.get()
        attachments = {a.name: a for a in CaseAttachment.objects.filter(case=case)}
    assert set(attachments) == {"brief.pdf", "bewijs.html"}
    page = browser().get(token_link).content.decode()
    url = f"{token_link}attachments/{attachments['bewijs.html'].pk}/"
    assert url in page

    response = browser().get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"


def test_another_case_s_attachment_is_not_reachable_through_a_follow_link(
    django_capture_on_commit_callbacks,
):
    file_publicly(django_capture_on_commit_callbacks, attachments=[pdf_file()])
    file_publicly(django_capture_on_commit_callbacks, email="other@example.nl")
    with scopes_disabled():
        attachment = CaseAttachment.objects.get()
    other_link = follow_link(next(m for m in mail.outbox if m.to == ["other@example.nl"]))

    assert browser().get(f"{other_link}attachments/{attachment.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([pdf_file(size=MAX_ATTACHMENT_BYTES + 1)], "is larger than"),
        (
            [pdf_file(f"{n}.pdf") for n in range(MAX_ATTACHMENTS + 1)],
            "At most 10 attachments per case.",
        ),
        ([SimpleUploadedFile("leeg.pdf", b"")], "The submitted file is empty."),
    ],
    ids=["too-large", "too-many", "empty"],
)
def test_attachments_beyond_the_limits_are_refused_and_nothing_is_stored(files, message):
    response = browser().post("/cases/new/", public_form(attachments=files))

    assert message in response.context["form"].errors["attachments"][0]
    assert stored() == 0
    with scopes_disabled():
        assert CaseAttachment.objects.count() == 0


# The company portal ---------------------------------------------------------------------------


@pytest.fixture
def company():
    return CompanyFactory(register=get_register("nl"), name="Energie B.V.")


def member_of(company, role=Role.MEMBER):
    user = UserFactory()
    MembershipFactory(company=company, user=user, role=role)
    return user


def test_a_company_user_files_a_request_and_sees_it_with_its_due_date(company):
    user = member_of(company)
    client = browser(user)

    response = client.post(
        "/cases/file/",
        {"kind": "request", "subject": "Factuur klopt niet", "body": "Het btw-bedrag is fout."},
    )

    with scopes_disabled():
        case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    assert (case.company, case.user, case.filer_email, case.channel) == (
        company,
        user,
        user.email,
        "portal",
    )
    listing = client.get("/cases/").content.decode()
    assert f"/cases/{case.pk}/" in listing and "Handled by" in listing
    detail = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Factuur klopt niet" in detail and "Handled by" in detail


def test_the_portal_form_offers_the_company_s_telephone_to_be_called_back_on(company):
    company.phone = "+31201234567"
    company.save(update_fields=["phone"])
    client = browser(member_of(company))

    assert 'value="+31 20 123 4567"' in client.get("/cases/file/").content.decode()
    client.post(
        "/cases/file/",
        {"kind": "request", "subject": "Bel mij", "body": "Graag.", "phone": "+32 470 12 34 56"},
    )
    with scopes_disabled():
        assert Case.objects.get().filer_phone.as_e164 == "+32470123456"


def test_the_portal_form_names_a_bad_field_and_stores_nothing(company):
    response = browser(member_of(company)).post(
        "/cases/file/", {"kind": "request", "subject": "", "body": "x"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["subject"] == ["This field is required."]
    assert stored() == 0


def test_the_portal_offers_only_the_company_s_own_cases_to_complain_about(company):
    user = member_of(company)
    own = earlier_request(days_ago=20, company=company, user=user)
    theirs = earlier_request(days_ago=20, company=CompanyFactory(register=company.register))
    client = browser(user)

    refused = client.post(
        "/cases/file/",
        {"kind": "complaint", "refers_to": theirs.pk, "subject": "Klacht", "body": "Traag."},
    )
    assert "Select a valid choice" in refused.context["form"].errors["refers_to"][0]
    accepted = client.post(
        "/cases/file/",
        {"kind": "complaint", "refers_to": own.pk, "subject": "Klacht", "body": "Traag."},
    )
    assert accepted.status_code == 302
    with scopes_disabled():
        assert Case.objects.get(kind=CaseKind.COMPLAINT).refers_to == own


def test_a_portal_complaint_too_early_says_from_when_it_is_allowed(company):
    user = member_of(company)
    own = earlier_request(days_ago=0, company=company, user=user)

    response = browser(user).post(
        "/cases/file/",
        {"kind": "complaint", "refers_to": own.pk, "subject": "Klacht", "body": "Traag."},
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert stored(kind=CaseKind.COMPLAINT) == 0


def test_another_company_s_case_and_its_files_are_404(company):
    other = CompanyFactory(register=company.register)
    with scopes_disabled():
        theirs = case_file(
            register=other.register,
            kind=CaseKind.REQUEST,
            subject="Geheim",
            body="Alleen voor ons.",
            filer_email="b@example.nl",
            company=other,
            channel=CaseChannel.PORTAL,
            attachments=[ContentFile(b"geheim", name="geheim.txt")],
        )
        attachment = CaseAttachment.objects.get(case=theirs)
    client = browser(member_of(company))

    assert client.get(f"/cases/{theirs.pk}/").status_code == 404
    assert client.get(f"/cases/{theirs.pk}/attachments/{attachment.pk}/").status_code == 404
    assert f"/cases/{theirs.pk}/" not in client.get("/cases/").content.decode()


def test_the_accounting_role_sees_no_cases(company):
    client = browser(member_of(company, Role.ACCOUNTING))
    assert client.get("/cases/").status_code == 404
    assert client.get("/cases/file/").status_code == 404


def test_a_company_user_downloads_the_case_s_sent_letters_as_pdf_attachments(company):
    user = member_of(company)
    case = earlier_request(days_ago=3, company=company, user=user)
    with scopes_disabled():
        # A letter as the delivery task leaves it: rendered and sent (tested in services).
        letter = Letter.objects.create(
            register=case.register,
            case=case,
            kind=LetterKind.ANSWER,
            language="nl",
            recipient=user.email,
            subject="Antwoord op uw verzoek",
            body="Wij hebben uw verzoek afgehandeld.",
            sent_at=timezone.now(),
        )
        letter.pdf.save("letter.pdf", ContentFile(b"%PDF-1.4\nletter"), save=True)
    client = browser(user)

    assert (
        f"/cases/{case.pk}/letters/{letter.pk}/"
        in client.get(f"/cases/{case.pk}/").content.decode()
    )
    response = client.get(f"/cases/{case.pk}/letters/{letter.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == b"%PDF-1.4\nletter"
    other = browser(member_of(CompanyFactory(register=company.register)))
    assert other.get(f"/cases/{case.pk}/letters/{letter.pk}/").status_code == 404
