"""Every job endpoint in every state its object can be in (STYLE 16, issue #11), through the API:
call files, downloads, registration files and orders — queued, running, done, failed, rejected
where it exists, gone (purged, or the row deleted) — each answered with its status code and its
body's shape, never a 500. Before issue #11 a running download answered 500."""

import datetime
import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope, scopes_disabled

from billing.api import OrderOutput
from billing.models import Order
from billing.services import order_create, payment_start, payment_sync
from campaigns.downloads.api import DownloadSerializer
from campaigns.downloads.build import download_build
from campaigns.downloads.selectors import download_expected_key, download_progress_key
from campaigns.downloads.services import download_request, downloads_purge
from campaigns.marking.api import CallFileSerializer
from campaigns.marking.job import call_file_mark
from campaigns.marking.retention import call_files_purge
from campaigns.marking.services import call_file_upload
from campaigns.models import CallFile, Download, DownloadKind
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    LicenceFactory,
    get_product,
)
from uploads.api import RegistrationFileSerializer
from uploads.models import RegistrationFile
from uploads.services import registration_file_process, registration_file_upload

pytestmark = pytest.mark.django_db

KEY = "dnc_every_state"
ERROR_SHAPE = {"detail", "code"}


@pytest.fixture
def company(nl, media_root):
    company = CompanyFactory(register=nl)
    ApiKeyFactory(company=company, raw=KEY)
    return company


@pytest.fixture
def campaign(company):
    campaign = CampaignFactory(company=company)
    account = CreditAccountFactory(campaign=campaign)
    account.balance = 100
    with scopes_disabled():
        account.save(update_fields=["balance"])
    return campaign


def set_state(model, pk, **values):
    with scopes_disabled():
        model.objects.filter(pk=pk).update(**values)


def later(days: int = 400) -> datetime.date:
    return datetime.date.today() + datetime.timedelta(days=days)


# Builders: each makes the object in one state and answers (path, sub-resource path).


def call_file(state: str, campaign, **_) -> tuple[str, str]:
    with scope(register=campaign.register):
        made = call_file_upload(
            company=campaign.company,
            campaign=campaign,
            uploaded_by=None,
            upload=io.BytesIO(b"phone\n0612345601\n0612345602\n"),
            filename="calls.csv",
            confirm=True,
        )
    if state == "running":
        set_state(CallFile, made.pk, status="running", progress=40)
    elif state == "failed":
        set_state(
            CallFile, made.pk, status="failed", error_code="disk_full", error_message="Try later."
        )
    elif state == "rejected":
        set_state(
            CallFile,
            made.pk,
            status="rejected",
            error_code="insufficient_credits",
            error_message="Buy credits.",
        )
    elif state in ("done", "gone"):
        with scopes_disabled():
            call_file_mark(call_file_id=made.pk)
        if state == "gone":
            with scope(register=campaign.register):
                call_files_purge(register=campaign.register, today=later())
    return f"/api/v1/call-files/{made.pk}", f"/api/v1/call-files/{made.pk}/result"


def download(state: str, campaign, **_) -> tuple[str, str]:
    LicenceFactory(
        company=campaign.company,
        campaign=campaign,
        product=get_product(campaign.register, "download"),
    )
    with scope(register=campaign.register):
        made = download_request(company=campaign.company, kind=DownloadKind.FULL, campaign=campaign)
    if state == "running":
        set_state(Download, made.pk, status="running")
        cache.set_many({download_progress_key(made.pk): 5, download_expected_key(made.pk): 10})
    elif state == "failed":
        set_state(Download, made.pk, status="failed", licence=None, error="disk_full: test")
    elif state in ("done", "gone"):
        with scopes_disabled():
            download_build(download_id=made.pk)
        if state == "gone":
            with scope(register=campaign.register):
                downloads_purge(register=campaign.register, today=later())
    return f"/api/v1/downloads/{made.pk}", f"/api/v1/downloads/{made.pk}/file"


def registration_file(state: str, campaign, **_) -> tuple[str, None]:
    company = campaign.company
    LicenceFactory(company=company, product=get_product(campaign.register, "upload"))
    content = b"number|categories|requested_on\n0612345601|ALL|2026-01-02\n"
    with scope(register=campaign.register):
        made = registration_file_upload(
            company=company, upload=SimpleUploadedFile("r.csv", content)
        )
    if state == "running":
        set_state(RegistrationFile, made.pk, status="running")
    elif state == "failed":
        set_state(RegistrationFile, made.pk, status="failed", error="Try again later.")
    elif state == "done":
        with scopes_disabled():
            registration_file_process(file_id=made.pk)
    elif state == "gone":
        with scopes_disabled():
            RegistrationFile.objects.filter(pk=made.pk).delete()
    return f"/api/v1/registration-files/{made.pk}", None


def order(state: str, campaign, fake_mollie, monkeypatch, **_) -> tuple[str, str]:
    monkeypatch.setattr("billing.tasks.invoice_deliver.delay", lambda invoice_id: None)
    with scopes_disabled():
        made = order_create(
            company=campaign.company, lines=[{"product": "download", "campaign": campaign}]
        )
        payment = payment_start(order=made, base_url="http://nl.localhost/")
        if state == "paid":
            fake_mollie.store.set_status(payment_id=payment.provider_id, status="paid")
            payment_sync(payment_id=payment.provider_id)
        elif state != "open":
            set_state(Order, made.pk, status=state)
    return f"/api/v1/orders/{made.pk}", f"/api/v1/orders/{made.pk}/invoice.pdf"


SHAPES = {
    call_file: set(CallFileSerializer().fields),
    download: set(DownloadSerializer().fields),
    registration_file: set(RegistrationFileSerializer().fields),
    order: set(OrderOutput().fields),
}

# (builder, state, the status the body reports (None: a 404 in the error shape), the
# sub-resource's answer).
CASES = [
    (call_file, "queued", "queued", 409),
    (call_file, "running", "running", 409),
    (call_file, "done", "done", 200),
    (call_file, "failed", "failed", 409),
    (call_file, "rejected", "rejected", 409),
    (call_file, "gone", "done", 410),
    (download, "queued", "queued", 409),
    (download, "running", "running", 409),
    (download, "done", "done", 200),
    (download, "failed", "failed", 409),
    (download, "gone", "done", 410),
    (registration_file, "queued", "queued", None),
    (registration_file, "running", "running", None),
    (registration_file, "done", "done", None),
    (registration_file, "failed", "failed", None),
    (registration_file, "gone", None, None),
    (order, "open", "open", 404),
    (order, "paid", "paid", 200),
    (order, "failed", "failed", 404),
    (order, "canceled", "canceled", 404),
    (order, "expired", "expired", 404),
]


@pytest.mark.parametrize(
    ("build", "state", "reported", "sub_status"),
    CASES,
    ids=[f"{build.__name__}-{state}" for build, state, _r, _s in CASES],
)
def test_every_job_endpoint_answers_every_state_in_its_shape(
    client, campaign, fake_mollie, monkeypatch, build, state, reported, sub_status
):
    headers = {"HTTP_HOST": "nl.localhost", "HTTP_AUTHORIZATION": f"Bearer {KEY}"}
    path, sub_path = build(state, campaign, fake_mollie=fake_mollie, monkeypatch=monkeypatch)
    try:
        response = client.get(path, **headers)
        sub = client.get(sub_path, **headers) if sub_path else None
    finally:
        cache.clear()

    body = response.json()
    if reported is None:
        assert (response.status_code, set(body)) == (404, ERROR_SHAPE)
        return
    assert response.status_code == 200, body
    assert set(body) == SHAPES[build]
    assert body["status"] == reported
    if build is call_file:
        assert (body["error"] is not None) == (state in ("failed", "rejected"))
        assert (body["result_url"] is not None) == (state == "done")
        assert (body["certificate_url"] is not None) == (state in ("done", "gone"))
        assert body["progress"] == {"queued": 0, "running": 40}.get(state, 100)
    if build is download:
        assert (body["file_url"] is not None) == (state == "done")
        assert body["progress"] == {"queued": 0, "running": 50, "failed": None}.get(state, 100)
    if build is order:
        assert (body["invoice"] is not None) == (state == "paid")
        if state == "paid":
            assert body["invoice"]["pdf_url"].endswith(sub_path)
    if sub is not None:
        assert sub.status_code == sub_status
        if sub_status != 200:
            assert set(sub.json()) == ERROR_SHAPE
        else:
            b"".join(sub.streaming_content)
            sub.close()
