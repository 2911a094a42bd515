"""Live progress (issue #13 item 4): the status page follows the marking by itself (a script
polling the status JSON, a <noscript> refresh without script) and says the rows done and the time
left; the uploader is mailed when a file is done, refused or failed, in the upload's language.
Every portal endpoint of a call file answers every state of its job, never a 500 (STYLE 16)."""

import contextlib
import datetime
import io
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scope, scopes_disabled

from campaigns.marking.job import call_file_mark
from campaigns.marking.selectors import call_file_rows_done
from campaigns.marking.services import call_file_upload
from campaigns.models import CallFile, CallFileStatus
from licences.models import Role
from tests.factories import CampaignFactory, CompanyFactory, CreditAccountFactory, get_register
from tests.portal.conftest import client_for, member_of
from tests.test_job_states import call_file as build_call_file
from tests.test_job_states import set_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(media_root):
    return CompanyFactory(register=get_register("nl"))


@pytest.fixture
def campaign(company):
    campaign = CampaignFactory(company=company, name="Najaarsactie")
    CreditAccountFactory(campaign=campaign, balance=100)
    return campaign


@pytest.fixture
def uploader(company):
    return member_of(company, Role.MEMBER, "planner@najaar.example")


@pytest.fixture
def portal(uploader):
    return client_for(uploader)


def test_rows_done_and_time_left_follow_the_pace_so_far():
    now = timezone.now()
    running = CallFile(
        status=CallFileStatus.RUNNING,
        progress=25,
        rows_expected=40_000,
        started_at=now - datetime.timedelta(seconds=30),
    )

    assert call_file_rows_done(call_file=running, now=now) == {
        "rows_done": 10_000,
        "rows_expected": 40_000,
        # A quarter took 30 seconds: three more quarters take 90.
        "seconds_left": 90,
        "minutes_left": 2,
    }
    just_started = CallFile(
        status=CallFileStatus.RUNNING, progress=0, rows_expected=10, started_at=now
    )
    assert call_file_rows_done(call_file=just_started, now=now)["seconds_left"] is None
    queued = CallFile(status=CallFileStatus.QUEUED)
    assert call_file_rows_done(call_file=queued, now=now)["rows_done"] is None


def test_the_running_page_says_rows_and_time_left_and_refreshes_without_script(
    portal, campaign, uploader
):
    path, _result = build_call_file("running", campaign)
    pk = int(path.rsplit("/", 1)[1])
    set_state(
        CallFile,
        pk,
        progress=50,
        rows_expected=12_000,
        started_at=timezone.now() - datetime.timedelta(seconds=40),
    )

    page = portal.get(reverse("call_files:detail", args=[pk])).content.decode()
    status = portal.get(reverse("call_files:status", args=[pk])).json()

    assert "About 6,000 of 12,000 rows done." in page
    # Half took 40 seconds: the other half takes about as long.
    assert "Less than a minute left." in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    # The polling script runs under the page's CSP nonce.
    nonce = re.search(r'<script nonce="([^"]+)">', page)[1]
    assert nonce
    assert status["rows_done"] == 6_000 and status["rows_expected"] == 12_000
    assert 38 <= status["seconds_left"] <= 45
    assert status["final"] is False


# Every state: the pages and downloads of a call file.

STATES = ["draft", "queued", "running", "done", "failed", "rejected", "gone", "deleted"]


def make(state: str, campaign) -> int:
    if state == "draft":
        with scope(register=campaign.register):
            return call_file_upload(
                company=campaign.company,
                campaign=campaign,
                uploaded_by=None,
                upload=io.BytesIO(b"phone\n0612345601\nhallo\n"),
                filename="calls.csv",
                confirm=False,
            ).pk
    path, _result = build_call_file("done" if state == "deleted" else state, campaign)
    pk = int(path.rsplit("/", 1)[1])
    if state == "deleted":
        with scopes_disabled():
            CallFile.objects.filter(pk=pk).delete()
    return pk


@pytest.mark.parametrize("state", STATES)
def test_every_portal_endpoint_answers_every_state(portal, campaign, state):
    pk = make(state, campaign)
    urls = {
        name: reverse(f"call_files:{name}", args=[pk])
        for name in ("detail", "preview", "status", "result", "certificate", "problems")
    }

    answers = {name: portal.get(url) for name, url in urls.items()}

    codes = {name: response.status_code for name, response in answers.items()}
    if state == "deleted":
        assert set(codes.values()) == {404}
        return
    assert 500 not in codes.values()
    expected = {
        "detail": 302 if state == "draft" else 200,
        "preview": 200 if state == "draft" else 302,
        "status": 200,
        "result": 200 if state == "done" else 404,
        "certificate": 200 if state in ("done", "gone") else 404,
        # The CSV belongs to the preview: without the preview's settings it cannot be read.
        "problems": 400 if state == "draft" else 404,
    }
    assert codes == expected
    status = answers["status"].json()
    assert set(status) == {
        "status",
        "progress",
        "rows_done",
        "rows_expected",
        "seconds_left",
        "minutes_left",
        "final",
    }
    # Nothing more to wait for but while the job is to run or runs.
    assert status["final"] is (state not in ("queued", "running"))
    if state != "draft":
        page = answers["detail"].content.decode()
        assert ('http-equiv="refresh"' in page) is (state in ("queued", "running"))
    for response in answers.values():
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
            response.close()


# The mail when the job ends


def upload_as(uploader, campaign, content: bytes, language: str) -> CallFile:
    with translation.override(language), scope(register=campaign.register):
        return call_file_upload(
            company=campaign.company,
            campaign=campaign,
            uploaded_by=uploader,
            upload=io.BytesIO(content),
            filename="najaar.csv",
            confirm=False,
        )


def queue_and_mark(call_file, django_capture_on_commit_callbacks):
    set_state(CallFile, call_file.pk, status=CallFileStatus.QUEUED)
    # A failing job raises after recording the failure, for Celery to log.
    with (
        django_capture_on_commit_callbacks(execute=True),
        scopes_disabled(),
        contextlib.suppress(FileNotFoundError),
    ):
        call_file_mark(call_file_id=call_file.pk)


def test_the_uploader_is_mailed_the_counts_and_links_when_done(
    uploader, campaign, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL_BASE_URL_TEMPLATE = "https://{host}"
    call_file = upload_as(uploader, campaign, b"telefoon\n0612345601\nhallo\n0800 0123456\n", "nl")

    queue_and_mark(call_file, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert message.to == ["planner@najaar.example"]
    assert message.subject.startswith("“najaar.csv” is gemarkeerd")
    body = message.body
    for line in ("Records: 3", "Geblokkeerd: 0", "Mag gebeld worden: 1", "Ongeldig: 1"):
        assert line in body, body
    assert f"https://nl.localhost/campaigns/call-files/{call_file.pk}/" in body
    assert f"https://nl.localhost/campaigns/call-files/{call_file.pk}/result/" in body
    assert f"https://nl.localhost/campaigns/call-files/{call_file.pk}/certificate/" in body


def test_the_uploader_is_mailed_why_a_file_was_refused_in_their_language(
    uploader, company, django_capture_on_commit_callbacks
):
    poor = CampaignFactory(company=company)
    CreditAccountFactory(campaign=poor, balance=1)
    call_file = upload_as(uploader, poor, b"telephone\n0612345601\n0612345602\n", "fr")

    queue_and_mark(call_file, django_capture_on_commit_callbacks)

    [message] = mail.outbox
    assert "a été refusé" in message.subject
    assert "2" in message.body and "Aucun montant n'a été débité." in message.body


def test_the_uploader_is_mailed_when_marking_fails(
    uploader, campaign, django_capture_on_commit_callbacks
):
    call_file = upload_as(uploader, campaign, b"phone\n0612345601\n", "en")
    call_file.file.storage.delete(call_file.file.name)

    queue_and_mark(call_file, django_capture_on_commit_callbacks)

    with scopes_disabled():
        call_file.refresh_from_db()
    assert call_file.status == CallFileStatus.FAILED
    [message] = mail.outbox
    assert message.subject.startswith("“najaar.csv” could not be marked")
    assert "Nothing was charged." in message.body
    assert f"/campaigns/{campaign.pk}/call-files/new/" in message.body


def test_a_file_uploaded_by_nobody_mails_nobody(campaign, django_capture_on_commit_callbacks):
    path, _result = build_call_file("queued", campaign)
    with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
        call_file_mark(call_file_id=int(path.rsplit("/", 1)[1]))

    assert mail.outbox == []
