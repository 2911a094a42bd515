"""A full disk (ENOSPC) while an upload is stored (issue #11, STYLE 19): a 507 with a clear
message — `{"detail", "code": "insufficient_storage"}` in the API, a form error in the portal —
and nothing kept: no row, no partial file to keep the disk full."""

import errno
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scopes_disabled

from campaigns.models import CallFile
from licences.models import Role
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    LicenceFactory,
    MembershipFactory,
    get_product,
)
from uploads.models import RegistrationFile

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_disk(monkeypatch, media_root):
    """The disk fills up while a temporary upload file is being written."""
    real_open = Path.open

    class Full(io.RawIOBase):
        def __init__(self, target):
            self.target = target

        def writable(self):
            return True

        def write(self, data):
            self.target.write(bytes(data[:10]))
            raise OSError(errno.ENOSPC, "No space left on device")

    def open_(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if "w" in mode and path.name.endswith(".part"):
            return _Closing(Full(handle), handle)
        return handle

    monkeypatch.setattr(Path, "open", open_)
    return media_root


class _Closing:
    def __init__(self, full, handle):
        self.full, self.handle = full, handle

    def write(self, data):
        return self.full.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def files_under(root: Path) -> list[Path]:
    return [path for path in Path(root).rglob("*") if path.is_file()]


def api(company, raw="dnc_disk_key") -> dict:
    ApiKeyFactory(company=company, raw=raw)
    return {
        "HTTP_HOST": f"{company.register.slug}.localhost",
        "HTTP_AUTHORIZATION": f"Bearer {raw}",
    }


def test_a_call_file_upload_on_a_full_disk_is_a_507_and_keeps_nothing(client, nl, full_disk):
    campaign = CampaignFactory(company=CompanyFactory(register=nl))

    response = client.post(
        f"/api/v1/campaigns/{campaign.pk}/call-files",
        {"file": SimpleUploadedFile("calls.csv", b"phone\n0612345601\n")},
        **api(campaign.company),
    )

    assert response.status_code == 507
    assert response.json()["code"] == "insufficient_storage"
    # In the register's language (nl): "nothing was kept".
    assert "er is niets bewaard" in response.json()["detail"]
    with scopes_disabled():
        assert not CallFile.objects.exists()
    assert files_under(full_disk) == []


def test_a_call_file_upload_in_the_portal_on_a_full_disk_is_a_form_error(nl, full_disk):
    campaign = CampaignFactory(company=CompanyFactory(register=nl))
    client = Client(HTTP_HOST="nl.localhost")
    client.force_login(MembershipFactory(company=campaign.company, role=Role.OWNER).user)

    response = client.post(
        f"/campaigns/{campaign.pk}/call-files/new/",
        {"file": SimpleUploadedFile("calls.csv", b"phone\n0612345601\n")},
    )

    assert response.status_code == 507
    assert "er is niets bewaard" in response.content.decode()
    with scopes_disabled():
        assert not CallFile.objects.exists()
    assert files_under(full_disk) == []


def test_a_registration_file_upload_on_a_full_disk_is_a_507_and_keeps_nothing(
    client, nl, full_disk
):
    company = CompanyFactory(register=nl)
    LicenceFactory(company=company, product=get_product(nl, "upload"))

    response = client.post(
        "/api/v1/registration-files",
        {
            "file": SimpleUploadedFile(
                "r.csv", b"number|categories|requested_on\n0612345601|ALL|2026-01-02\n"
            )
        },
        **api(company),
    )

    assert response.status_code == 507
    assert response.json()["code"] == "insufficient_storage"
    with scopes_disabled():
        assert not RegistrationFile.objects.exists()
    assert files_under(full_disk) == []
