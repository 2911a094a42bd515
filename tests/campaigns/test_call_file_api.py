"""API v1 call files (SPEC §8, §16): upload, follow, fetch the result and the certificate."""

import datetime
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from campaigns.marking.job import call_file_mark
from campaigns.marking.retention import call_files_purge
from campaigns.marking.services import call_file_upload
from campaigns.models import CallFile, CallFileStatus
from licences.models import CreditEntry
from register.models import BlockedNumber, Channel
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    get_register,
)

pytestmark = pytest.mark.django_db

FILE = b"naam;telefoon\nJansen;0612345678\nDe Vries;0687654321\nBakker;12\n"
DETAIL_FIELDS = {
    "id",
    "campaign",
    "filename",
    "status",
    "progress",
    "rows_total",
    "rows_blocked",
    "rows_callable",
    "rows_invalid",
    "rows_out_of_scope",
    "leave_out_duplicates",
    "rows_left_out",
    "credits_charged",
    "valid_until",
    "error",
    "result_url",
    "certificate_url",
    "certificate_reference",
    "created_at",
    "finished_at",
}


@pytest.fixture(autouse=True)
def _media(request):
    """Uploads, results and certificates go to a temporary folder; with a real worker (another
    process, with its own settings) where the settings put them, deleted afterwards."""
    if "celery_worker_process" not in request.fixturenames:
        request.getfixturevalue("media_root")
    else:
        request.getfixturevalue("stored_files")


@pytest.fixture
def company():
    return CompanyFactory(register=get_register("nl"), name="Bakkerij B.V.")


@pytest.fixture
def campaign(company):
    campaign = CampaignFactory(company=company)
    CreditAccountFactory(campaign=campaign, balance=100)
    return campaign


@pytest.fixture
def client(company) -> APIClient:
    return client_for(company, "dnc_call_file_key")


@pytest.fixture
def registered():
    with scopes_disabled():
        BlockedNumber.objects.create(
            register=get_register("nl"),
            number=31612345678,
            registered_on=datetime.date(2024, 5, 1),
            channel=Channel.WEB,
        )


def client_for(company, key: str) -> APIClient:
    ApiKeyFactory(company=company, raw=key)
    client = APIClient(HTTP_HOST=f"{company.register.slug}.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def post_file(client, campaign, content: bytes = FILE, name: str = "lijst.csv", **fields):
    return client.post(
        f"/api/v1/campaigns/{campaign.pk}/call-files",
        {"file": SimpleUploadedFile(name, content), **fields},
        format="multipart",
    )


def upload_and_mark(client, campaign, django_capture_on_commit_callbacks, **fields) -> int:
    """Uploads through the API and runs the job queued on commit, as the worker would."""
    with django_capture_on_commit_callbacks() as queued:
        response = post_file(client, campaign, **fields)
    assert response.status_code == 202, response.json()
    assert len(queued) == 1
    with scopes_disabled():
        call_file_mark(call_file_id=response.json()["id"])
    return response.json()["id"]


def test_upload_is_accepted_and_queued(client, campaign, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = post_file(client, campaign)
    assert response.status_code == 202
    body = response.json()
    assert body == {"id": body["id"], "status": "queued"}
    assert len(queued) == 1  # the marking job, once the row is committed

    response = client.get(f"/api/v1/call-files/{body['id']}")
    assert response.status_code == 200
    detail = response.json()
    assert set(detail) == DETAIL_FIELDS
    assert detail | {"created_at": None} == {
        "id": body["id"],
        "campaign": campaign.pk,
        "filename": "lijst.csv",
        "status": "queued",
        "progress": 0,
        "rows_total": None,
        "rows_blocked": None,
        "rows_callable": None,
        "rows_invalid": None,
        "rows_out_of_scope": None,
        "leave_out_duplicates": False,
        "rows_left_out": None,
        "credits_charged": 0,
        "valid_until": None,
        "error": None,
        "result_url": None,
        "certificate_url": None,
        "certificate_reference": None,
        "created_at": None,
        "finished_at": None,
    }
    for part in ("result", "certificate"):
        response = client.get(f"/api/v1/call-files/{body['id']}/{part}")
        assert response.status_code == 409
        assert response.json()["code"] == "not_ready"


def test_a_marked_file_shows_counts_links_and_serves_both_files(
    client, campaign, registered, django_capture_on_commit_callbacks
):
    call_file_id = upload_and_mark(client, campaign, django_capture_on_commit_callbacks)
    detail = client.get(f"/api/v1/call-files/{call_file_id}").json()
    reference = detail["certificate_reference"]
    with scopes_disabled():
        assert reference == CallFile.objects.get(pk=call_file_id).certificate_reference
    assert reference.startswith("NL-") and len(reference) == len("NL-XXXX-XXXX")
    assert {key: detail[key] for key in DETAIL_FIELDS - {"created_at", "finished_at"}} == {
        "id": call_file_id,
        "campaign": campaign.pk,
        "filename": "lijst.csv",
        "status": "done",
        "progress": 100,
        "rows_total": 3,
        "rows_blocked": 1,
        "rows_callable": 1,
        "rows_invalid": 1,
        "rows_out_of_scope": 0,
        "leave_out_duplicates": False,
        "rows_left_out": 0,
        "credits_charged": 3,
        "valid_until": detail["valid_until"],
        "error": None,
        "result_url": f"http://nl.localhost/api/v1/call-files/{call_file_id}/result",
        "certificate_url": f"http://nl.localhost/api/v1/call-files/{call_file_id}/certificate",
        "certificate_reference": reference,
    }
    assert datetime.date.fromisoformat(detail["valid_until"]) > datetime.date.today()
    assert detail["finished_at"] is not None

    result = client.get(f"/api/v1/call-files/{call_file_id}/result")
    assert result.status_code == 200
    assert result["Content-Type"].startswith("text/csv")
    assert result["Content-Disposition"] == 'attachment; filename="lijst-marked.csv"'
    assert result["X-Content-Type-Options"] == "nosniff"
    assert b"".join(result.streaming_content).decode().splitlines() == [
        "naam;telefoon;dnc_status;dnc_reason;dnc_number;dnc_registered_on",
        "Jansen;0612345678;BLOCKED;REGISTERED;+31612345678;2024-05-01",
        "De Vries;0687654321;CALLABLE;;+31687654321;",
        "Bakker;12;INVALID;INVALID_NUMBER;;",
    ]

    certificate = client.get(f"/api/v1/call-files/{call_file_id}/certificate")
    assert certificate.status_code == 200
    assert certificate["Content-Type"] == "application/pdf"
    assert certificate["Content-Disposition"].startswith("attachment;")
    assert b"".join(certificate.streaming_content).startswith(b"%PDF")


def test_the_optional_fields_override_detection(
    client, campaign, django_capture_on_commit_callbacks
):
    # Without a header and with two number columns, the caller says which one to mark.
    content = b"1001|0612345678|0687654321\n1002|0611111111|0622222222\n"
    call_file_id = upload_and_mark(
        client,
        campaign,
        django_capture_on_commit_callbacks,
        content=content,
        delimiter="|",
        has_header="false",
        phone_column="3",
        encoding="utf-8",
    )
    with scopes_disabled():
        call_file = CallFile.objects.get(pk=call_file_id)
    assert (call_file.delimiter, call_file.has_header, call_file.phone_column) == ("|", False, 3)
    result = client.get(f"/api/v1/call-files/{call_file_id}/result")
    assert b"".join(result.streaming_content).splitlines()[0] == (
        b"1001|0612345678|0687654321|CALLABLE||+31687654321|"
    )


def test_a_header_name_picks_the_phone_column(client, campaign):
    response = post_file(
        client, campaign, b"vast;mobiel\n0301234567;0612345678\n", phone_column="mobiel"
    )
    assert response.status_code == 202
    with scopes_disabled():
        assert CallFile.objects.get(pk=response.json()["id"]).phone_column == 2


@pytest.mark.parametrize(
    ("content", "fields", "code", "in_message"),
    [
        (b"", {}, "empty_file", ""),
        (b"naam;telefoon\n", {}, "header_only", ""),
        (b"naam;telefoon\nJansen;0612345678\nBakker;0687654321;x\n", {}, "ragged_rows", "3"),
        (b'naam;telefoon\n"Jansen;0612345678\n', {}, "unbalanced_quotes", "2"),
        (b"\x00\x01\x02binary\x00\x00\x00", {}, "binary_file", ""),
        (b"naam;telefoon\nJansen;0612345678\n", {"phone_column": "fax"}, "invalid_setting", ""),
        (b"naam;telefoon\nJansen;0612345678\n", {"phone_column": "9"}, "invalid_setting", ""),
    ],
    ids=["empty", "header-only", "ragged", "quotes", "binary", "no-such-name", "no-such-index"],
)
def test_a_bad_file_is_a_400_with_the_intake_s_code_and_nothing_kept(
    client, campaign, content, fields, code, in_message
):
    response = post_file(client, campaign, content, **fields)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["detail"]
    assert in_message in body["detail"]
    with scopes_disabled():
        assert not CallFile.objects.exists()


def test_an_unknown_setting_value_is_a_field_error(client, campaign):
    response = post_file(client, campaign, encoding="ebcdic")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "encoding" in response.json()


@override_settings(CALL_FILE_MAX_BYTES=32)
def test_a_file_over_the_limit_is_a_413(client, campaign):
    response = post_file(client, campaign)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    with scopes_disabled():
        assert not CallFile.objects.exists()


def test_another_company_s_campaign_and_files_are_404(
    client, campaign, django_capture_on_commit_callbacks
):
    call_file_id = upload_and_mark(client, campaign, django_capture_on_commit_callbacks)
    other = client_for(CompanyFactory(register=campaign.register), "dnc_other_key")
    assert post_file(other, campaign).status_code == 404
    for path in ("", "/result", "/certificate"):
        response = other.get(f"/api/v1/call-files/{call_file_id}{path}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_a_portal_draft_is_not_in_the_api(client, company, campaign):
    with scopes_disabled():
        draft = call_file_upload(
            company=company,
            campaign=campaign,
            uploaded_by=None,
            upload=SimpleUploadedFile("concept.csv", FILE),
            filename="concept.csv",
            confirm=False,
        )
    assert draft.status == CallFileStatus.DRAFT
    for path in ("", "/result", "/certificate"):
        assert client.get(f"/api/v1/call-files/{draft.pk}{path}").status_code == 404


def test_a_refused_file_says_why_and_has_no_files(
    client, company, django_capture_on_commit_callbacks
):
    poor = CampaignFactory(company=company)
    CreditAccountFactory(campaign=poor, balance=2)
    call_file_id = upload_and_mark(client, poor, django_capture_on_commit_callbacks)
    detail = client.get(f"/api/v1/call-files/{call_file_id}").json()
    assert detail["status"] == "rejected"
    assert detail["error"]["code"] == "insufficient_credits"
    assert "3" in detail["error"]["message"] and "2" in detail["error"]["message"]
    assert (detail["result_url"], detail["certificate_url"]) == (None, None)
    assert detail["credits_charged"] == 0
    response = client.get(f"/api/v1/call-files/{call_file_id}/result")
    assert response.status_code == 409
    assert detail["error"]["message"] in response.json()["detail"]
    with scopes_disabled():
        assert not CreditEntry.objects.filter(reason=CreditEntry.Reason.SCRUB).exists()


def test_after_the_use_period_the_result_is_gone_and_the_certificate_stays(
    client, campaign, django_capture_on_commit_callbacks
):
    call_file_id = upload_and_mark(client, campaign, django_capture_on_commit_callbacks)
    with scopes_disabled():
        valid_until = CallFile.objects.get(pk=call_file_id).valid_until
        call_files_purge(
            register=get_register("nl"), today=valid_until + datetime.timedelta(days=1)
        )
    detail = client.get(f"/api/v1/call-files/{call_file_id}").json()
    assert detail["result_url"] is None
    assert detail["certificate_url"] is not None
    response = client.get(f"/api/v1/call-files/{call_file_id}/result")
    assert response.status_code == 410
    assert response.json()["code"] == "gone"
    certificate = client.get(f"/api/v1/call-files/{call_file_id}/certificate")
    assert certificate.status_code == 200
    b"".join(certificate.streaming_content)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_marks_an_uploaded_file_end_to_end(celery_worker_process):
    """The worker is another process: it sees the upload once committed, and the API shows
    its progress until the result and the certificate are there."""
    company = CompanyFactory(register=get_register("nl"))
    campaign = CampaignFactory(company=company)
    CreditAccountFactory(campaign=campaign, balance=100)
    client = client_for(company, "dnc_worker_key")
    response = post_file(client, campaign)
    assert response.status_code == 202
    url = f"/api/v1/call-files/{response.json()['id']}"
    deadline = time.monotonic() + 60
    while (detail := client.get(url).json())["certificate_url"] is None:
        assert detail["status"] in ("queued", "running", "done"), detail
        assert time.monotonic() < deadline, detail
        time.sleep(0.25)
    assert (detail["status"], detail["progress"], detail["rows_total"]) == ("done", 100, 3)
    result = client.get(detail["result_url"])
    assert result.status_code == 200
    lines = b"".join(result.streaming_content).splitlines()
    assert lines[0] == b"naam;telefoon;dnc_status;dnc_reason;dnc_number;dnc_registered_on"
    assert len(lines) == 4
