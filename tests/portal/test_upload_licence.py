"""The upload licence (SPEC §11, seed 000): free, but requested in the portal and granted by
register staff in the admin, never self-served by a €0 order — it writes into the register."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scope, scopes_disabled

from billing.models import Order
from licences.models import (
    Licence,
    LicenceSource,
    UploadLicenceRequest,
    UploadLicenceRequestStatus,
)
from licences.services import NotForSale, licences_activate
from register.models import ActionLog, BlockedNumber
from tests.factories import ApiKeyFactory, get_product, register_staff
from tests.portal.conftest import client_for
from uploads.models import FileStatus, RegistrationFile
from uploads.services import registration_file_process

pytestmark = pytest.mark.django_db

KEY = "dnc_upload_licence_key"
API = {"HTTP_HOST": "nl.localhost", "HTTP_AUTHORIZATION": f"Bearer {KEY}"}


@pytest.fixture
def api_key(company):
    ApiKeyFactory(company=company, raw=KEY)
    return KEY


@pytest.fixture
def desk(nl):
    """Register staff of nl who may decide upload licence requests."""
    return register_staff(nl, "view_uploadlicencerequest", "change_uploadlicencerequest")


def staff_client(user) -> Client:
    client = Client(HTTP_HOST="nl.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def upload_licences(company) -> list[Licence]:
    with scopes_disabled():
        return list(Licence.objects.filter(company=company, product__kind="upload"))


def test_a_zero_euro_order_of_the_upload_licence_is_refused_by_the_api(client, company, api_key):
    response = client.post(
        "/api/v1/orders",
        {"lines": [{"product": "upload", "quantity": 1}]},
        content_type="application/json",
        **API,
    )

    assert response.status_code == 400
    assert response.json()["code"] == "not_for_sale"
    with scopes_disabled():
        assert not Order.objects.exists()
    assert upload_licences(company) == []


def test_no_order_can_activate_the_upload_licence(nl, company):
    # Defence in depth: billing's activation of a paid (or €0) order line refuses it too.
    with scope(register=nl), pytest.raises(NotForSale) as refused:
        licences_activate(
            company=company,
            product=get_product(nl, "upload"),
            source=LicenceSource.ORDER,
            reference="order-line:1",
        )
    assert refused.value.code == "not_for_sale"
    assert upload_licences(company) == []


def test_without_the_licence_the_upload_page_points_to_the_request(owner):
    response = client_for(owner).get("/registrations/new/")

    assert response.status_code == 403
    assert "/account/licences/#upload-licence" in response.text


def test_a_member_requests_the_licence_in_the_portal_recording_who_and_when(member, company):
    client = client_for(member)
    assert "Request the upload licence" in client.get("/account/licences/").text

    response = client.post("/account/licences/upload/request/")
    again = client.post("/account/licences/upload/request/")

    assert response.status_code == again.status_code == 302
    with scopes_disabled():
        (request,) = UploadLicenceRequest.objects.filter(company=company)
    assert (request.status, request.requested_by) == (UploadLicenceRequestStatus.PENDING, member)
    assert request.requested_at is not None
    page = client.get("/account/licences/").text
    assert "Request the upload licence" not in page
    assert "member@korenschoof.example" in page
    assert upload_licences(company) == []


def test_an_accountant_cannot_request_it(accountant, company):
    client_for(accountant).post("/account/licences/upload/request/")

    with scopes_disabled():
        assert not UploadLicenceRequest.objects.exists()


def test_staff_grant_in_the_admin_and_then_a_registration_file_is_processed(
    client, owner, company, desk, api_key
):
    client_for(owner).post("/account/licences/upload/request/")
    with scopes_disabled():
        request = UploadLicenceRequest.objects.get()
    refused = client.post(
        "/api/v1/registration-files",
        {"file": SimpleUploadedFile("r.csv", b"number|categories|requested_on\n")},
        **API,
    )
    assert refused.status_code == 403

    response = staff_client(desk).post(
        "/admin/licences/uploadlicencerequest/",
        {"action": "grant", "_selected_action": [request.pk]},
    )

    assert response.status_code == 302
    with scopes_disabled():
        request.refresh_from_db()
        (licence,) = upload_licences(company)
        logged = ActionLog.objects.get(action="upload_licence.granted")
    assert request.status == UploadLicenceRequestStatus.GRANTED
    assert (request.decided_by, request.licence) == (desk, licence)
    assert request.decided_at is not None
    assert (licence.source, licence.granted_by) == (LicenceSource.GRANT, desk)
    assert logged.actor == desk

    today = company.register.today().isoformat()
    uploaded = client.post(
        "/api/v1/registration-files",
        {
            "file": SimpleUploadedFile(
                "r.csv", f"number|categories|requested_on\n0612345678|ALL|{today}\n".encode()
            )
        },
        **API,
    )
    assert uploaded.status_code == 202
    with scopes_disabled():
        registration_file_process(file_id=uploaded.json()["id"])
        assert RegistrationFile.objects.get().status == FileStatus.DONE
        assert BlockedNumber.objects.filter(number=31612345678).exists()


def test_a_decided_request_is_not_granted_again(owner, company, desk):
    client_for(owner).post("/account/licences/upload/request/")
    with scopes_disabled():
        request = UploadLicenceRequest.objects.get()
    client = staff_client(desk)

    client.post(
        "/admin/licences/uploadlicencerequest/",
        {"action": "decline", "_selected_action": [request.pk]},
    )
    client.post(
        "/admin/licences/uploadlicencerequest/",
        {"action": "grant", "_selected_action": [request.pk]},
    )

    with scopes_disabled():
        request.refresh_from_db()
    assert (request.status, request.decided_by) == (UploadLicenceRequestStatus.DECLINED, desk)
    assert upload_licences(company) == []


def test_staff_without_the_permission_cannot_grant(owner, company, desk):
    desk.user_permissions.remove(Permission.objects.get(codename="change_uploadlicencerequest"))
    client_for(owner).post("/account/licences/upload/request/")
    with scopes_disabled():
        request = UploadLicenceRequest.objects.get()

    staff_client(desk).post(
        "/admin/licences/uploadlicencerequest/",
        {"action": "grant", "_selected_action": [request.pk]},
    )

    assert upload_licences(company) == []


def test_the_service_desk_decides_requests_and_reverts_files(db):
    # register/migrations/0015: the demo staff of nl (service desk) can do both in the admin.
    from django.contrib.auth.models import Group

    codenames = set(
        Group.objects.get(name="service desk").permissions.values_list("codename", flat=True)
    )
    assert {
        "view_uploadlicencerequest",
        "change_uploadlicencerequest",
        "revert_registrationfile",
    } <= codenames


def test_the_request_s_admin_page_shows_who_granted_it(owner, company, desk):
    client_for(owner).post("/account/licences/upload/request/")
    with scopes_disabled():
        request = UploadLicenceRequest.objects.get()
    client = staff_client(desk)
    client.post(
        "/admin/licences/uploadlicencerequest/",
        {"action": "grant", "_selected_action": [request.pk]},
    )

    desk_page = client.get(f"/admin/licences/uploadlicencerequest/{request.pk}/change/").text
    # The action log is for superusers (register/migrations/0013_staff_roles).
    superuser = get_user_model().objects.create_superuser(
        username="root@infofilter.example", email="root@infofilter.example", password="pw-root"
    )
    log_page = (
        staff_client(superuser)
        .get(f"/admin/licences/uploadlicencerequest/{request.pk}/change/")
        .text
    )

    assert "desk@infofilter.example" in desk_page
    assert "upload_licence.granted" in log_page
