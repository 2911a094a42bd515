"""The steps of a case (SPEC §14, seed 003): the state machine, complaints and disputes through
to a decision, the append-only timeline."""

import datetime

import pytest
from django.core import mail
from django.db import DatabaseError, transaction
from django.utils import timezone

from complaints import services
from complaints.models import Admissibility, CaseEvent, CaseKind, EventAction, Stage
from register.errors import DomainError
from tests.complaints.services.cases import AMSTERDAM, SUSPENDS_EN, actions, file_case, run

pytestmark = pytest.mark.django_db


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
    assert "4 March 2031" in message.body
    assert "4 March 2031, 14:30" in message.body  # the register's own time zone


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
