"""Marking call files (SPEC §8): the job's rules row by row, charging, licences, the upload,
drafts, access, the advisory lock and retention."""

import datetime
import errno
import hashlib
import io
import os

import pytest
import xlsxwriter
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connections
from django.utils import timezone, translation
from django_scopes import scope, scopes_disabled
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from campaigns.marking import job
from campaigns.marking.job import MARK_HEADER, call_file_awaits_worker, call_file_mark
from campaigns.marking.retention import call_files_purge
from campaigns.marking.selectors import (
    call_file_get,
    call_file_preview,
    call_file_progress,
    call_file_result_filename,
    call_files_for_company,
)
from campaigns.marking.services import call_file_confirm, call_file_upload
from campaigns.marking.tasks import call_files_purge_task
from campaigns.models import CallFile, CallFileStatus, ProviderStatus
from licences.models import CreditAccount, CreditEntry
from register.errors import DomainError, NotFound
from register.models import ALL_CATEGORIES
from register.tasking import CALL_FILE_LOCKS, job_lock_key
from tests.factories import (
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    LicenceFactory,
    get_product,
    opt_out,
    register_numbers,
)
from uploads.intake import IntakeError

pytestmark = pytest.mark.django_db

REGISTERED_ON = datetime.date(2015, 3, 2)
# nl category bits, in the register's order: commercial, ideal, charity.
COMMERCIAL, IDEAL, CHARITY = 1, 2, 4


def set_balance(campaign, balance: int) -> CreditAccount:
    account = CreditAccountFactory(campaign=campaign)
    account.balance = balance
    with scopes_disabled():
        account.save(update_fields=["balance"])
    return account


def upload(campaign, content: bytes, *, filename="calls.csv", company=None, **kwargs):
    company = company or campaign.company
    with scope(register=company.register):
        return call_file_upload(
            company=company,
            campaign=campaign,
            uploaded_by=None,
            upload=io.BytesIO(content),
            filename=filename,
            confirm=kwargs.pop("confirm", True),
            **kwargs,
        )


def mark(call_file) -> CallFile:
    with scopes_disabled():
        call_file_mark(call_file_id=call_file.pk)
        return CallFile.objects.get(pk=call_file.pk)


def result_bytes(call_file) -> bytes:
    with call_file.result.open("rb") as result:
        return result.read()


@pytest.fixture
def nl_campaign(nl, media_root):
    """An nl campaign (purpose commercial) with 1,000 credits."""
    campaign = CampaignFactory(company=CompanyFactory(register=nl))
    set_balance(campaign, 1_000)
    return campaign


# Seed 001 (the consumer's latest act prevails) and SPEC §8.4/§8.5, one row per rule:
# (case, phone as typed, opt-in date, status, reason, dnc_number, dnc_registered_on).
CASES = [
    ("registered for every category", "0612345601", "", "BLOCKED", "REGISTERED",
     "+31612345601", "2015-03-02"),
    ("registered for the purpose only", "06-1234 5602", "", "BLOCKED", "REGISTERED",
     "+31612345602", "2015-03-02"),
    ("registered for another category only", "+31 6 12345603", "", "CALLABLE",
     "REGISTERED_OTHER_CATEGORIES", "+31612345603", "2015-03-02"),
    ("not registered", "0612345699", "", "CALLABLE", "", "+31612345699", ""),
    ("company opt-out", "0612345610", "", "BLOCKED", "COMPANY_OPT_OUT", "+31612345610", ""),
    ("opt-out beats a later opt-in", "0612345611", "2020-01-01", "BLOCKED", "COMPANY_OPT_OUT",
     "+31612345611", "2015-03-02"),
    ("opt-in after registration", "0612345604", "2016-01-01", "CALLABLE",
     "OPT_IN_AFTER_REGISTRATION", "+31612345604", "2015-03-02"),
    ("opt-in day first with time", "0612345605", "03/03/2015 10:15", "CALLABLE",
     "OPT_IN_AFTER_REGISTRATION", "+31612345605", "2015-03-02"),
    ("opt-in on the day of registration", "0612345606", "02-03-2015", "BLOCKED", "REGISTERED",
     "+31612345606", "2015-03-02"),
    ("opt-in before registration", "0612345607", "2014-12-31", "BLOCKED", "REGISTERED",
     "+31612345607", "2015-03-02"),
    ("opt-in on a number not registered", "0612345698", "2016-01-01", "CALLABLE", "",
     "+31612345698", ""),
    ("invalid", "12345", "", "INVALID", "INVALID_NUMBER", "", ""),
    ("no number at all", "", "", "INVALID", "INVALID_NUMBER", "", ""),
    ("foreign", "+32 470 12 34 56", "", "OUT_OF_SCOPE", "FOREIGN_NUMBER", "+32470123456", ""),
    ("service number", "0900-1234567", "", "OUT_OF_SCOPE", "SERVICE_NUMBER", "+319001234567", ""),
    ("emergency number", "112", "", "OUT_OF_SCOPE", "SERVICE_NUMBER", "", ""),
    ("duplicate, first", "0612345601", "", "BLOCKED", "REGISTERED", "+31612345601",
     "2015-03-02"),
    ("duplicate, again", "0031612345601", "", "BLOCKED", "REGISTERED", "+31612345601",
     "2015-03-02"),
]  # fmt: skip


@pytest.fixture
def nl_numbers(nl, nl_campaign):
    register_numbers(
        nl,
        {
            31612345601: ALL_CATEGORIES,
            31612345602: COMMERCIAL,
            31612345603: IDEAL | CHARITY,
            31612345604: ALL_CATEGORIES,
            31612345605: COMMERCIAL,
            31612345606: ALL_CATEGORIES,
            31612345607: ALL_CATEGORIES,
            31612345611: ALL_CATEGORIES,
        },
        registered_on=REGISTERED_ON,
    )
    opt_out(nl_campaign.company, 31612345610, 31612345611)


def test_marking_marks_each_row_by_the_rules_of_section_8(nl_campaign, nl_numbers):
    lines = ["name;phone;opt-in date\r\n"]
    for case, phone, opt_in, *_expected in CASES:
        lines.append(f"{case};{phone};{opt_in}\r\n")
        if case == "invalid":
            # Blank lines are no records: kept in the result, never charged (SPEC §8.6).
            lines.append("\r\n;;\r\n")
    content = "".join(lines).encode("cp1252")

    call_file = mark(upload(nl_campaign, content))

    assert call_file.status == CallFileStatus.DONE, call_file.error_message
    assert (call_file.phone_column, call_file.opt_in_column) == (2, 3)
    marked = result_bytes(call_file).decode("cp1252").split("\r\n")
    assert marked[0] == "name;phone;opt-in date;" + ";".join(MARK_HEADER)
    records = [line for line in marked[1:] if line.strip(";")]
    wrong = [
        (case, got)
        for (case, phone, opt_in, *expected), got in zip(CASES, records, strict=True)
        if got != ";".join([case, phone, opt_in, *expected])
    ]
    assert wrong == []
    assert call_file.rows_total == len(CASES)
    assert (
        call_file.rows_blocked,
        call_file.rows_callable,
        call_file.rows_invalid,
        call_file.rows_out_of_scope,
    ) == tuple(
        sum(case[3] == status for case in CASES)
        for status in ("BLOCKED", "CALLABLE", "INVALID", "OUT_OF_SCOPE")
    )


def test_marking_keeps_every_original_byte_and_appends_the_marks(nl_campaign, nl_numbers):
    content = b'"Jansen, P.";0612345601\n\n"de Vries";0612345699\n'

    call_file = mark(upload(nl_campaign, content, overrides={"has_header": False}))

    assert result_bytes(call_file) == (
        b'"Jansen, P.";0612345601;BLOCKED;REGISTERED;+31612345601;2015-03-02\n'
        b"\n"
        b'"de Vries";0612345699;CALLABLE;;+31612345699;\n'
    )


def test_marking_charges_one_credit_per_record_offered_once(nl_campaign, nl_numbers):
    content = b"phone\n0612345601\n\n0612345601\n12345\n"
    call_file = upload(nl_campaign, content)

    call_file = mark(call_file)
    # A second delivery of the task finds it done and charges nothing more.
    mark(call_file)
    with scopes_disabled():
        assert not call_file_awaits_worker(call_file_id=call_file.pk)

    with scopes_disabled():
        entries = list(CreditEntry.objects.filter(reference=f"call-file:{call_file.pk}"))
        balance = CreditAccount.objects.get(campaign=nl_campaign).balance
    assert [(entry.delta, entry.reason) for entry in entries] == [(-3, "scrub")]
    assert (call_file.rows_total, call_file.credits_charged, balance) == (3, 3, 997)
    assert call_file.valid_until == timezone.localdate() + datetime.timedelta(days=28)
    # The register as the match saw it: a moment within the job.
    assert call_file.started_at <= call_file.register_as_of <= call_file.finished_at
    assert call_file_progress(call_file=call_file) == 100


def test_marking_with_too_few_credits_is_rejected_naming_both_numbers(nl, media_root):
    campaign = CampaignFactory(company=CompanyFactory(register=nl))
    set_balance(campaign, 3)
    content = b"phone\n" + b"".join(b"06123456%02d\n" % n for n in range(5))

    call_file = mark(upload(campaign, content))

    assert call_file.status == CallFileStatus.REJECTED
    assert call_file.error_code == "insufficient_credits"
    assert "5" in call_file.error_message and "3" in call_file.error_message
    with scopes_disabled():
        assert not CreditEntry.objects.filter(reason="scrub").exists()
        assert CreditAccount.objects.get(campaign=campaign).balance == 3
    assert not call_file.result and not call_file.certificate
    assert call_file.rows_total is None


def test_be_marking_without_an_access_licence_is_rejected(be, media_root):
    campaign = CampaignFactory(company=CompanyFactory(register=be))

    call_file = mark(upload(campaign, b"telefoon\n0470123456\n"))

    assert (call_file.status, call_file.error_code) == (CallFileStatus.REJECTED, "licence_required")


def test_be_marking_with_an_access_licence_charges_nothing(be, media_root):
    company = CompanyFactory(register=be)
    LicenceFactory(company=company, product=get_product(be, "advertiser-small"))
    campaign = CampaignFactory(company=company)
    register_numbers(be, {32470123456: ALL_CATEGORIES}, registered_on=REGISTERED_ON)

    call_file = mark(upload(campaign, b"telefoon\n0470123456\n0470123457\n"))

    assert call_file.status == CallFileStatus.DONE, call_file.error_message
    assert (call_file.rows_blocked, call_file.rows_callable, call_file.credits_charged) == (1, 1, 0)
    with scopes_disabled():
        assert not CreditEntry.objects.filter(reason="scrub").exists()
    assert result_bytes(call_file) == (
        b"telefoon;dnc_status;dnc_reason;dnc_number;dnc_registered_on\n"
        b"0470123456;BLOCKED;REGISTERED;+32470123456;2015-03-02\n"
        b"0470123457;CALLABLE;;+32470123457;\n"
    )


def test_marking_comes_with_a_certificate(nl_campaign, nl_numbers):
    call_file = mark(upload(nl_campaign, b"phone\n0612345601\n"))

    with call_file.certificate.open("rb") as certificate:
        pdf = PdfReader(certificate)
        text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    # What an inspector asks for (SPEC §8.7), in Dutch and English.
    assert len(pdf.pages) == 1
    for shown in (
        "Bewijs van raadpleging / Certificate of consultation",
        nl_campaign.company.name,
        nl_campaign.name,
        "calls.csv",
        call_file.sha256[:32],
        "Bruikbaar tot en met / Valid until",
        f"{call_file.valid_until:%Y-%m-%d}",
        "Totaal aangeboden / Total offered 1",
        "Stand van het register / Register as of",
    ):
        assert shown in text
    assert call_file.certificate.name.endswith(".pdf")
    assert call_file.certificate.name != call_file.result.name
    # The job delivered again renders a certificate only where it is missing.
    rendered = call_file.certificate.name
    assert mark(call_file).certificate.name == rendered


def test_a_job_delivered_again_renders_a_missing_certificate(nl_campaign, nl_numbers):
    # The worker died after publishing the result, before the certificate was stored.
    call_file = mark(upload(nl_campaign, b"phone\n0612345601\n"))
    with scopes_disabled():
        CallFile.objects.filter(pk=call_file.pk).update(certificate="")

    assert mark(call_file).certificate.name.endswith(".pdf")


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"phone\n", "header_only"),
        (b"\x00\x01\x02binary\x00", "binary_file"),
    ],
)
def test_a_bad_upload_keeps_nothing(nl_campaign, media_root, content, code):
    with pytest.raises(IntakeError) as raised:
        upload(nl_campaign, content)

    assert raised.value.code == code
    with scopes_disabled():
        assert not CallFile.objects.exists()
    assert not any(path.is_file() for path in media_root.rglob("*"))


def test_an_upload_over_the_size_limit_is_refused_before_it_is_stored(
    nl_campaign, media_root, settings
):
    settings.CALL_FILE_MAX_BYTES = 100

    with pytest.raises(IntakeError) as raised:
        upload(nl_campaign, b"phone\n" + b"0612345601\n" * 20)

    assert (raised.value.code, raised.value.status) == ("too_large", 413)
    assert not any(path.is_file() for path in media_root.rglob("*"))


def test_an_upload_stores_the_file_its_hash_and_the_detected_settings(nl_campaign):
    content = b"naam|telefoon|toestemming\nJansen|0612345601|2020-01-01\n"

    call_file = upload(nl_campaign, content, confirm=False)

    assert call_file.status == CallFileStatus.DRAFT
    assert call_file.sha256 == hashlib.sha256(content).hexdigest()
    assert call_file.size == len(content)
    assert (call_file.delimiter, call_file.has_header) == ("|", True)
    assert (call_file.phone_column, call_file.opt_in_column) == (2, 3)
    with call_file.file.open("rb") as stored:
        assert stored.read() == content


def test_a_draft_is_previewed_corrected_and_confirmed_once(
    nl_campaign, django_capture_on_commit_callbacks
):
    content = b"home;mobile\n0201234567;0612345601\n"
    call_file = upload(nl_campaign, content, confirm=False)
    assert call_file_preview(call_file=call_file).settings.phone_column == call_file.phone_column

    with scope(register=nl_campaign.register):
        with django_capture_on_commit_callbacks() as callbacks:
            confirmed = call_file_confirm(call_file=call_file, overrides={"phone_column": "mobile"})
        with pytest.raises(DomainError) as again:
            call_file_confirm(call_file=call_file, overrides={})

    assert (confirmed.status, confirmed.phone_column) == (CallFileStatus.QUEUED, 2)
    assert len(callbacks) == 1
    assert again.value.code == "not_a_draft"
    assert call_file_preview(call_file=confirmed).settings.phone_column == 2


def test_a_cleared_opt_in_column_stays_cleared(nl_campaign):
    call_file = upload(nl_campaign, b"phone;opt_in\n0612345601;2020-01-01\n", confirm=False)
    assert call_file.opt_in_column == 2

    with scope(register=nl_campaign.register):
        confirmed = call_file_confirm(call_file=call_file, overrides={"opt_in_column": 0})

    assert confirmed.opt_in_column is None
    assert call_file_preview(call_file=confirmed).settings.opt_in_column is None


def test_the_api_upload_queues_the_job_once_committed(
    nl_campaign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        call_file = upload(nl_campaign, b"phone\n0612345601\n", overrides={"phone_column": 1})

    assert call_file.status == CallFileStatus.QUEUED
    assert len(callbacks) == 1


def test_a_draft_is_not_marked(nl_campaign):
    call_file = upload(nl_campaign, b"phone\n0612345601\n", confirm=False)

    assert mark(call_file).status == CallFileStatus.DRAFT


def test_a_job_whose_lock_is_held_is_left_to_its_holder(nl_campaign):
    call_file = upload(nl_campaign, b"phone\n0612345601\n")
    with scopes_disabled():
        CallFile.objects.filter(pk=call_file.pk).update(status=CallFileStatus.RUNNING)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s)", [job_lock_key(CALL_FILE_LOCKS, call_file.pk)]
            )
        with scopes_disabled():
            assert call_file_mark(call_file_id=call_file.pk) is None
            assert CallFile.objects.get(pk=call_file.pk).status == CallFileStatus.RUNNING
            # The task asks again later: the holder may be a dead worker's lingering session.
            assert call_file_awaits_worker(call_file_id=call_file.pk)
    finally:
        other.close()


def test_a_running_job_whose_lock_is_free_is_taken_over(nl_campaign, nl_numbers):
    # Its worker died: the session ended and PostgreSQL let go of the lock.
    call_file = upload(nl_campaign, b"phone\n0612345601\n")
    with scopes_disabled():
        CallFile.objects.filter(pk=call_file.pk).update(status=CallFileStatus.RUNNING, progress=40)

    call_file = mark(call_file)

    assert (call_file.status, call_file.rows_blocked, call_file.credits_charged) == (
        CallFileStatus.DONE,
        1,
        1,
    )


def test_call_files_are_seen_by_uploader_advertiser_and_accepted_call_centre_only(nl, media_root):
    advertiser, centre, outsider = (CompanyFactory(register=nl) for _ in range(3))
    campaign = CampaignFactory(
        company=advertiser, service_provider=centre, provider_status=ProviderStatus.ACCEPTED
    )
    call_file = upload(campaign, b"phone\n0612345601\n", company=centre, confirm=False)

    with scope(register=nl):
        for company in (advertiser, centre):
            assert call_file_get(company=company, call_file_id=call_file.pk) == call_file
            assert list(call_files_for_company(company=company)) == [call_file]
        with pytest.raises(NotFound):
            call_file_get(company=outsider, call_file_id=call_file.pk)
        assert not call_files_for_company(company=outsider).exists()


def test_another_companys_campaign_cannot_be_uploaded_to(nl_campaign, nl):
    with pytest.raises(NotFound):
        upload(nl_campaign, b"phone\n0612345601\n", company=CompanyFactory(register=nl))


@pytest.mark.parametrize(
    ("filename", "kind", "expected"),
    [
        ("calls.csv", "csv", "calls-marked.csv"),
        ("Bel lijst.TXT", "csv", "Bel lijst-marked.TXT"),
        ("calls", "csv", "calls-marked.csv"),
        ("calls.xlsx", "xlsx", "calls-marked.xlsx"),
        (".hidden", "csv", ".hidden-marked.csv"),
    ],
)
def test_the_result_is_named_after_the_upload(filename, kind, expected):
    assert call_file_result_filename(CallFile(filename=filename, kind=kind)) == expected


def test_the_purge_deletes_the_files_of_ended_and_unproductive_jobs_and_old_drafts(
    nl_campaign, nl_numbers
):
    done = mark(upload(nl_campaign, b"phone\n0612345601\n"))
    current = mark(upload(nl_campaign, b"phone\n0612345602\n"))
    rejected = mark(upload(nl_campaign, b"phone;opt_in\n0612345601;never\n"))
    fresh_rejected = mark(upload(nl_campaign, b"phone;opt_in\n0612345601;never\n"))
    draft = upload(nl_campaign, b"phone\n0612345601\n", confirm=False)
    fresh_draft = upload(nl_campaign, b"phone\n0612345601\n", confirm=False)
    long_ago = timezone.now() - datetime.timedelta(days=2)
    with scopes_disabled():
        CallFile.objects.filter(pk=done.pk).update(valid_until=datetime.date(2020, 1, 1))
        CallFile.objects.filter(pk=rejected.pk).update(finished_at=long_ago)
        CallFile.objects.filter(pk=draft.pk).update(created_at=long_ago)
    upload_of_done, result_of_done = done.file.path, done.result.path

    with scopes_disabled():
        assert call_files_purge(register=nl_campaign.register) == 3
        assert call_files_purge(register=nl_campaign.register) == 0

    with scopes_disabled():
        done.refresh_from_db()
        assert done.files_deleted_at is not None
        assert not done.file and not done.result and done.certificate
        assert done.certificate.storage.exists(done.certificate.name)
        for kept in (current, fresh_rejected, fresh_draft):
            kept.refresh_from_db()
            assert kept.files_deleted_at is None and kept.file.storage.exists(kept.file.name)
        rejected.refresh_from_db()
        assert rejected.files_deleted_at is not None and not rejected.file
        assert not CallFile.objects.filter(pk=draft.pk).exists()
    assert not any(os.path.exists(path) for path in (upload_of_done, result_of_done))


def test_the_daily_purge_task_purges_every_register_each_in_its_scope(nl_campaign, nl_numbers):
    done = mark(upload(nl_campaign, b"phone\n0612345601\n"))
    with scopes_disabled():
        CallFile.objects.filter(pk=done.pk).update(valid_until=datetime.date(2020, 1, 1))

    # As the worker runs it: no scope set; each register's purge runs in that register's.
    assert call_files_purge_task() == 1
    assert call_files_purge_task() == 0


def test_progress_reads_the_stored_value_while_running():
    assert call_file_progress(call_file=CallFile(status=CallFileStatus.RUNNING, progress=42)) == 42
    assert call_file_progress(call_file=CallFile(status=CallFileStatus.QUEUED)) == 0


def test_a_workbook_comes_back_as_a_workbook_with_the_marks_appended(nl_campaign, nl_numbers):
    content = io.BytesIO()
    book = xlsxwriter.Workbook(content, {"in_memory": True})
    sheet = book.add_worksheet()
    date = book.add_format({"num_format": "dd-mm-yyyy"})
    sheet.write_row(0, 0, ["naam", "telefoonnummer", "toestemming"])
    sheet.write_row(1, 0, ["Jansen", "06-12345601"])
    # A number typed as a number, and an opt-in date typed as a date.
    sheet.write_number(2, 1, 612345604)
    sheet.write_string(2, 0, "de Vries")
    sheet.write_datetime(2, 2, datetime.datetime(2016, 1, 1), date)
    book.close()

    call_file = mark(upload(nl_campaign, content.getvalue(), filename="bellijst.xlsx"))

    assert call_file.status == CallFileStatus.DONE, call_file.error_message
    assert call_file_result_filename(call_file) == "bellijst-marked.xlsx"
    with call_file.result.open("rb") as result:
        rows = CalamineWorkbook.from_filelike(result).get_sheet_by_index(0).to_python()
    assert rows[0][3:] == list(MARK_HEADER)
    assert rows[1][3:] == ["BLOCKED", "REGISTERED", "+31612345601", "2015-03-02"]
    assert rows[2][3:] == [
        "CALLABLE",
        "OPT_IN_AFTER_REGISTRATION",
        "+31612345604",
        "2015-03-02",
    ]


def test_staff_read_call_files_in_the_admin_and_change_nothing(nl_campaign, nl_numbers, client):
    call_file = mark(upload(nl_campaign, b"phone\n0612345601\n"))
    user = get_user_model().objects.create_user(
        username="desk@example.com", password="pw-desk-2026", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_callfile"))
    nl_campaign.register.staff.add(user)
    client.force_login(user)

    listing = client.get("/admin/campaigns/callfile/", HTTP_HOST="nl.localhost")
    detail = client.get(
        f"/admin/campaigns/callfile/{call_file.pk}/change/", HTTP_HOST="nl.localhost"
    )
    posted = client.post(
        f"/admin/campaigns/callfile/{call_file.pk}/change/",
        {"status": "failed"},
        HTTP_HOST="nl.localhost",
    )

    assert listing.status_code == detail.status_code == 200
    assert "calls.csv" in listing.content.decode()
    assert call_file.sha256 in detail.content.decode()
    assert posted.status_code == 403


def test_a_job_failing_on_our_side_is_failed_and_charges_nothing(nl_campaign):
    # The job writes its message in the uploader's language.
    with translation.override("en"):
        call_file = upload(nl_campaign, b"phone\n0612345601\n")
    assert call_file.language == "en"
    # The stored upload lost, as a broken disk would: not the user's fault.
    os.remove(call_file.file.path)

    with pytest.raises(FileNotFoundError), scopes_disabled():
        call_file_mark(call_file_id=call_file.pk)

    with scopes_disabled():
        call_file.refresh_from_db()
        assert not CreditEntry.objects.filter(reason="scrub").exists()
    assert (call_file.status, call_file.error_code) == (CallFileStatus.FAILED, "file_unreadable")
    assert "nothing was charged" in call_file.error_message
    assert call_file_progress(call_file=call_file) == 100


def test_a_full_disk_on_the_results_last_block_fails_the_scrub_as_disk_full(
    nl_campaign, monkeypatch
):
    # Found by the fault suite (tests/faults): the writer stopped on the last block, after the
    # COPY's end, and draining it again failed with "no COPY in progress", so the scrub said the
    # database was unavailable instead of the disk full.
    call_file = upload(nl_campaign, b"phone\n0612345601\n0612345602\n")

    def disk_full(path, file_settings, sink, header, marks, **kwargs):
        next(marks)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(job, "intake_write_marked", disk_full)
    with pytest.raises(OSError), scopes_disabled():
        call_file_mark(call_file_id=call_file.pk)

    with scopes_disabled():
        call_file.refresh_from_db()
        assert not CreditEntry.objects.filter(reason="scrub").exists()
    assert (call_file.status, call_file.error_code) == (CallFileStatus.FAILED, "disk_full")
