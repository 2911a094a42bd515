"""The reaper (config/reaper.py, STYLE 16, issue #11): work queued with no task, running with its
worker gone, documents not delivered — each queued again, once a pass, through its scoped task;
and a request whose commit succeeded never answers 500 because the publish after it failed."""

import io

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connections
from django_scopes import scope, scopes_disabled
from kombu.exceptions import OperationalError

from campaigns.downloads.services import download_request
from campaigns.marking.services import call_file_upload
from campaigns.models import CallFile, CallFileStatus, Download, DownloadKind, DownloadStatus
from complaints import services as complaints
from complaints.models import Letter
from config import reaper
from config.reaper import reap
from licences.models import CreditEntry
from register.tasking import CALL_FILE_LOCKS, job_lock_key
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    LicenceFactory,
    UserFactory,
    get_product,
)

pytestmark = pytest.mark.django_db


class Broker:
    """Stands in for the broker: records what is published, or refuses while down."""

    def __init__(self):
        self.up = True
        self.published: list[tuple[str, int]] = []

    def delay_of(self, name):
        def delay(pk):
            if not self.up:
                raise OperationalError(
                    "Error 111 connecting to 127.0.0.1:6379. Connection refused."
                )
            self.published.append((name, pk))

        return delay

    def of(self, name) -> list[int]:
        return [pk for task, pk in self.published if task == name]


@pytest.fixture
def broker(monkeypatch) -> Broker:
    broker = Broker()
    for path, name in [
        ("campaigns.marking.tasks.call_file_mark_task", "mark"),
        ("campaigns.downloads.tasks.download_build_task", "download"),
        ("billing.tasks.invoice_deliver", "invoice"),
        ("complaints.tasks.letter_deliver", "letter"),
    ]:
        monkeypatch.setattr(f"{path}.delay", broker.delay_of(name))
    return broker


@pytest.fixture
def stuck_at_once(settings):
    """Anything queued before now counts as stuck: no minute to wait in a test."""
    settings.REAPER_QUEUED_AFTER_SECONDS = 0


@pytest.fixture
def campaign(nl, media_root):
    campaign = CampaignFactory(company=CompanyFactory(register=nl))
    account = CreditAccountFactory(campaign=campaign)
    account.balance = 1_000
    with scopes_disabled():
        account.save(update_fields=["balance"])
    return campaign


def upload(campaign, content=b"phone\n0612345601\n0612345602\n") -> CallFile:
    with scope(register=campaign.register):
        return call_file_upload(
            company=campaign.company,
            campaign=campaign,
            uploaded_by=None,
            upload=io.BytesIO(content),
            filename="calls.csv",
            confirm=True,
        )


def status_of(model, pk):
    with scopes_disabled():
        return model.objects.get(pk=pk)


def test_the_reaper_is_on_beats_schedule_every_interval():
    from django_celery_beat.schedulers import ModelEntry

    from config.celery_app import app

    entry = django_settings.CELERY_BEAT_SCHEDULE["reaper"]
    # As beat's DatabaseScheduler writes it when it starts.
    stored = ModelEntry.from_entry("reaper", app=app, **entry).model

    assert stored.task == "config.reaper.reap"
    assert "config.reaper.reap" in app.tasks
    assert stored.interval.every == django_settings.REAPER_INTERVAL_SECONDS <= 60
    assert stored.interval.period == "seconds"
    assert stored.expire_seconds == django_settings.REAPER_INTERVAL_SECONDS


def test_a_call_file_queued_with_no_task_is_queued_again_then_marked_once(
    campaign, broker, stuck_at_once, django_capture_on_commit_callbacks
):
    from campaigns.marking.tasks import call_file_mark_task

    broker.up = False
    with django_capture_on_commit_callbacks(execute=True):
        call_file = upload(campaign)
    broker.up = True
    assert status_of(CallFile, call_file.pk).status == CallFileStatus.QUEUED

    reaped = reap()
    for pk in broker.of("mark"):
        call_file_mark_task(pk)
    again = reap()

    assert reaped["call_files"] == 1
    assert broker.of("mark") == [call_file.pk]
    done = status_of(CallFile, call_file.pk)
    assert (done.status, done.credits_charged, bool(done.certificate)) == ("done", 2, True)
    assert again.get("call_files", 0) == 0
    with scopes_disabled():
        assert CreditEntry.objects.filter(reference=f"call-file:{call_file.pk}").count() == 1


def test_work_queued_less_than_the_threshold_ago_is_left_to_its_message(campaign, broker):
    call_file = upload(campaign)
    assert reap().get("call_files", 0) == 0
    assert status_of(CallFile, call_file.pk).status == CallFileStatus.QUEUED


def test_a_running_call_file_is_taken_over_only_when_its_lock_is_free(campaign, broker):
    call_file = upload(campaign)
    with scopes_disabled():
        CallFile.objects.filter(pk=call_file.pk).update(status=CallFileStatus.RUNNING)
    alive = connections.create_connection("default")
    try:
        with alive.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s)", [job_lock_key(CALL_FILE_LOCKS, call_file.pk)]
            )
        while_alive = reap().get("call_files", 0)
    finally:
        # The worker's session ends: PostgreSQL frees its lock with it.
        alive.close()
    after_death = reap().get("call_files", 0)

    assert (while_alive, after_death) == (0, 1)
    assert broker.of("mark") == [call_file.pk]


def test_a_charged_scrub_without_its_certificate_gets_one(
    campaign, broker, stuck_at_once, monkeypatch
):
    from campaigns.marking import job
    from campaigns.marking.tasks import call_file_mark_task

    call_file = upload(campaign)

    def disk_full(*, call_file_id):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(job, "call_file_certificate_render", disk_full)
        with pytest.raises(OSError):
            call_file_mark_task(call_file.pk)
    charged = status_of(CallFile, call_file.pk)
    assert (charged.status, charged.certificate.name) == ("done", "")

    reap()
    for pk in broker.of("mark"):
        call_file_mark_task(pk)

    certified = status_of(CallFile, call_file.pk)
    assert broker.of("mark") == [call_file.pk]
    assert certified.certificate.name.endswith(".pdf")
    assert certified.credits_charged == 2


def nl_download(nl, broker) -> Download:
    company = CompanyFactory(register=nl)
    campaign = CampaignFactory(company=company)
    LicenceFactory(company=company, campaign=campaign, product=get_product(nl, "download"))
    with scope(register=nl):
        return download_request(company=company, kind=DownloadKind.FULL, campaign=campaign)


def test_downloads_queued_with_no_task_or_running_with_a_dead_worker_are_queued_again(
    nl, broker, stuck_at_once, media_root
):
    queued = nl_download(nl, broker)
    running = nl_download(nl, broker)
    with scopes_disabled():
        Download.objects.filter(pk=running.pk).update(status=DownloadStatus.RUNNING)

    assert reap()["downloads"] == 2
    assert sorted(broker.of("download")) == sorted([queued.pk, running.pk])


def test_undelivered_letters_are_sent_once_whatever_the_passes(
    nl, broker, stuck_at_once, settings, media_root
):
    from complaints.tasks import letter_deliver

    with scope(register=nl):
        case = complaints.case_file(
            register=nl,
            kind="request",
            subject="Still called",
            body="A company keeps calling me.",
            filer_email="jan@example.com",
            filer_name="Jan",
            channel="portal",
            language="en",
        )
        staff = UserFactory(is_staff=True)
        complaints.case_decide(case=case, motivation="Done.", by=staff)
    with scopes_disabled():
        letter = Letter.objects.get(case=case)

    reap()
    for pk in broker.of("letter"):
        letter_deliver(pk)
    reap()
    for pk in broker.of("letter")[1:]:
        letter_deliver(pk)

    assert broker.of("letter") == [letter.pk]
    assert len(mail.outbox) == 1
    assert status_of(Letter, letter.pk).sent_at is not None


def test_an_upload_while_the_broker_is_down_answers_202_and_the_reaper_queues_it(
    client, campaign, broker, stuck_at_once, django_capture_on_commit_callbacks
):
    # Issue #11: a 500 after the row was committed `queued` — forever.
    ApiKeyFactory(company=campaign.company, raw="dnc_reaper_key")
    broker.up = False
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/campaigns/{campaign.pk}/call-files",
            {"file": io.BytesIO(b"phone\n0612345601\n")},
            HTTP_HOST="nl.localhost",
            HTTP_AUTHORIZATION="Bearer dnc_reaper_key",
        )
    broker.up = True

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert reap()["call_files"] == 1
    assert broker.of("mark") == [response.json()["id"]]


def test_a_pass_goes_on_when_one_kind_fails(nl, broker, stuck_at_once, media_root, monkeypatch):
    def broken(*, register):
        raise RuntimeError("the database blinked")

    monkeypatch.setitem(reaper.PASSES, "call_files", broken)
    download = nl_download(nl, broker)

    assert reap()["downloads"] == 1
    assert broker.of("download") == [download.pk]


def test_registration_files_queued_with_no_task_or_left_by_a_dead_worker_are_processed(
    nl, stuck_at_once, media_root, monkeypatch
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from uploads.models import FileStatus, RegistrationFile
    from uploads.services import registration_file_upload
    from uploads.tasks import registration_file_process_task

    published: list[int] = []
    monkeypatch.setattr("uploads.tasks.registration_file_process_task.delay", published.append)
    company = CompanyFactory(register=nl)
    content = b"number|categories|requested_on\n0612345601|ALL|2026-01-02\n"
    with scope(register=nl):
        queued = registration_file_upload(
            company=company, upload=SimpleUploadedFile("a.csv", content)
        )
        running = registration_file_upload(
            company=company, upload=SimpleUploadedFile("b.csv", content)
        )
    with scopes_disabled():
        RegistrationFile.objects.filter(pk=running.pk).update(status=FileStatus.RUNNING)

    assert reap()["registration_files"] == 2
    for pk in published:
        registration_file_process_task(pk)

    assert sorted(published) == sorted([queued.pk, running.pk])
    assert {status_of(RegistrationFile, pk).status for pk in published} == {FileStatus.DONE}
    assert reap().get("registration_files", 0) == 0


@pytest.mark.django_db(transaction=True)
def test_a_scrub_whose_database_session_dies_ends_failed_on_a_fresh_connection(
    campaign, broker, monkeypatch
):
    # Issue #11: the `failed` update went through the job's own connection, dead by then, and
    # the row stayed running. Now it is written on a fresh one; nothing is charged.
    from django.db import connection

    from campaigns.marking import job

    call_file = upload(campaign)
    real_require_licence = job._require_licence

    def session_killed(call_file, rows_total):
        real_require_licence(call_file, rows_total)
        pid = connection.connection.info.backend_pid
        killer = connections.create_connection("default")
        try:
            with killer.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            killer.close()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    monkeypatch.setattr(job, "_require_licence", session_killed)
    with pytest.raises(Exception), scopes_disabled():  # noqa: B017 - whichever the driver raises
        job.call_file_mark(call_file_id=call_file.pk)
    connection.close()

    failed = status_of(CallFile, call_file.pk)
    assert (failed.status, failed.error_code) == ("failed", "database_unavailable")
    assert "nothing was charged" in failed.error_message
    with scopes_disabled():
        assert not CreditEntry.objects.exists()
    assert reap().get("call_files", 0) == 0
