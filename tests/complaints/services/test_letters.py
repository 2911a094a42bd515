"""Letters to the filer (SPEC §14): mailed with their PDF in the filer's language, once, and
only when the step commits."""

import pytest
from django.core import mail
from django.db import transaction

from complaints import services
from complaints.models import EventAction, Letter
from complaints.tasks import letter_deliver
from tests.complaints.services.cases import (
    SUSPENDS_EN,
    SUSPENDS_NL,
    actions,
    file_case,
    pdf_text,
    run,
)

pytestmark = pytest.mark.django_db


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


@pytest.mark.parametrize("subject", ["Still\ncalled", "Still\r\ncalled", "Still\rcalled"])
def test_a_letter_is_mailed_whatever_line_breaks_the_cases_subject_holds(
    nl, scoped, staff, django_capture_on_commit_callbacks, subject
):
    # Every letter of such a case raised BadHeaderError, which the task does not retry: never
    # sent (issue #11).
    case = file_case(nl, subject=subject)
    run(
        services.case_decide,
        django_capture_on_commit_callbacks,
        case=case,
        motivation="Done.",
        by=staff,
    )

    [message] = mail.outbox
    assert message.subject.endswith("Still called")
    assert Letter.objects.get(case=case).sent_at is not None


def test_a_letter_stored_with_a_line_break_in_its_subject_is_still_mailed(
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
    letter = Letter.objects.get(case=case)
    Letter.objects.filter(pk=letter.pk).update(subject="Line\nbreak", sent_at=None)
    mail.outbox.clear()

    letter_deliver(letter.pk)

    [message] = mail.outbox
    assert message.subject == "Line break"


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
