"""Personal data minimised on a schedule (issue #14): the daily job run with the clock moved past
each period finds the data gone and the register intact; run again, it finds nothing to do."""

import datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from complaints.models import CaseAttachment, CaseEvent
from complaints.services import case_close, case_decide, case_file
from config.retention import personal_data_minimise as minimise
from register.models import BlockedNumber, BlockRequest, RegisterEvent
from register.services import block_request_confirm, block_request_create
from tests.factories import CompanyFactory, LicenceFactory, get_product
from tests.uploads.conftest import deliver
from uploads.models import RegistrationRow

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def no_letters(monkeypatch):
    monkeypatch.setattr("complaints.tasks.letter_deliver.delay", lambda letter_id: None)


def _block_request(nl, number: int, *, confirm: bool) -> BlockRequest:
    with scope(register=nl):
        request = block_request_create(
            register=nl,
            numbers=[number],
            categories=nl.categories,
            email="consumer@example.com",
            language="nl",
            base_url="http://nl.localhost/",
        )
        # The token is only in the mail: confirm through a known one.
        if confirm:
            BlockRequest.objects.filter(pk=request.pk).update(token_hash=_hash("known-token"))
            block_request_confirm(register=nl, token="known-token")
    return request


def _hash(token):
    from register.tokens import token_hash

    return token_hash(token)


def test_each_period_erases_its_data_and_leaves_the_register(
    nl, media_root, settings, django_capture_on_commit_callbacks
):
    settings.CASE_ATTACHMENT_RETENTION_DAYS = 365

    def personal_data_minimise(now):
        # Files are deleted once the erasure commits.
        with django_capture_on_commit_callbacks(execute=True):
            return minimise(now=now)

    used = _block_request(nl, 31612345678, confirm=True)
    unused = _block_request(nl, 31687654321, confirm=False)

    company = CompanyFactory(register=nl)
    LicenceFactory(company=company, product=get_product(nl, "upload"))
    delivered_on = timezone.localdate()
    registration_file = deliver(
        company,
        ["0611111111|ALL|" + delivered_on.isoformat(), "not a number|ALL|"],
        on=delivered_on,
    )
    stored = Path(registration_file.file.path)
    assert stored.exists()

    with scope(register=nl):
        case = case_file(
            register=nl,
            kind="request",
            subject="Still called",
            body="A company keeps calling me.",
            filer_email="jan@example.com",
            channel="public",
            attachments=[SimpleUploadedFile("call-log.txt", b"called at 10:00")],
        )
        attachment_path = Path(CaseAttachment.objects.get(case=case).file.path)
        case_close(case=case_decide(case=case, motivation="Answered.", by=None), by=None)
    closed_at = timezone.now()

    now = timezone.now()
    # Within every period: only what has no period left (a used link) goes.
    personal_data_minimise(now=now)
    with scopes_disabled():
        used.refresh_from_db()
        assert (used.email, used.numbers) == ("", [])
        assert len(used.number_hashes) == 1
        assert BlockRequest.objects.filter(pk=unused.pk).exists()
        assert RegistrationRow.objects.filter(file=registration_file).exclude(number="").exists()
        assert CaseAttachment.objects.filter(case=case).exists()

    # Past the link's 72 hours: the unused request is gone.
    personal_data_minimise(now=now + 73 * datetime.timedelta(hours=1))
    with scopes_disabled():
        assert not BlockRequest.objects.filter(pk=unused.pk).exists()

    # 10 working days (two weeks without holidays, or a few days more) plus 30 days.
    just_before = now + 30 * DAY
    personal_data_minimise(now=just_before)
    with scopes_disabled():
        assert RegistrationRow.objects.filter(file=registration_file).exclude(number="").exists()
    personal_data_minimise(now=now + 60 * DAY)
    with scopes_disabled():
        registration_file.refresh_from_db()
        assert registration_file.file.name == ""
        assert registration_file.personal_data_erased_at is not None
        assert list(
            RegistrationRow.objects.filter(file=registration_file).values_list("number", flat=True)
        ) == [""]
        assert (registration_file.registered, registration_file.invalid) == (1, 1)
    assert not stored.exists()

    # A year after the case closed: its attachments go, the case and its timeline stay.
    personal_data_minimise(now=closed_at + 364 * DAY)
    with scopes_disabled():
        assert CaseAttachment.objects.filter(case=case).exists()
    erased = personal_data_minimise(now=closed_at + 366 * DAY)
    assert erased["case_attachments"] == 1
    with scopes_disabled():
        assert not CaseAttachment.objects.filter(case=case).exists()
        assert CaseEvent.objects.filter(case=case).count() >= 3
    assert not attachment_path.exists()

    # Run again: nothing left to do. The register and its history are as the acts left them.
    assert personal_data_minimise(now=closed_at + 400 * DAY) == {
        "block_requests": 0,
        "registration_files": 0,
        "case_attachments": 0,
    }
    with scopes_disabled():
        assert set(BlockedNumber.objects.values_list("number", flat=True)) == {
            31612345678,
            31611111111,
        }
        assert BlockedNumber.objects.get(number=31612345678).email == "consumer@example.com"
        assert RegisterEvent.objects.filter(number__in=[31612345678, 31611111111]).count() == 2


def test_a_revert_still_spares_a_number_a_consumer_confirmed_after_the_request_is_erased(
    nl, media_root
):
    """Reverting a company's file keeps a number the consumer also confirmed since: told by the
    number's hash, once the request's numbers are erased."""
    from uploads.services import registration_file_revert

    company = CompanyFactory(register=nl)
    LicenceFactory(company=company, product=get_product(nl, "upload"))
    today = timezone.localdate()
    registration_file = deliver(
        company,
        ["0612345678|ALL|" + today.isoformat(), "0622222222|ALL|" + today.isoformat()],
        on=today,
    )
    _block_request(nl, 31612345678, confirm=True)
    minimise()
    with scopes_disabled():
        assert BlockRequest.objects.get().numbers == []
        from tests.factories import UserFactory

        registration_file_revert(
            file_id=registration_file.pk, reverted_by=UserFactory(is_staff=True)
        )
        assert set(BlockedNumber.objects.values_list("number", flat=True)) == {31612345678}


@pytest.mark.parametrize(
    ("host", "language", "regulator"),
    [
        ("nl.localhost", "en", "https://www.consuwijzer.nl/"),
        ("be.localhost", "fr", "https://pointdecontact.belgique.be/"),
    ],
)
def test_privacy_lists_the_periods_and_accessibility_routes_to_the_register_s_regulator(
    client, settings, host, language, regulator
):
    settings.CASE_ATTACHMENT_RETENTION_DAYS = 400
    home = client.get("/", HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE=language).text
    assert "/privacy/" in home and "/accessibility/" in home and "/cases/report/" in home
    privacy = client.get("/privacy/", HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE=language).text
    for period in ("72", "10", "30", "28", "400"):
        assert f">{period} " in privacy or f" {period} " in privacy
    accessibility = client.get("/accessibility/", HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE=language)
    assert f'href="{regulator}"' in accessibility.text
