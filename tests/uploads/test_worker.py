"""A registration file end to end with a real Celery worker (SPEC §2: real parts)."""

import time

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from register.models import BlockedNumber, Channel, RegisterEvent
from tests.uploads.conftest import HEADER, file_of
from uploads.models import RegistrationFile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media():
    """The worker process reads the files where the settings put them, not in a test's tmp dir;
    the files this test stores are removed afterwards."""
    yield
    with scopes_disabled():
        for registration_file in RegistrationFile.objects.all():
            registration_file.file.delete(save=False)


def test_a_real_worker_processes_an_uploaded_file(celery_worker_process, media, api_key):
    client = APIClient(HTTP_HOST="nl.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    today = timezone.localdate()
    content = f"{HEADER}\n0612345678|ALL|{today}\n0800 1234567|ALL|{today}\n"
    response = client.post("/api/v1/registration-files", {"file": file_of(content)})
    assert response.status_code == 202, response.content
    url = f"/api/v1/registration-files/{response.json()['id']}"
    deadline = time.monotonic() + 60
    while (report := client.get(url).json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"not processed within 60 s: {report}"
        time.sleep(0.2)
    assert report["status"] == "done"
    assert (report["registered"], report["invalid"]) == (1, 1)
    assert report["problems"] == [
        {"line": 3, "number": "0800 1234567", "reason": "service", "requested_on": None}
    ]
    with scopes_disabled():
        assert BlockedNumber.objects.get(number=31612345678).channel == Channel.COMPANY
        assert RegisterEvent.objects.filter(number=31612345678).count() == 1
