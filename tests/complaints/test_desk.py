"""Cases as a desk works them (issue 14 item 5): an assignee per case from the register's staff,
internal notes the filer never sees, reply templates per step and language, the timeline in
words, and the list's filters "mine", "overdue" and "due this week"."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone, translation
from django.utils.formats import date_format
from django_scopes import scope, scopes_disabled

from complaints import services
from complaints.models import Case, CaseKind, EventAction, ReplyTemplate
from complaints.selectors import case_timeline
from register.errors import DomainError
from register.models import ActionLog
from register.roles import COMPLAINTS

pytestmark = pytest.mark.django_db

NL_HOST = {"HTTP_HOST": "nl.localhost", "HTTP_ACCEPT_LANGUAGE": "en"}
LIST = "/admin/complaints/case/"


@pytest.fixture(autouse=True)
def _files_and_letters(media_root, letters_delivered_at_once):
    """Attachments and letter PDFs go to a temporary folder; letters are mailed at commit."""


def make_staff(register, email, *, client=None):
    user = get_user_model().objects.create_user(
        username=email, email=email, is_staff=True, first_name=email.split("@")[0].title()
    )
    user.groups.add(Group.objects.get(name=COMPLAINTS))
    register.staff.add(user)
    if client is not None:
        client.force_login(user)
    return user


@pytest.fixture
def desk(nl, client):
    return make_staff(nl, "anna@register.example", client=client)


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


def reload(case) -> Case:
    with scopes_disabled():
        return Case.objects.select_related("assignee").get(pk=case.pk)


def days_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


# The assignee


def test_staff_assign_a_case_to_a_colleague_and_the_timeline_and_log_say_so(client, nl, desk):
    colleague = make_staff(nl, "bert@register.example")
    case = file_case(nl)
    form = client.get(f"{LIST}{case.pk}/step/assign/", **NL_HOST).text
    assert "bert@register.example" in form or "Bert" in form
    response = client.post(f"{LIST}{case.pk}/step/assign/", {"assignee": colleague.pk}, **NL_HOST)
    assert response.status_code == 302
    assert reload(case).assignee == colleague
    page = client.get(f"{LIST}{case.pk}/change/", **NL_HOST).text
    assert "Anna assigned the case to Bert." in page
    with scopes_disabled():
        assert ActionLog.objects.filter(action="case.assigned", actor=desk).exists()


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("nl_staff", True),
        ("be_staff", False),  # staff, but of another register
        ("not_staff", False),  # a user of no register's staff
        ("nobody", True),  # taking the case off its assignee
    ],
)
def test_only_staff_of_the_case_s_register_can_be_its_assignee(nl, be, desk, who, allowed):
    users = {
        "nl_staff": make_staff(nl, "bert@register.example"),
        "be_staff": make_staff(be, "claire@register.example"),
        "not_staff": get_user_model().objects.create_user(username="x", email="x@example.com"),
        "nobody": None,
    }
    case = file_case(nl)
    with scope(register=nl):
        if allowed:
            services.case_assign(case=case, assignee=users[who], by=desk)
            assert reload(case).assignee == users[who]
        else:
            with pytest.raises(DomainError) as error:
                services.case_assign(case=case, assignee=users[who], by=desk)
            assert error.value.code == "not_register_staff"
            assert reload(case).assignee is None


def test_the_assign_form_offers_only_this_register_s_staff(client, nl, be, desk):
    make_staff(be, "claire@register.example")
    case = file_case(nl)
    form = client.get(f"{LIST}{case.pk}/step/assign/", **NL_HOST).text
    assert "Anna" in form
    assert "Claire" not in form
    other = make_staff(be, "dirk@register.example")
    response = client.post(f"{LIST}{case.pk}/step/assign/", {"assignee": other.pk}, **NL_HOST)
    assert response.status_code == 200  # the form refuses the choice
    assert reload(case).assignee is None


# The list's filters


@pytest.fixture
def listed(nl, desk):
    colleague = make_staff(nl, "bert@register.example")
    mine_overdue = file_case(
        nl, subject="Mine and overdue", channel="post", received_at=days_ago(30)
    )
    theirs = file_case(nl, subject="Bert's case", channel="post", received_at=days_ago(30))
    # A dispute received 2 weeks ago is to be acknowledged today (art. 5.2): due this week.
    due_now = file_case(
        nl, kind=CaseKind.DISPUTE, subject="Due this week", channel="email",
        received_at=days_ago(14),
    )  # fmt: skip
    fresh = file_case(nl, subject="Fresh request")  # due in 5 working days
    with scope(register=nl):
        services.case_assign(case=mine_overdue, assignee=desk, by=desk)
        services.case_assign(case=due_now, assignee=desk, by=desk)
        services.case_assign(case=theirs, assignee=colleague, by=desk)
    return fresh


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        (
            {"assignee": "mine"},
            {"Mine and overdue", "Due this week"},
            {"Bert's case", "Fresh request"},
        ),
        ({"assignee": "nobody"}, {"Fresh request"}, {"Mine and overdue", "Bert's case"}),
        (
            {"deadline": "overdue"},
            {"Mine and overdue", "Bert's case"},
            {"Due this week", "Fresh request"},
        ),
        ({"deadline": "week"}, {"Due this week"}, {"Mine and overdue", "Bert's case"}),
        (
            {"assignee": "mine", "deadline": "overdue"},
            {"Mine and overdue"},
            {"Due this week", "Bert's case", "Fresh request"},
        ),
    ],
)
def test_the_list_filters_mine_overdue_and_due_this_week(client, listed, query, shown, hidden):
    page = client.get(LIST, query, **NL_HOST).text
    for subject in shown:
        assert subject.replace("'", "&#x27;") in page, subject
    for subject in hidden:
        assert subject.replace("'", "&#x27;") not in page, subject


def test_the_list_shows_each_case_s_assignee(client, listed):
    page = client.get(LIST, **NL_HOST).text
    assert "anna@register.example" in page or "Anna" in page


# Internal notes


def test_an_internal_note_is_on_the_staff_timeline_and_never_shown_to_the_filer(
    client, nl, desk, django_capture_on_commit_callbacks
):
    case = file_case(nl)
    response = client.post(
        f"{LIST}{case.pk}/step/note/", {"text": "Caller sounded like Acme again."}, **NL_HOST
    )
    assert response.status_code == 302
    page = client.get(f"{LIST}{case.pk}/change/", **NL_HOST).text
    assert "Anna wrote an internal note." in page
    assert "Caller sounded like Acme again." in page

    with scope(register=nl):
        assert EventAction.NOTE not in {event.action for event in case_timeline(case=case)}
        assert EventAction.ASSIGNED not in {event.action for event in case_timeline(case=case)}
        services.case_assign(case=case, assignee=desk, by=desk)
        token = services.case_public_link(case=case)
    follow = Client().get(f"/cases/follow/{token}/", HTTP_HOST="nl.localhost").text
    assert "Acme" not in follow
    assert "internal note" not in follow
    assert "assigned" not in follow
    assert "Still called" in follow  # the filer's own page, all the same


def test_an_empty_note_is_refused(client, nl, desk):
    case = file_case(nl)
    response = client.post(f"{LIST}{case.pk}/step/note/", {"text": "  "}, **NL_HOST)
    assert response.status_code == 200
    with scopes_disabled():
        assert not case.events.filter(action=EventAction.NOTE).exists()


# Reply templates


@pytest.mark.parametrize(
    ("slug", "languages"),
    [("nl", {"nl", "en"}), ("be", {"nl", "fr", "en"})],
)
def test_every_register_has_default_templates_for_each_step_in_each_of_its_languages(
    slug, languages
):
    with scopes_disabled():
        templates = ReplyTemplate.objects.filter(register__slug=slug)
        found = {(template.step, template.language) for template in templates}
    steps = {"decide", "declare_inadmissible", "board_decide"}
    assert found == {(step, language) for step in steps for language in languages}
    with scopes_disabled():
        kinds = set(templates.values_list("step", "kind"))
    assert kinds == {
        ("decide", "request"),
        ("decide", "complaint"),
        ("declare_inadmissible", ""),
        ("board_decide", "dispute"),
    }


def test_a_step_offers_its_templates_in_the_case_s_language_first_and_fills_one_in(
    client, nl, desk
):
    case = file_case(nl, kind=CaseKind.COMPLAINT, language="nl")
    page = client.get(f"{LIST}{case.pk}/step/decide/", **NL_HOST).text
    assert page.index("Klacht gegrond") < page.index("Complaint well-founded")
    assert "Verzoek afgehandeld" not in page  # a request's answer, not a complaint's
    request = file_case(nl, language="en")
    page = client.get(f"{LIST}{request.pk}/step/decide/", **NL_HOST).text
    assert page.index("Request handled") < page.index("Verzoek afgehandeld")
    assert "Complaint well-founded" not in page
    with scopes_disabled():
        chosen = ReplyTemplate.objects.get(register=nl, step="decide", title="Klacht ongegrond")
    page = client.get(f"{LIST}{case.pk}/step/decide/", {"template": chosen.pk}, **NL_HOST).text
    assert "verklaart de klacht ongegrond, omdat:" in page
    # A step that writes no text to the filer offers none.
    assert "reply template" not in client.get(f"{LIST}{case.pk}/step/note/", **NL_HOST).text


def test_another_register_s_template_fills_in_nothing(client, nl, be, desk):
    case = file_case(nl)
    with scopes_disabled():
        foreign = ReplyTemplate.objects.get(register=be, step="decide", title="Demande traitée")
    page = client.get(f"{LIST}{case.pk}/step/decide/", {"template": foreign.pk}, **NL_HOST).text
    assert "Nous avons examiné" not in page


def test_the_complaints_desk_edits_its_register_s_templates(client, nl, be, desk):
    url = "/admin/complaints/replytemplate/"
    page = client.get(url, **NL_HOST).text
    assert "Request handled" in page
    assert "Demande traitée" not in page  # be's
    response = client.post(
        f"{url}add/",
        {"step": "decide", "language": "en", "title": "Number unblocked", "text": "Done."},
        **NL_HOST,
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert ReplyTemplate.objects.get(title="Number unblocked").register == nl
    again = client.post(
        f"{url}add/",
        {"step": "decide", "language": "en", "title": "Number unblocked", "text": "Twice."},
        **NL_HOST,
    )
    assert again.status_code == 200
    assert "already has a template with this title" in again.text
    refused = client.post(
        f"{url}add/",
        {"step": "decide", "language": "fr", "title": "Pas ici", "text": "Non."},
        **NL_HOST,
    )
    assert refused.status_code == 200  # nl speaks no French


def test_the_complaints_role_may_edit_templates():
    group = Group.objects.get(name=COMPLAINTS)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_replytemplate", "add_replytemplate", "change_replytemplate"} <= codenames
    assert Permission.objects.filter(codename="delete_replytemplate").exists()


# The timeline in words


def test_the_staff_timeline_tells_every_step_in_words_not_json(
    client, nl, desk, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    complaint = file_case(nl, kind=CaseKind.COMPLAINT)
    with scope(register=nl), capture(execute=True):
        services.case_acknowledge(case=complaint, by=desk)
        services.case_decide(case=complaint, motivation="They had no consent.", by=desk)
    dispute = file_case(nl, kind=CaseKind.DISPUTE, refers_to=reload(complaint))
    hearing = timezone.now() + datetime.timedelta(days=30)
    position_by = timezone.localdate() + datetime.timedelta(days=21)
    with scope(register=nl), capture(execute=True):
        services.case_inform_director(case=dispute, by=desk)
        services.case_set_position_deadline(case=dispute, position_by=position_by, by=desk)
        services.case_record_position(case=dispute, position="We acted correctly.", by=desk)
        services.case_schedule_hearing(case=dispute, place="Heemstede", at=hearing, by=None)
    with scope(register=nl), translation.override("en"):
        sentences = [entry.sentence for entry in services.timeline_entries(case=dispute)]
        decided = services.timeline_entries(case=complaint)
    with translation.override("en"):
        day = date_format(position_by)
    assert sentences == [
        "The filer filed the case through the company portal.",
        "Anna informed the director, who has 2 weeks.",
        f"Anna gave the director until {day}.",
        "Anna recorded the director's position.",
        sentences[4],  # the hearing's moment, checked below
        sentences[5],
    ]
    assert sentences[4].startswith("The system scheduled a hearing in Heemstede on ")
    assert sentences[5].startswith("The letter “Hearing on your dispute")
    assert "mailed to jan@example.com" in sentences[5]
    assert [entry.text for entry in decided if entry.action == EventAction.DECIDED] == [
        "They had no consent."
    ]
    page = client.get(f"{LIST}{dispute.pk}/change/", **NL_HOST).text
    assert "Anna informed the director, who has 2 weeks." in page
    assert '{"' not in page and "&quot;position_by&quot;" not in page


def test_the_timeline_is_in_the_staff_member_s_language(client, nl, desk):
    case = file_case(nl, channel="post", received_at=days_ago(3), recorded_by=desk)
    page = client.get(
        f"{LIST}{case.pk}/change/", HTTP_HOST="nl.localhost", HTTP_ACCEPT_LANGUAGE="nl"
    ).text
    assert "Anna heeft de zaak vastgelegd" in page
