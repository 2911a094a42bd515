"""Filing cases (SPEC §14, seed 003): receipt and due dates, when a complaint may be filed,
attachments, the follow link."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from complaints import services
from complaints.models import Admissibility, CaseAttachment, CaseKind, EventAction
from complaints.selectors import case_due, case_for_public_token
from register.errors import DomainError, NotFound
from tests.complaints.services.cases import AMSTERDAM, actions, file_case
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def test_a_request_is_due_in_5_working_days_of_its_real_receipt(nl, scoped, staff):
    received = datetime.datetime(2024, 12, 20, 16, 0, tzinfo=AMSTERDAM)  # a Friday, by post
    case = file_case(nl, channel="post", received_at=received, recorded_by=staff)
    assert case.handle_by == datetime.date(2024, 12, 31)  # art. 2.1, Christmas skipped
    assert (case.next_due, case.next_due_term) == (datetime.date(2024, 12, 31), "handle_by")
    event = case.events.get()
    assert (event.action, event.actor) == (EventAction.RECORDED, staff)
    assert case_due(case=case) == {"handle_by": "2024-12-31"}


def test_post_and_email_need_the_date_of_receipt(nl, scoped):
    with pytest.raises(DomainError) as refused:
        file_case(nl, channel="email")
    assert refused.value.code == "received_at_required"


def test_a_complaint_before_the_request_term_passed_is_too_early(nl, scoped):  # art. 2.2
    request = file_case(nl)
    with pytest.raises(DomainError) as refused:
        file_case(nl, kind=CaseKind.COMPLAINT, refers_to=request)
    assert (refused.value.code, refused.value.status) == ("too_early", 400)
    assert refused.value.allowed_from == request.handle_by + datetime.timedelta(days=1)


def test_a_complaint_after_the_answer_is_allowed_at_once(nl, scoped, staff):  # art. 2.2
    request = file_case(nl)
    services.case_decide(case=request, motivation="Done.", by=staff)
    complaint = file_case(nl, kind=CaseKind.COMPLAINT, refers_to=request)
    assert complaint.admissibility == Admissibility.TIMELY
    assert complaint.acknowledge_by == complaint.received_at.astimezone(
        AMSTERDAM
    ).date() + datetime.timedelta(weeks=1)


def test_a_late_complaint_is_filed_and_can_be_admitted_with_a_reason(nl, scoped, staff):
    request = file_case(
        nl, channel="post", received_at=datetime.datetime(2024, 1, 2, tzinfo=AMSTERDAM)
    )
    complaint = file_case(
        nl, kind=CaseKind.COMPLAINT, refers_to=request, late_reason="I was in hospital."
    )
    assert complaint.admissibility == Admissibility.LATE  # art. 3.1
    assert complaint.file_by == datetime.date(2024, 3, 9)

    services.case_excuse_lateness(case=complaint, reason="Hospital stay, proven.", by=staff)
    complaint.refresh_from_db()
    assert complaint.admissibility == Admissibility.EXCUSED  # art. 4.2
    assert complaint.excuse_reason == "Hospital stay, proven."
    event = complaint.events.get(action=EventAction.LATENESS_EXCUSED)
    assert (event.actor, event.note) == (staff, "Hospital stay, proven.")


def test_another_companys_case_cannot_be_referred_to(nl, scoped, company, staff):
    request = file_case(nl, company=CompanyFactory(register=nl))
    services.case_decide(case=request, motivation="Done.", by=staff)
    with pytest.raises(NotFound):
        file_case(nl, kind=CaseKind.COMPLAINT, refers_to=request, company=company)


def test_attachments_get_unguessable_names(nl, scoped, settings):
    upload = SimpleUploadedFile("letter.pdf", b"%PDF-1.4 scan", content_type="application/pdf")
    case = file_case(nl, attachments=[upload])
    attachment = CaseAttachment.objects.get(case=case)
    assert attachment.name == "letter.pdf"
    assert "letter" not in attachment.file.name
    assert len(attachment.file.name.rsplit("/", 1)[-1]) >= 32
    assert (settings.MEDIA_ROOT / attachment.file.name).read_bytes() == b"%PDF-1.4 scan"
    assert EventAction.ATTACHED in actions(case)


def test_too_large_attachments_are_refused(nl, scoped, monkeypatch):
    monkeypatch.setattr(services.filing, "MAX_ATTACHMENT_BYTES", 10)
    with pytest.raises(DomainError) as refused:
        file_case(nl, attachments=[SimpleUploadedFile("big.pdf", b"x" * 11)])
    assert (refused.value.code, refused.value.status) == ("attachment_too_large", 413)


def test_the_public_link_opens_only_its_own_case(nl, be, scoped):
    case = file_case(nl, channel="public")
    old = services.case_public_link(case=case)
    token = services.case_public_link(case=case)
    assert case_for_public_token(register=nl, token=token) == case
    with pytest.raises(NotFound):
        case_for_public_token(register=nl, token=old)
    with pytest.raises(NotFound), scope(register=be):
        case_for_public_token(register=be, token=token)
