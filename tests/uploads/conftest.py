import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scopes_disabled

from tests.factories import ApiKeyFactory, CompanyFactory, LicenceFactory, get_product
from uploads.models import RegistrationFile
from uploads.services import registration_file_process, registration_file_upload

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
HEADER = "number|categories|requested_on"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def licensed(nl):
    """A company of nl holding the free upload licence (seed 000)."""
    company = CompanyFactory(register=nl)
    LicenceFactory(company=company, product=get_product(nl, "upload"))
    return company


@pytest.fixture
def api_key(licensed) -> str:
    raw = "dnc_uploads_key"
    ApiKeyFactory(company=licensed, raw=raw)
    return raw


def file_of(text: str, name: str = "registrations.csv") -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def deliver(company, lines: list[str], *, on: datetime.date) -> RegistrationFile:
    """Uploads `lines` under the header as if on `on` (noon in Amsterdam), then processes it."""
    with scopes_disabled():
        upload = registration_file_upload(
            company=company, upload=file_of("\n".join([HEADER, *lines]) + "\n")
        )
        delivered_at = datetime.datetime.combine(on, datetime.time(12), AMSTERDAM)
        RegistrationFile.objects.filter(pk=upload.pk).update(created_at=delivered_at)
        registration_file_process(file_id=upload.pk)
        return RegistrationFile.objects.get(pk=upload.pk)
