"""Case services (SPEC §14, seed 003): steps, the timeline, letters, attachments, reminders."""

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django.utils import timezone
from django_scopes import scope
from pypdf import PdfReader

from complaints import services
from complaints.models import (
    Admissibility,
    CaseAttachment,
    CaseEvent,
    CaseKind,
    EventAction,
    Letter,
    Stage,
)
from complaints.selectors import case_due, case_for_public_token
from complaints.tasks import deadline_reminders, letter_deliver
from register.errors import DomainError, NotFound
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SUSPENDS_EN = "does not suspend any obligation"
SUSPENDS_NL = "geen opschortende werking"
# Staff reminders are written in the register's default language: Dutch for nl.
OVERDUE_NL = "VERLOPEN"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def letters_delivered_at_once(monkeypatch):
    """The delivery task runs in this process when the step commits, instead of on a worker."""
    monkeypatch.setattr("complaints.tasks.letter_deliver.delay", letter_deliver)


@pytest.fixture
def staff(nl):
    user = get_user_model().objects.create_user(
        username="director@example.com", email="director@example.com", is_staff=True
    )
    nl.staff.add(user)
    return user


@pytest.fixture
def company(nl):
    return CompanyFactory(register=nl)


@pytest.fixture
def scoped(nl):
    with scope(register=nl):
        yield


def file_case(nl, **kwargs):
    values = {
        "register": nl,
        "kind": CaseKind.REQUEST,
        "subject": "Still called",
        "body": "I am registered but a company keeps calling me.",
        "filer_email": "jan@example.com",
        "filer_name": "Jan Jansen",
        "channel": "portal",
        "language": "en",
    }
    return services.case_file(**{**values, **kwargs})


def run(step, capture, **kwargs):
    with capture(execute=True):
        return step(**kwargs)


def pdf_text(letter: Letter) -> str:
    with letter.pdf.open("rb") as pdf:
        reader = PdfReader(io.BytesIO(pdf.read()))
        return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def actions(case) -> list[str]:
    return list(case.events.order_by("at", "pk").values_list("action", flat=True))


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


@pytest.mark.parametrize(
    ("language", "sentence", "subject"),
    [
        ("en", SUSPENDS_EN, "Answer to your request"),
        ("nl", SUSPENDS_NL, "Antwoord op uw verzoek"),
    ],
)
def test_the_answer_is_mailed_with_its_pdf_in_the_filers_language(
    nl, scoped, staff, django_capture_on_commit_callbacks, language, sentence, subject
):
    case = file_case(nl, language=language)
    run(
        services.case_decide,
        django_capture_on_commit_callbacks,
        case=case,
        motivation="We have asked the company to stop.",
        by=staff,
    )

    [message] = mail.outbox
    assert message.to == ["jan@example.com"]
    assert subject in message.subject
    assert sentence in message.body  # arts 2.1, 3.3, 5.3
    assert "We have asked the company to stop." in message.body
    [(_filename, content, mimetype)] = message.attachments
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")
    letter = Letter.objects.get(case=case)
    assert letter.sent_at is not None
    assert sentence in pdf_text(letter)
    assert actions(case) == [EventAction.FILED, EventAction.DECIDED, EventAction.LETTER_SENT]


def test_a_letter_is_mailed_once_when_its_task_runs_twice(
    nl, scoped, staff, django_capture_on_commit_callbacks
):
    case = file_case(nl)
    run(
        services.case_decide,
        django_capture_on_commit_callbacks,
        case=case,
        motivation="Done.",
        by=staff,
    )
    letter_deliver(Letter.objects.get(case=case).pk)
    assert len(mail.outbox) == 1


def test_nothing_is_mailed_when_the_step_rolls_back(
    nl, scoped, staff, django_capture_on_commit_callbacks
):
    case = file_case(nl)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.case_decide(case=case, motivation="Done.", by=staff)
        transaction.set_rollback(True)
    assert mail.outbox == []
    assert not Letter.objects.filter(case=case).exists()


@pytest.mark.parametrize(
    ("kind", "step", "kwargs"),
    [
        (CaseKind.REQUEST, services.case_close, {}),  # not decided yet
        (CaseKind.REQUEST, services.case_acknowledge, {}),  # requests are not acknowledged
        (CaseKind.REQUEST, services.case_board_decide, {"motivation": "x"}),
        (CaseKind.REQUEST, services.case_inform_director, {}),
    ],
)
def test_a_wrong_step_is_refused_with_a_clear_message(nl, scoped, staff, kind, step, kwargs):
    case = file_case(nl, kind=kind)
    with pytest.raises(DomainError) as refused:
        step(case=case, by=staff, **kwargs)
    assert refused.value.code == "wrong_step"
    assert str(case.get_stage_display()) in str(refused.value.message)
    case.refresh_from_db()
    assert case.stage == Stage.RECEIVED
    assert actions(case) == [EventAction.FILED]


def test_a_decided_case_cannot_be_decided_again(nl, scoped, staff):
    case = file_case(nl)
    services.case_decide(case=case, motivation="Done.", by=staff)
    with pytest.raises(DomainError) as refused:
        services.case_decide(case=case, motivation="Again.", by=staff)
    assert refused.value.code == "wrong_step"


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


def test_a_complaint_is_acknowledged_and_decided_with_letters(
    nl, scoped, staff, django_capture_on_commit_callbacks
):
    complaint = file_case(nl, kind=CaseKind.COMPLAINT)
    assert complaint.admissibility == Admissibility.UNCHECKED
    run(services.case_acknowledge, django_capture_on_commit_callbacks, case=complaint, by=staff)
    complaint.refresh_from_db()
    assert (complaint.stage, complaint.next_due_term) == (Stage.ACKNOWLEDGED, "decide_by")
    run(
        services.case_decide,
        django_capture_on_commit_callbacks,
        case=complaint,
        motivation="The company was told to stop.",
        by=staff,
    )
    complaint.refresh_from_db()
    assert complaint.next_due is None
    assert [message.subject.split(":")[0] for message in mail.outbox] == [
        f"Your complaint {complaint.pk} is being handled",
        f"Decision on your complaint {complaint.pk}",
    ]
    assert all(SUSPENDS_EN in message.body for message in mail.outbox)
    assert "within 1 month" in mail.outbox[1].body  # art. 4.3


def test_a_dispute_runs_through_the_board_to_a_decision(
    nl, scoped, staff, django_capture_on_commit_callbacks
):
    complaint = file_case(nl, kind=CaseKind.COMPLAINT)
    services.case_decide(case=complaint, motivation="Rejected.", by=staff)
    dispute = file_case(nl, kind=CaseKind.DISPUTE, refers_to=complaint)
    assert dispute.admissibility == Admissibility.TIMELY  # art. 4.3
    today = timezone.localdate(timezone=AMSTERDAM)

    def step(service, **kwargs):
        run(service, django_capture_on_commit_callbacks, case=dispute, by=staff, **kwargs)
        dispute.refresh_from_db()

    step(services.case_forward_to_board)
    step(services.case_acknowledge)  # art. 5.2
    step(services.case_inform_director)  # art. 5.5
    assert dispute.position_by == today + datetime.timedelta(weeks=2)
    assert dispute.next_due_term == "position_by"
    with pytest.raises(DomainError):
        services.case_set_position_deadline(
            case=dispute, position_by=today + datetime.timedelta(days=3), by=staff
        )
    step(services.case_set_position_deadline, position_by=today + datetime.timedelta(weeks=3))
    assert dispute.position_by == today + datetime.timedelta(weeks=3)
    step(services.case_record_position, position="The caller had consent.")
    step(services.case_send_position_to_user)  # art. 5.7
    assert dispute.reaction_by == today + datetime.timedelta(weeks=2)
    with pytest.raises(DomainError) as refused:
        services.case_board_decide(case=dispute, motivation="Too soon.", by=staff)
    assert refused.value.code == "reaction_term_running"
    step(services.case_record_reaction, reaction="There was no consent.")
    step(services.case_board_decide, motivation="The dispute is well-founded.")  # art. 5.8
    step(services.case_close)

    assert dispute.stage == Stage.CLOSED
    assert dispute.next_due is None
    assert [action for action in actions(dispute) if action != EventAction.LETTER_SENT] == [
        EventAction.FILED,
        EventAction.FORWARDED,
        EventAction.ACKNOWLEDGED,
        EventAction.DIRECTOR_INFORMED,
        EventAction.POSITION_DEADLINE_SET,
        EventAction.POSITION_RECORDED,
        EventAction.POSITION_SENT,
        EventAction.REACTION_RECORDED,
        EventAction.BOARD_DECIDED,
        EventAction.CLOSED,
    ]
    staff_steps = dispute.events.exclude(
        action__in=[EventAction.FILED, EventAction.LETTER_SENT]
    ).values_list("actor", flat=True)
    assert set(staff_steps) == {staff.pk}
    letters = list(dispute.letters.values_list("kind", flat=True))
    assert letters == ["acknowledgement", "position", "board_decision"]
    assert len(mail.outbox) == 3
    assert "The caller had consent." in mail.outbox[1].body
    assert all(SUSPENDS_EN in message.body for message in mail.outbox)


def test_a_hearing_is_sent_with_place_date_and_time(
    nl, scoped, staff, django_capture_on_commit_callbacks
):
    dispute = file_case(nl, kind=CaseKind.DISPUTE)
    for service in (services.case_inform_director,):
        service(case=dispute, by=staff)
    services.case_record_position(case=dispute, position="No comment.", by=staff)
    at = datetime.datetime(2031, 3, 4, 14, 30, tzinfo=AMSTERDAM)
    run(
        services.case_schedule_hearing,
        django_capture_on_commit_callbacks,
        case=dispute,
        place="Heemstede, Raadhuisplein 1",
        at=at,
        by=staff,
    )
    [message] = mail.outbox
    assert "Heemstede, Raadhuisplein 1" in message.body
    assert "March 4, 2031" in message.body
    assert "2:30" in message.body  # the register's own time zone


def test_an_inadmissible_dispute_gets_the_reason(
    nl, scoped, staff, django_capture_on_commit_callbacks
):
    dispute = file_case(nl, kind=CaseKind.DISPUTE)
    with pytest.raises(DomainError):
        services.case_declare_inadmissible(case=dispute, reason="  ", by=staff)
    run(
        services.case_declare_inadmissible,
        django_capture_on_commit_callbacks,
        case=dispute,
        reason="Not motivated.",
        by=staff,
    )
    [message] = mail.outbox
    assert "article 5.4" in message.body
    assert "Not motivated." in message.body


def test_the_timeline_is_append_only(nl, scoped):
    case = file_case(nl)
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseEvent.objects.filter(case=case).update(note="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        CaseEvent.objects.filter(case=case).delete()


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


class TestReminders:
    """Staff are warned of deadlines due within 2 working days and of overdue ones, once each
    (SPEC §13)."""

    @pytest.fixture
    def request_case(self, nl, scoped):
        # Received Monday 3 March 2025: handled by Monday 10 March (art. 2.1).
        return file_case(
            nl, channel="email", received_at=datetime.datetime(2025, 3, 3, 9, tzinfo=AMSTERDAM)
        )

    def test_due_soon_then_overdue_once_each(self, nl, staff, request_case):
        send = services.deadline_reminders_send
        assert send(register=nl, today=datetime.date(2025, 3, 5)) == 0  # 3 working days ahead
        assert send(register=nl, today=datetime.date(2025, 3, 6)) == 1
        assert send(register=nl, today=datetime.date(2025, 3, 7)) == 0
        assert send(register=nl, today=datetime.date(2025, 3, 11)) == 1
        assert send(register=nl, today=datetime.date(2025, 3, 12)) == 0
        soon, overdue = mail.outbox
        assert soon.to == overdue.to == ["director@example.com"]
        assert "Still called" in soon.body
        assert f"/admin/complaints/case/{request_case.pk}/change/" in soon.body
        assert OVERDUE_NL not in soon.body
        assert OVERDUE_NL in overdue.body

    def test_a_met_deadline_is_not_reminded(self, nl, staff, request_case):
        services.case_decide(case=request_case, motivation="Done.", by=staff)
        assert services.deadline_reminders_send(register=nl, today=datetime.date(2025, 3, 11)) == 0
        assert mail.outbox == []

    def test_the_daily_task_warns_each_register_once(self, nl, staff, scoped):
        file_case(nl, channel="post", received_at=timezone.now() - datetime.timedelta(days=30))
        assert deadline_reminders() == 1
        assert deadline_reminders() == 0
        [message] = mail.outbox
        assert OVERDUE_NL in message.body
