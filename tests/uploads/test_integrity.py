"""The register's integrity against company files (SPEC §11, issue #10): each company's rows
are capped per day, and register staff can revert a whole file."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from register.models import ALL_CATEGORIES, ActionLog, BlockedNumber, Channel, RegisterEvent
from register.services import block_request_confirm
from tests.factories import MembershipFactory, UserFactory, register_staff
from tests.races import run_at_once
from tests.register.test_consumer import make_request
from tests.uploads.conftest import AMSTERDAM, HEADER, deliver, file_of
from uploads.models import FileStatus, RegistrationFile
from uploads.services import (
    registration_file_process,
    registration_file_revert,
    registration_file_upload,
)

pytestmark = pytest.mark.django_db

COMMERCIAL, IDEAL, CHARITY = 0b001, 0b010, 0b100


@pytest.fixture
def limit(settings):
    settings.REGISTRATION_ROWS_PER_DAY = 3
    return 3


def rows(*numbers: str, categories: str = "ALL") -> list[str]:
    today = timezone.now().astimezone(AMSTERDAM).date().isoformat()
    return [f"{number}|{categories}|{today}" for number in numbers]


def api_upload(client, api_key, lines: list[str]):
    return client.post(
        "/api/v1/registration-files",
        {"file": file_of("\n".join([HEADER, *lines]) + "\n")},
        HTTP_HOST="nl.localhost",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    )


def register_state() -> tuple[list, list]:
    """The register of blocked numbers and its whole history, in a comparable form."""
    with scopes_disabled():
        numbers = list(
            BlockedNumber.objects.order_by("number").values_list(
                "number", "categories", "registered_on", "channel", "email"
            )
        )
        history = list(
            RegisterEvent.objects.order_by("id").values_list(
                "id", "number", "action", "categories", "channel", "reference"
            )
        )
    return numbers, history


def uploaded_together(company, settings) -> tuple[RegistrationFile, RegistrationFile]:
    """Two files of two rows uploaded while 10 rows a day were left; then the limit is 3."""
    settings.REGISTRATION_ROWS_PER_DAY = 10
    with scopes_disabled():
        files = tuple(
            registration_file_upload(
                company=company, upload=file_of("\n".join([HEADER, *lines]) + "\n")
            )
            for lines in (rows("0612345671", "0612345672"), rows("0612345673", "0612345674"))
        )
    settings.REGISTRATION_ROWS_PER_DAY = 3
    return files


# Daily cap -------------------------------------------------------------------------------------


def test_a_file_over_what_is_left_today_is_refused_at_upload_naming_the_limit(
    client, licensed, api_key, limit
):
    assert api_upload(client, api_key, rows("0612345671", "0612345672")).status_code == 202

    response = api_upload(client, api_key, rows("0612345673", "0612345674"))

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "daily_limit_exceeded"
    assert "hoogstens 3 per dag, vandaag nog 1" in body["detail"]
    with scopes_disabled():
        assert RegistrationFile.objects.count() == 1


def test_the_portal_form_says_the_limit(licensed, limit):
    user = UserFactory(email="uploader@example.nl")
    MembershipFactory(company=licensed, user=user, role="member")
    client = Client(HTTP_HOST="nl.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    lines = rows("0612345671", "0612345672", "0612345673", "0612345674")

    response = client.post(
        "/registrations/new/", {"file": file_of("\n".join([HEADER, *lines]) + "\n")}
    )

    assert response.status_code == 200
    assert "more than your company may deliver today: at most 3 a day, 3 left today" in (
        response.text
    )
    with scopes_disabled():
        assert not RegistrationFile.objects.exists()


def test_a_file_that_passed_the_upload_is_refused_whole_when_processed_over_the_limit(
    licensed, settings
):
    # Two files uploaded together both pass the upload's check; the processing's, under the
    # company's lock and counting processed files, holds.
    first, second = uploaded_together(licensed, settings)
    with scopes_disabled():
        registration_file_process(file_id=first.pk)
    before = register_state()

    with scopes_disabled():
        registration_file_process(file_id=second.pk)
        second.refresh_from_db()

    assert second.status == FileStatus.REFUSED
    # In the register's language: the worker has no visitor's.
    assert "hoogstens 3 per dag, vandaag nog 1" in second.error
    assert (second.registered, second.rows_total) == (0, 2)
    assert register_state() == before


def test_the_api_report_of_a_refused_file_gives_the_code(client, licensed, api_key, settings):
    first, second = uploaded_together(licensed, settings)
    with scopes_disabled():
        for registration_file in (first, second):
            registration_file_process(file_id=registration_file.pk)

    reports = [
        client.get(
            f"/api/v1/registration-files/{registration_file.pk}",
            HTTP_HOST="nl.localhost",
            HTTP_AUTHORIZATION=f"Bearer {api_key}",
        ).json()
        for registration_file in (first, second)
    ]

    assert (reports[0]["status"], reports[0]["error"]) == ("done", None)
    assert reports[1]["status"] == "refused"
    assert reports[1]["error"]["code"] == "daily_limit_exceeded"
    assert "vandaag nog 1." in reports[1]["error"]["message"]


def test_yesterdays_files_do_not_count_in_the_registers_time_zone(licensed, limit):
    today = timezone.now().astimezone(AMSTERDAM).date()
    yesterday = today - datetime.timedelta(days=1)
    with scopes_disabled():
        earlier = registration_file_upload(
            company=licensed,
            upload=file_of("\n".join([HEADER, *rows("0612345671", "0612345672")]) + "\n"),
        )
        late_last_night = datetime.datetime.combine(yesterday, datetime.time(23, 59), AMSTERDAM)
        RegistrationFile.objects.filter(pk=earlier.pk).update(created_at=late_last_night)
        registration_file_process(file_id=earlier.pk)

        today_file = registration_file_upload(
            company=licensed,
            upload=file_of(
                "\n".join([HEADER, *rows("0612345673", "0612345674", "0612345675")]) + "\n"
            ),
        )
        registration_file_process(file_id=today_file.pk)
        today_file.refresh_from_db()
    assert today_file.status == FileStatus.DONE


# Revert ---------------------------------------------------------------------------------------


@pytest.fixture
def desk(nl):
    return register_staff(nl, "view_registrationfile", "revert_registrationfile")


def staff_revert(user, registration_file):
    client = Client(HTTP_HOST="nl.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client.post(
        "/admin/uploads/registrationfile/",
        {"action": "revert", "_selected_action": [registration_file.pk]},
    )


def consumer_blocks(nl, number: int, categories: list[str]) -> None:
    token = make_request(nl, numbers=[number], categories=categories)
    with scopes_disabled():
        block_request_confirm(register=nl, token=token)


def test_reverting_a_file_restores_the_register_and_keeps_numbers_acted_on_since(
    nl, licensed, desk
):
    # Before the file: one number blocked on the web for commercial calls only, one for all.
    consumer_blocks(nl, 31612345601, ["commercial"])
    consumer_blocks(nl, 31612345602, ["commercial", "ideal", "charity"])
    numbers_before, history_before = register_state()
    today = timezone.now().astimezone(AMSTERDAM).date()

    registration_file = deliver(
        licensed,
        [
            *rows("0612345610", "0612345611", "0612345612"),  # new: registered by the file
            *rows("0612345601", categories="charity"),  # widened: commercial + charity
            *rows("0612345602"),  # already registered with all: nothing written
            *rows("0612345613", categories="commercial"),  # new, then widened by a consumer
        ],
        on=today,
    )
    assert (registration_file.registered, registration_file.already_registered) == (4, 2)
    # Acts in between: a consumer blocks a number the file registered (no event: nothing new),
    # another widens one, the first number the file widened is widened further by a consumer.
    consumer_blocks(nl, 31612345611, ["commercial", "ideal", "charity"])
    consumer_blocks(nl, 31612345613, ["charity"])
    _numbers, history_between = register_state()

    response = staff_revert(desk, registration_file)

    assert response.status_code == 302
    numbers_after, history_after = register_state()
    with scopes_disabled():
        registration_file.refresh_from_db()
        kept = {
            number: BlockedNumber.objects.get(number=number).categories
            for number in (31612345611, 31612345613)
        }
        logged = ActionLog.objects.get(action="registration_file.reverted")
    # The register: as before the file, plus the two numbers consumers acted on since.
    assert kept == {31612345611: ALL_CATEGORIES, 31612345613: COMMERCIAL | CHARITY}
    assert [row for row in numbers_after if row[0] not in kept] == numbers_before
    # The history: nothing lost, the revert's events appended and naming it.
    assert history_after[: len(history_between)] == history_between
    assert history_between[: len(history_before)] == history_before
    revert_events = [row[1:] for row in history_after[len(history_between) :]]
    reference = f"registration-file:{registration_file.pk}:revert"
    assert sorted(revert_events) == [
        (31612345601, "change", COMMERCIAL, Channel.ADMIN, reference),
        (31612345610, "unblock", None, Channel.ADMIN, reference),
        (31612345612, "unblock", None, Channel.ADMIN, reference),
    ]
    # The file's report shows the revert; the action log names the staff member.
    assert (registration_file.reverted_by, registration_file.reverted_numbers) == (desk, 3)
    assert registration_file.revert_kept == 2
    assert registration_file.reverted_at is not None
    assert (logged.actor, logged.data["unblocked"], logged.data["kept"]) == (desk, 2, 2)


def test_a_file_is_reverted_once_and_only_by_staff_allowed_to(nl, licensed, desk):
    today = timezone.now().astimezone(AMSTERDAM).date()
    registration_file = deliver(licensed, rows("0612345610"), on=today)
    desk.user_permissions.remove(Permission.objects.get(codename="revert_registrationfile"))

    staff_revert(desk, registration_file)

    with scopes_disabled():
        assert BlockedNumber.objects.filter(number=31612345610).exists()
        desk.user_permissions.add(Permission.objects.get(codename="revert_registrationfile"))
    desk = get_user_model().objects.get(pk=desk.pk)  # forget the cached permissions
    staff_revert(desk, registration_file)
    _numbers, history = register_state()
    with scopes_disabled(), pytest.raises(Exception, match="already been reverted"):
        registration_file_revert(file_id=registration_file.pk, reverted_by=desk)

    assert register_state()[1] == history
    with scopes_disabled():
        assert not BlockedNumber.objects.filter(number=31612345610).exists()


def test_the_portal_and_api_reports_show_the_revert(client, nl, licensed, api_key, desk):
    today = timezone.now().astimezone(AMSTERDAM).date()
    registration_file = deliver(licensed, rows("0612345610"), on=today)
    staff_revert(desk, registration_file)

    report = client.get(
        f"/api/v1/registration-files/{registration_file.pk}",
        HTTP_HOST="nl.localhost",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
    ).json()

    assert report["status"] == "done"
    assert report["reverted_at"] is not None


# Real commits so the two workers race on PostgreSQL; the seeded registers are restored after.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_files_processed_at_once_cannot_both_fit_the_rows_left(licensed, settings, monkeypatch):
    # The commits are real: keep the uploads' tasks from a worker, the threads process them.
    monkeypatch.setattr("uploads.services._queue_processing", lambda file_id: None)
    files = uploaded_together(licensed, settings)

    failures = run_at_once(
        *(lambda file_id=f.pk: registration_file_process(file_id=file_id) for f in files)
    )

    assert failures == []
    with scopes_disabled():
        statuses = sorted(
            RegistrationFile.objects.filter(pk__in=[f.pk for f in files]).values_list(
                "status", flat=True
            )
        )
        blocked = BlockedNumber.objects.filter(register=licensed.register).count()
    assert statuses == [FileStatus.DONE, FileStatus.REFUSED]
    assert blocked == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_consumers_block_confirmed_while_the_file_is_reverted_stays(
    nl, licensed, desk, monkeypatch
):
    monkeypatch.setattr("uploads.services._queue_processing", lambda file_id: None)
    today = timezone.now().astimezone(AMSTERDAM).date()
    registration_file = deliver(licensed, rows("0612345610", "0612345611"), on=today)
    token = make_request(nl, numbers=[31612345610], categories=["commercial", "ideal", "charity"])

    failures = run_at_once(
        lambda: block_request_confirm(register=nl, token=token),
        lambda: registration_file_revert(file_id=registration_file.pk, reverted_by=desk),
    )

    assert failures == []
    with scopes_disabled():
        assert list(
            BlockedNumber.objects.filter(number__in=[31612345610, 31612345611]).values_list(
                "number", flat=True
            )
        ) == [31612345610]
