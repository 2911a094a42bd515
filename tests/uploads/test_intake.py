"""Uploading a registration file (SPEC §11, §16): the licence, bad files, the report."""

import datetime
import hashlib

import pytest
from django.test import Client
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from licences.models import LicenceStatus, Role
from tests.factories import (
    ApiKeyFactory,
    CompanyFactory,
    LicenceFactory,
    MembershipFactory,
    get_product,
)
from tests.uploads.conftest import HEADER, deliver, file_of
from uploads import services
from uploads.models import FileStatus, RegistrationFile

pytestmark = pytest.mark.django_db

HOST = "nl.localhost"
GOOD = f"{HEADER}\n0612345678|ALL|2026-03-02\n"


@pytest.fixture
def api(api_key) -> APIClient:
    client = APIClient(HTTP_HOST=HOST)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The ids queued for the worker after commit."""
    ids: list[int] = []
    monkeypatch.setattr(
        "uploads.tasks.registration_file_process_task.delay", lambda file_id: ids.append(file_id)
    )
    return ids


def post(api, content, name="registrations.csv"):
    return api.post("/api/v1/registration-files", {"file": file_of(content, name)})


def test_upload_is_accepted_stored_with_its_hash_and_queued_after_commit(
    api, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, GOOD)
    assert response.status_code == 202
    assert response.json() == {"id": response.json()["id"], "status": "queued"}
    with scopes_disabled():
        registration_file = RegistrationFile.objects.get(pk=response.json()["id"])
        assert registration_file.sha256 == hashlib.sha256(GOOD.encode()).hexdigest()
        with registration_file.file.open("rb") as stored:
            assert stored.read() == GOOD.encode()
    assert queued == [registration_file.pk]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "file_empty"),
        (b"\n  \n", "file_empty"),
        (f"{HEADER}\n".encode(), "file_empty"),
        (b"number;categories;requested_on\n0612345678;ALL;2026-03-02\n", "wrong_header"),
        (b"0612345678|ALL|2026-03-02\n", "wrong_header"),
        (f"{HEADER}\n0612345678|ALL|2026-03-02 caf\xe9\n".encode("latin-1"), "not_utf8"),
    ],
    ids=["empty", "blank", "header only", "semicolons", "no header", "latin-1"],
)
def test_a_bad_file_is_a_400_that_says_why(api, queued, content, code):
    response = post(api, content)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["detail"]
    with scopes_disabled():
        assert not RegistrationFile.objects.exists()


def test_the_header_may_carry_a_byte_order_mark_spaces_and_capitals(api, queued):
    content = "\ufeffNumber | Categories | Requested_on\r\n0612345678|ALL|2026-03-02\r\n"
    assert post(api, content.encode()).status_code == 202


def test_a_file_over_the_limit_is_a_413(api, queued, monkeypatch):
    monkeypatch.setattr(services, "MAX_FILE_BYTES", len(GOOD) - 1)
    response = post(api, GOOD)
    assert (response.status_code, response.json()["code"]) == (413, "file_too_large")


def test_no_file_is_a_400(api):
    response = api.post("/api/v1/registration-files", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


@pytest.mark.parametrize(
    "licence",
    ["none", "expired", "ended", "another product"],
)
def test_without_a_usable_upload_licence_the_api_answers_403(nl, licence, queued):
    company = CompanyFactory(register=nl)
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    if licence == "expired":
        LicenceFactory(company=company, status=LicenceStatus.EXPIRED)
    elif licence == "ended":
        LicenceFactory(
            company=company, starts_on=yesterday - datetime.timedelta(days=9), ends_on=yesterday
        )
    elif licence == "another product":
        LicenceFactory(company=company, product=get_product(nl, "service"))
    ApiKeyFactory(company=company, raw="dnc_no_upload")
    client = APIClient(HTTP_HOST=HOST)
    client.credentials(HTTP_AUTHORIZATION="Bearer dnc_no_upload")
    response = post(client, GOOD)
    assert (response.status_code, response.json()["code"]) == (403, "licence_required")
    assert queued == []


def test_a_cancelled_licence_still_serves_until_its_end(nl, queued):
    company = CompanyFactory(register=nl)
    LicenceFactory(company=company, status=LicenceStatus.CANCELLED)
    ApiKeyFactory(company=company, raw="dnc_cancelled")
    client = APIClient(HTTP_HOST=HOST)
    client.credentials(HTTP_AUTHORIZATION="Bearer dnc_cancelled")
    assert post(client, GOOD).status_code == 202


def test_the_report_in_the_api(api, licensed):
    registration_file = deliver(
        licensed,
        ["0612345678|ALL|2026-03-02", "12345|ALL|2026-03-02", "0201234567|ALL|2026-02-02"],
        on=datetime.date(2026, 3, 16),
    )
    response = api.get(f"/api/v1/registration-files/{registration_file.pk}")
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in body if key not in ("created_at", "finished_at")} == {
        "id": registration_file.pk,
        "status": "done",
        "filename": "registrations.csv",
        "sha256": registration_file.sha256,
        "size": registration_file.size,
        "rows_total": 3,
        "registered": 2,
        "already_registered": 0,
        "invalid": 1,
        "late": 1,
        "problems": [
            {"line": 3, "number": "12345", "reason": "invalid", "requested_on": None},
            {"line": 4, "number": "0201234567", "reason": "late", "requested_on": "2026-02-02"},
        ],
        "error": None,
        "reverted_at": None,
    }
    assert body["created_at"] and body["finished_at"]


def test_another_companys_file_is_a_404(api, nl):
    other = CompanyFactory(register=nl)
    LicenceFactory(company=other)
    registration_file = deliver(other, ["0612345678|ALL|2026-03-02"], on=datetime.date(2026, 3, 3))
    response = api.get(f"/api/v1/registration-files/{registration_file.pk}")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.fixture
def browser(licensed) -> Client:
    client = Client(HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(MembershipFactory(company=licensed, role=Role.MEMBER).user)
    return client


def test_the_portal_upload_page_documents_the_layout_and_uploads(browser, queued):
    page = browser.get("/registrations/new/")
    assert page.status_code == 200
    assert "number|categories|requested_on" in page.text
    assert "commercial" in page.text
    response = browser.post("/registrations/new/", {"file": file_of(GOOD)})
    with scopes_disabled():
        registration_file = RegistrationFile.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/registrations/{registration_file.pk}/"


def test_the_portal_shows_a_bad_file_on_the_form(browser, queued):
    response = browser.post("/registrations/new/", {"file": file_of(b"number|x\n1|2\n")})
    assert response.status_code == 200
    assert "The first line must be the header number|categories|requested_on." in response.text


def test_the_portal_upload_page_explains_the_missing_licence(nl):
    company = CompanyFactory(register=nl)
    client = Client(HTTP_HOST=HOST, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(MembershipFactory(company=company, role=Role.OWNER).user)
    for response in (client.get("/registrations/new/"), client.post("/registrations/new/")):
        assert response.status_code == 403
        assert "upload licence" in response.text
        assert "/billing/shop/" in response.text


def test_the_portal_lists_files_and_shows_the_report(browser, licensed):
    registration_file = deliver(
        licensed,
        ["0612345678|ALL|2026-03-02", "+32 471 12 34 56|ALL|2026-03-02"],
        on=datetime.date(2026, 3, 17),
    )
    listing = browser.get("/registrations/")
    assert listing.status_code == 200
    assert f"/registrations/{registration_file.pk}/" in listing.text
    report = browser.get(f"/registrations/{registration_file.pk}/")
    assert report.status_code == 200
    assert "a number of another country" in report.text
    assert "+32 471 12 34 56" in report.text
    assert "delivered more than 10 working days after the request" in report.text


def test_the_portal_report_of_a_file_being_processed(browser, licensed, queued):
    with scopes_disabled():
        registration_file = services.registration_file_upload(
            company=licensed, upload=file_of(GOOD)
        )
    report = browser.get(f"/registrations/{registration_file.pk}/")
    assert registration_file.status == FileStatus.QUEUED
    assert "The rows are being processed." in report.text
