"""The case workflow in the staff admin (SPEC §14): list, filters, every step, isolation."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from complaints import services
from complaints.models import Case, CaseKind, EventAction, Stage

pytestmark = pytest.mark.django_db

# The admin speaks the register's default language (nl) unless asked; these tests read the English.
NL_HOST = {"HTTP_HOST": "nl.localhost", "HTTP_ACCEPT_LANGUAGE": "en"}
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
LIST = "/admin/complaints/case/"


@pytest.fixture(autouse=True)
def _files_and_letters(media_root, letters_delivered_at_once):
    """Attachments and letter PDFs go to a temporary folder; letters are mailed at commit."""


@pytest.fixture
def staff(nl, client):
    user = get_user_model().objects.create_user(
        username="desk@example.com", email="desk@example.com", is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="complaints"))
    nl.staff.add(user)
    client.force_login(user)
    return user


def file_case(register, **kwargs):
    values = {
        "register": register,
        "kind": CaseKind.REQUEST,
        "subject": "Still called",
        "body": "A company keeps calling me.",
        "filer_email": "jan@example.com",
        "channel": "portal",
        "language": "en",
    }
    with scope(register=register):
        return services.case_file(**{**values, **kwargs})


def days_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


@pytest.fixture
def cases(nl, be):
    overdue = file_case(nl, subject="Overdue request", channel="post", received_at=days_ago(30))
    # A dispute received 2 weeks ago is to be acknowledged today (art. 5.2).
    due_today = file_case(
        nl, kind=CaseKind.DISPUTE, subject="Dispute due today", channel="email",
        received_at=days_ago(14),
    )  # fmt: skip
    other = file_case(be, subject="Belgian case", language="nl")
    return {"overdue": overdue, "due_today": due_today, "other": other}


def step(client, case, name, capture, **data):
    with capture(execute=True):
        return client.post(f"{LIST}{case.pk}/step/{name}/", data, **NL_HOST)


def reload(case) -> Case:
    with scopes_disabled():
        return Case.objects.get(pk=case.pk)


def test_the_list_shows_stage_next_deadline_and_overdue_flag(client, staff, cases):
    page = client.get(LIST, **NL_HOST).text
    assert "Overdue request" in page
    assert "Dispute due today" in page
    assert "handle the request (art. 2.1)" in page
    assert "OVERDUE" in page
    assert page.count("OVERDUE") == 1
    assert "Belgian case" not in page


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ({"deadline": "overdue"}, "Overdue request", "Dispute due today"),
        ({"deadline": "week"}, "Dispute due today", "Overdue request"),
        ({"kind": "dispute"}, "Dispute due today", "Overdue request"),
        ({"kind": "request", "stage": "received"}, "Overdue request", "Dispute due today"),
        ({"q": "due today"}, "Dispute due today", "Overdue request"),
    ],
)
def test_filters_and_search(client, staff, cases, query, shown, hidden):
    page = client.get(LIST, query, **NL_HOST).text
    assert shown in page
    assert hidden not in page


def test_search_by_case_number(client, staff, cases):
    page = client.get(LIST, {"q": str(cases["due_today"].pk)}, **NL_HOST).text
    assert "Dispute due today" in page
    assert "Overdue request" not in page


def test_staff_never_reach_another_registers_case(client, staff, cases):
    other = cases["other"]
    response = client.get(f"{LIST}{other.pk}/change/", **NL_HOST)
    assert response.status_code == 404
    assert client.get(f"{LIST}{other.pk}/step/decide/", **NL_HOST).status_code == 404
    assert client.get(LIST, HTTP_HOST="be.localhost").status_code == 302  # to the login
    with scopes_disabled():
        assert Case.objects.get(pk=other.pk).stage == Stage.RECEIVED


def test_the_case_page_shows_timeline_and_the_steps_allowed_now(client, staff, cases):
    case = cases["due_today"]
    page = client.get(f"{LIST}{case.pk}/change/", **NL_HOST).text
    assert "recorded the case, received by e-mail on" in page
    assert f"{case.pk}/step/forward_to_board/" in page
    assert f"{case.pk}/step/acknowledge/" in page
    assert f"{case.pk}/step/board_decide/" not in page
    assert 'name="_save"' not in page


def test_a_request_is_answered_and_closed_in_the_admin(
    client, staff, cases, django_capture_on_commit_callbacks
):
    case = cases["overdue"]
    form = client.get(f"{LIST}{case.pk}/step/decide/", **NL_HOST)
    assert 'name="motivation"' in form.text
    response = step(
        client, case, "decide", django_capture_on_commit_callbacks, motivation="We told them."
    )
    assert response.status_code == 302
    step(client, case, "close", django_capture_on_commit_callbacks)
    assert reload(case).stage == Stage.CLOSED
    [message] = mail.outbox
    assert "We told them." in message.body
    assert LogEntry.objects.filter(object_id=str(case.pk), action_flag=CHANGE).count() == 2


def test_a_step_needing_text_is_refused_without_it(client, staff, cases):
    case = cases["overdue"]
    response = client.post(f"{LIST}{case.pk}/step/decide/", {"motivation": ""}, **NL_HOST)
    assert response.status_code == 200
    assert reload(case).stage == Stage.RECEIVED


def test_a_wrong_step_shows_the_reason(client, staff, cases):
    case = cases["overdue"]
    response = client.post(f"{LIST}{case.pk}/step/inform_director/", {}, **NL_HOST)
    assert response.status_code == 200
    assert "errornote" in response.text
    assert reload(case).stage == Stage.RECEIVED


def test_a_complaint_is_acknowledged_decided_and_disputed_to_a_board_decision(
    client, staff, nl, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    complaint = file_case(nl, kind=CaseKind.COMPLAINT, filer_name="Jan Jansen")
    step(client, complaint, "acknowledge", capture)
    step(client, complaint, "decide", capture, motivation="The caller had no consent.")
    assert reload(complaint).stage == Stage.DECIDED

    dispute = file_case(nl, kind=CaseKind.DISPUTE, refers_to=reload(complaint))
    hearing_day = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    steps = [
        ("forward_to_board", {}),
        ("acknowledge", {}),
        ("inform_director", {}),
        (
            "set_position_deadline",
            {"position_by": (timezone.localdate() + datetime.timedelta(days=21)).isoformat()},
        ),
        ("record_position", {"position": "We acted correctly."}),
        ("schedule_hearing", {"place": "Heemstede", "day": hearing_day, "time": "14:00"}),
        ("board_decide", {"motivation": "Well-founded."}),
        ("close", {}),
    ]
    for name, data in steps:
        response = step(client, dispute, name, capture, **data)
        assert response.status_code == 302, (name, response.content[:2000])

    dispute = reload(dispute)
    assert dispute.stage == Stage.CLOSED
    assert dispute.hearing_at.astimezone(AMSTERDAM).hour == 14
    with scopes_disabled():
        recorded = list(
            dispute.events.exclude(action=EventAction.LETTER_SENT).values_list("action", "actor")
        )
    assert [action for action, _actor in recorded] == [
        EventAction.FILED,
        EventAction.FORWARDED,
        EventAction.ACKNOWLEDGED,
        EventAction.DIRECTOR_INFORMED,
        EventAction.POSITION_DEADLINE_SET,
        EventAction.POSITION_RECORDED,
        EventAction.HEARING_SCHEDULED,
        EventAction.BOARD_DECIDED,
        EventAction.CLOSED,
    ]
    assert {actor for _action, actor in recorded[1:]} == {staff.pk}
    assert [message.subject.split(" ")[0:2] for message in mail.outbox] == [
        ["Your", "complaint"],
        ["Decision", "on"],
        ["Receipt", "of"],
        ["Hearing", "on"],
        ["The", "board's"],
    ]
    assert LogEntry.objects.filter(object_id=str(dispute.pk), action_flag=CHANGE).count() == 8


def test_the_written_round_and_a_late_dispute(
    client, staff, nl, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    complaint = file_case(nl, kind=CaseKind.COMPLAINT, channel="post", received_at=days_ago(120))
    dispute = file_case(nl, kind=CaseKind.DISPUTE, refers_to=complaint)
    assert dispute.admissibility == "late"  # art. 4.4: 2 months after the 2 weeks
    step(client, dispute, "excuse_lateness", capture, reason="The user was abroad.")
    assert reload(dispute).admissibility == "excused"
    for name, data in [
        ("inform_director", {}),
        ("record_position", {"position": "No comment."}),
        ("send_position", {}),
        ("record_reaction", {"reaction": "I disagree."}),
        ("declare_inadmissible", {"reason": "Not motivated."}),
    ]:
        assert step(client, dispute, name, capture, **data).status_code == 302, name
    assert reload(dispute).stage == Stage.INADMISSIBLE
    assert len(mail.outbox) == 2  # the position, the declaration


def test_staff_record_a_case_received_by_post(client, staff, nl):
    response = client.post(
        f"{LIST}add/",
        {
            "kind": "request",
            "channel": "post",
            "received_on": "2025-12-19",
            "filer_name": "Marie de Vries",
            "filer_email": "marie@example.com",
            "filer_phone": "020 123 4567",
            "language": "nl",
            "subject": "Brief over mijn nummer",
            "body": "Ik word nog steeds gebeld.",
            "attachments": [SimpleUploadedFile("brief.pdf", b"%PDF-1.4 scan")],
        },
        **NL_HOST,
    )
    assert response.status_code == 302
    with scopes_disabled():
        case = Case.objects.get(subject="Brief over mijn nummer")
        assert case.attachments.get().name == "brief.pdf"
    assert case.received_at.astimezone(AMSTERDAM).date() == datetime.date(2025, 12, 19)
    assert case.handle_by == datetime.date(2025, 12, 30)  # Christmas skipped (art. 2.1)
    assert case.channel == "post"
    assert case.filer_phone.as_e164 == "+31201234567"
    assert "+31 20 123 4567" in client.get(f"{LIST}{case.pk}/change/", **NL_HOST).text
    assert LogEntry.objects.filter(object_id=str(case.pk), action_flag=ADDITION).exists()


def test_attachments_and_letters_download_and_never_render_inline(
    client, staff, nl, django_capture_on_commit_callbacks
):
    case = file_case(
        nl,
        attachments=[SimpleUploadedFile("x.html", b"<script>alert(1)</script>", "text/html")],
    )
    step(client, case, "decide", django_capture_on_commit_callbacks, motivation="Done.")
    with scopes_disabled():
        attachment = case.attachments.get()
        letter = case.letters.get()
    page = client.get(f"{LIST}{case.pk}/change/", **NL_HOST).text
    assert f"{case.pk}/attachment/{attachment.pk}/" in page
    assert f"{case.pk}/letter/{letter.pk}/" in page

    response = client.get(f"{LIST}{case.pk}/attachment/{attachment.pk}/", **NL_HOST)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    response = client.get(f"{LIST}{case.pk}/letter/{letter.pk}/", **NL_HOST)
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content).startswith(b"%PDF")
