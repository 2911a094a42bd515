"""Call-file pages (SPEC §8, issue 4): upload on a campaign, check and correct the detected
settings, mark, follow the status, fetch the result and the certificate; bad files and bad
settings get a message on the page, never a server error."""

import datetime
import re

import pytest
import xlsxwriter
from django.urls import reverse
from django_scopes import scopes_disabled

from campaigns.marking.job import call_file_mark
from campaigns.marking.retention import call_files_purge
from campaigns.models import CallFile, CallFileStatus
from licences.models import CreditEntry
from register.models import BlockedNumber, Channel
from tests.factories import (
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    LicenceFactory,
    get_product,
    get_register,
)
from tests.portal.conftest import client_for, member_of

pytestmark = pytest.mark.django_db

# Two telephone columns: detection takes `telefoon` by its name, the user wants the mobiles.
TWO_PHONE_COLUMNS = (
    "naam;telefoon;mobiel\r\n"
    "Loïs Jansen;030 123 4567;06 12345678\r\n"
    "De Vries;020 765 4321;0687654321\r\n"
    "Bakker;010 111 2233;not a number\r\n"
).encode("cp1252")


@pytest.fixture
def campaign(company):
    campaign = CampaignFactory(company=company, name="Voorjaarsactie")
    CreditAccountFactory(campaign=campaign, balance=1000)
    return campaign


@pytest.fixture
def registered(nl):
    """0612345678 blocks every category since 2024."""
    with scopes_disabled():
        return BlockedNumber.objects.create(
            register=nl,
            number=31612345678,
            registered_on=datetime.date(2024, 5, 1),
            channel=Channel.WEB,
        )


def upload(client, campaign, content: bytes, name: str = "bellijst.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("call_files:new", args=[campaign.pk]),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def settings_of(response) -> dict:
    """The settings form's current values, as the browser would post them."""
    form = response.context["form"]
    return {
        name: form[name].value() if form[name].value() is not None else "" for name in form.fields
    }


def the_call_file() -> CallFile:
    with scopes_disabled():
        return CallFile.objects.get()


def mark(client, call_file, data, django_capture_on_commit_callbacks):
    """Posts "Mark this file" and runs the job the commit queues, as the worker would."""
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            reverse("call_files:preview", args=[call_file.pk]), {**data, "action": "mark"}
        )
    assert len(queued) == 1
    with scopes_disabled():
        call_file_mark(call_file_id=call_file.pk)
    return response


def test_upload_page_says_what_a_file_holds_and_what_it_costs(owner_client, campaign):
    response = owner_client.get(reverse("call_files:new", args=[campaign.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "This campaign has 1,000 credits; marking costs one credit per record." in text
    assert 'accept=".csv,.txt,.xlsx' in text
    for column in ("dnc_status", "dnc_reason", "dnc_number", "dnc_registered_on"):
        assert column in text


def test_upload_page_shows_the_marked_layout_with_a_reason_for_every_row(owner_client, campaign):
    response = owner_client.get(reverse("call_files:new", args=[campaign.pk]))

    text = response.content.decode()
    marked = re.search(r'<pre id="marked-example"[^>]*>(.*?)</pre>', text, re.S)[1].splitlines()
    assert marked[0] == "name;phone;opt_in;dnc_status;dnc_reason;dnc_number;dnc_registered_on"
    # Each example row as the rules of campaigns.verdicts mark it: status, reason, number.
    assert [row.split(";")[3:6] for row in marked[1:]] == [
        ["BLOCKED", "REGISTERED", "+31612345671"],
        ["CALLABLE", "OPT_IN_AFTER_REGISTRATION", "+31101234562"],
        ["CALLABLE", "REGISTERED_OTHER_CATEGORIES", "+31612345674"],
        ["CALLABLE", "", "+31612345673"],
        ["OUT_OF_SCOPE", "SERVICE_NUMBER", "+318001230"],
        ["OUT_OF_SCOPE", "FOREIGN_NUMBER", "+32450001230"],
        ["INVALID", "INVALID_NUMBER", ""],
    ]
    for reason in ("REGISTERED_OTHER_CATEGORIES", "SERVICE_NUMBER", "COMPANY_OPT_OUT"):
        assert f"<code>{reason}</code>" in text


def test_upload_preview_correct_the_column_mark_and_follow_it(
    owner_client, campaign, registered, django_capture_on_commit_callbacks
):
    response = upload(owner_client, campaign, TWO_PHONE_COLUMNS)
    call_file = the_call_file()
    assert call_file.status == CallFileStatus.DRAFT
    assert response.status_code == 302
    assert response["Location"] == reverse("call_files:preview", args=[call_file.pk])

    response = owner_client.get(response["Location"])
    assert response.status_code == 200
    assert settings_of(response) | {"dialect": ""} == {
        "encoding": "cp1252",
        "delimiter": "semicolon",
        "has_header": "yes",
        "phone_column": 2,
        "opt_in_column": "",
        "leave_out_duplicates": "",
        "dialect": "",
    }
    assert highlighted(response) == ["telefoon (column 2)"]

    # The user picks the mobiles and looks again: nothing is marked or charged yet.
    data = settings_of(response) | {"phone_column": 3}
    response = owner_client.post(
        reverse("call_files:preview", args=[call_file.pk]), {**data, "action": "preview"}
    )
    assert response.status_code == 200
    assert highlighted(response) == ["mobiel (column 3)"]
    assert "06 12345678" in cells_of_phone_column(response)
    assert the_call_file().status == CallFileStatus.DRAFT

    response = mark(owner_client, call_file, data, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == reverse("call_files:detail", args=[call_file.pk])
    call_file = the_call_file()
    assert (call_file.status, call_file.phone_column) == (CallFileStatus.DONE, 3)

    response = owner_client.get(reverse("call_files:detail", args=[call_file.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"Records</span><span class=\"card__value\">3<", text)
    assert re.search(r"Blocked</span><span class=\"card__value\">1<", text)
    assert re.search(r"Callable</span><span class=\"card__value\">1<", text)
    assert re.search(r"Invalid</span><span class=\"card__value\">1<", text)
    assert "<dt>Credits charged</dt><dd>3</dd>" in text
    assert reverse("call_files:result", args=[call_file.pk]) in text
    assert reverse("call_files:certificate", args=[call_file.pk]) in text
    call_file.refresh_from_db()
    reference = call_file.certificate_reference
    assert f"<code>{reference}</code>" in text
    assert f"/verify/?reference={reference}&amp;sha256={call_file.sha256}" in text
    assert "<progress" not in text

    result = owner_client.get(reverse("call_files:result", args=[call_file.pk]))
    assert result.status_code == 200
    assert result["Content-Type"] == "text/csv; charset=windows-1252"
    assert result["Content-Disposition"] == 'attachment; filename="bellijst-marked.csv"'
    assert result["X-Content-Type-Options"] == "nosniff"
    lines = b"".join(result.streaming_content).decode("cp1252").splitlines()
    assert lines[0] == "naam;telefoon;mobiel;dnc_status;dnc_reason;dnc_number;dnc_registered_on"
    assert lines[1] == (
        "Loïs Jansen;030 123 4567;06 12345678;BLOCKED;REGISTERED;+31612345678;2024-05-01"
    )
    assert lines[3].startswith("Bakker;010 111 2233;not a number;INVALID;INVALID_NUMBER")

    certificate = owner_client.get(reverse("call_files:certificate", args=[call_file.pk]))
    assert certificate.status_code == 200
    assert certificate["Content-Type"] == "application/pdf"
    assert certificate["Content-Disposition"].startswith("attachment;")
    assert b"".join(certificate.streaming_content).startswith(b"%PDF")


def highlighted(response) -> list[str]:
    """The preview's highlighted header cells, their tag left out."""
    html = response.content.decode()
    return [
        re.sub(r"\s+", " ", re.sub(r"<span class=\"column-tag\">.*?</span>", "", cell)).strip()
        for cell in re.findall(r'<th scope="col" class="column--phone">(.*?)</th>', html, re.S)
    ]


def cells_of_phone_column(response) -> list[str]:
    return re.findall(r'<td class="column--phone">(.*?)</td>', response.content.decode())


def test_another_delimiter_lists_the_columns_again(owner_client, campaign):
    content = b"name,phone,city\nJansen,0612345678,Utrecht\nBakker,0687654321,Breda\n"
    upload(owner_client, campaign, content)
    call_file = the_call_file()
    url = reverse("call_files:preview", args=[call_file.pk])
    response = owner_client.get(url)
    data = settings_of(response)
    assert (data["delimiter"], data["phone_column"]) == ("comma", 2)

    # Read with a pipe, each line is one column: the columns are listed again, and the phone
    # column is detected again in them rather than kept at a number from the old list.
    response = owner_client.post(url, {**data, "delimiter": "pipe", "action": "preview"})
    assert response.status_code == 200
    assert "The columns were detected again" in response.content.decode()
    assert highlighted(response) == ["name,phone,city (column 1)"]
    piped = settings_of(response)
    assert (piped["delimiter"], piped["phone_column"]) == ("pipe", 1)

    # "Mark this file" with another delimiter than the columns were listed for shows the new
    # columns first and marks nothing.
    response = owner_client.post(url, {**piped, "delimiter": "comma", "action": "mark"})
    assert response.status_code == 200
    assert "The columns were detected again" in response.content.decode()
    assert settings_of(response)["phone_column"] == 2
    assert highlighted(response) == ["phone (column 2)"]
    assert the_call_file().status == CallFileStatus.DRAFT


def test_a_column_that_is_not_there_is_a_message(owner_client, campaign):
    upload(owner_client, campaign, b"name;phone\nJansen;0612345678\n")
    call_file = the_call_file()
    url = reverse("call_files:preview", args=[call_file.pk])
    data = settings_of(owner_client.get(url))
    response = owner_client.post(url, {**data, "phone_column": 7, "action": "mark"})
    assert response.status_code == 400
    assert "phone_column" in response.content.decode()
    assert the_call_file().status == CallFileStatus.DRAFT


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"", 400, "empty"),
        (b"name;phone\n", 400, "header"),
        (b"\x00\x01\x02\x03PK\x00binary\x00", 400, ""),
        (b"name;phone\nJansen;0612345678\nBakker;0687654321;extra\n", 400, "Line 3"),
        (b'name;phone\n"Jansen;0612345678\n', 400, "Line 2"),
    ],
    ids=["empty", "header-only", "binary", "ragged", "unbalanced-quotes"],
)
def test_a_bad_file_gets_a_message_and_costs_nothing(
    owner_client, campaign, content, status, message
):
    response = upload(owner_client, campaign, content)
    assert response.status_code == status
    errors = response.context["form"].errors["file"]
    assert errors and message in errors[0]
    with scopes_disabled():
        assert not CallFile.objects.exists()
        assert not CreditEntry.objects.filter(reason=CreditEntry.Reason.SCRUB).exists()


def test_a_file_over_the_size_limit_is_a_413_with_a_message(owner_client, campaign, settings):
    settings.CALL_FILE_MAX_BYTES = 20
    response = upload(owner_client, campaign, b"name;phone\nJansen;0612345678\n")
    assert response.status_code == 413
    assert "larger than" in response.context["form"].errors["file"][0]
    with scopes_disabled():
        assert not CallFile.objects.exists()


def test_too_few_credits_is_refused_with_both_numbers_and_no_charge(
    owner_client, company, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(company=company)
    CreditAccountFactory(campaign=campaign, balance=1)
    upload(owner_client, campaign, b"name;phone\nJansen;0612345678\nBakker;0687654321\n")
    call_file = the_call_file()
    data = settings_of(owner_client.get(reverse("call_files:preview", args=[call_file.pk])))
    mark(owner_client, call_file, data, django_capture_on_commit_callbacks)

    response = owner_client.get(reverse("call_files:detail", args=[call_file.pk]))
    text = response.content.decode()
    assert "The file was refused." in text
    assert "Nothing was charged." in text
    assert the_call_file().error_message in text
    assert re.search(r"\b2\b.*\b1\b", the_call_file().error_message)
    assert reverse("call_files:result", args=[call_file.pk]) not in text


def test_status_json_for_the_progress_bar(owner_client, campaign):
    upload(owner_client, campaign, b"name;phone\nJansen;0612345678\n")
    call_file = the_call_file()
    data = settings_of(owner_client.get(reverse("call_files:preview", args=[call_file.pk])))
    owner_client.post(
        reverse("call_files:preview", args=[call_file.pk]), {**data, "action": "mark"}
    )

    page = owner_client.get(reverse("call_files:detail", args=[call_file.pk]))
    text = page.content.decode()
    assert '<progress id="marking-progress" max="100" value="0">' in text
    assert "Refresh this page" in text
    status = owner_client.get(reverse("call_files:status", args=[call_file.pk]))
    assert status.json() == {
        "status": "queued",
        "progress": 0,
        "rows_done": None,
        "rows_expected": None,
        "seconds_left": None,
        "minutes_left": None,
        "final": False,
    }


def test_after_the_use_period_the_files_go_and_the_certificate_stays(
    owner_client, campaign, django_capture_on_commit_callbacks
):
    upload(owner_client, campaign, b"name;phone\nJansen;0612345678\n")
    call_file = the_call_file()
    data = settings_of(owner_client.get(reverse("call_files:preview", args=[call_file.pk])))
    mark(owner_client, call_file, data, django_capture_on_commit_callbacks)
    with scopes_disabled():
        call_files_purge(
            register=the_call_file().register,
            today=the_call_file().valid_until + datetime.timedelta(days=1),
        )

    response = owner_client.get(reverse("call_files:detail", args=[call_file.pk]))
    text = response.content.decode()
    assert "were deleted on" in text
    assert "The certificate remains." in text
    assert reverse("call_files:result", args=[call_file.pk]) not in text
    assert owner_client.get(reverse("call_files:result", args=[call_file.pk])).status_code == 404
    certificate = owner_client.get(reverse("call_files:certificate", args=[call_file.pk]))
    assert certificate.status_code == 200
    assert b"".join(certificate.streaming_content).startswith(b"%PDF")


def test_the_campaign_page_lists_its_scrubs(
    owner_client, campaign, registered, django_capture_on_commit_callbacks
):
    upload(owner_client, campaign, TWO_PHONE_COLUMNS, name="maart.csv")
    call_file = the_call_file()
    data = settings_of(owner_client.get(reverse("call_files:preview", args=[call_file.pk])))
    mark(owner_client, call_file, data | {"phone_column": 3}, django_capture_on_commit_callbacks)

    response = owner_client.get(reverse("campaigns:detail", args=[campaign.pk]))
    text = response.content.decode()
    assert reverse("call_files:new", args=[campaign.pk]) in text
    row = re.search(r'<table[^>]*id="call-files">.*?</table>', text, re.S).group(0)
    cells = [
        re.sub(r"<[^>]+>|\s+", " ", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    assert cells[1:10] == ["maart.csv", "Done", "3", "1", "1", "1", "0", "3", cells[9]]
    assert cells[9]  # valid until
    assert reverse("call_files:result", args=[call_file.pk]) in row
    assert reverse("call_files:certificate", args=[call_file.pk]) in row


def test_the_call_centre_running_the_campaign_sees_and_uses_it(
    owner_client, company, campaign, django_capture_on_commit_callbacks
):
    """Advertiser and call centre are both responsible for the scrub (seeds 001, 002)."""
    call_centre = CompanyFactory(register=company.register, name="Bel B.V.")
    with scopes_disabled():
        campaign.service_provider, campaign.provider_status = call_centre, "accepted"
        campaign.save()
    centre_client = client_for(member_of(call_centre, "owner", "owner@bel.example"))
    upload(centre_client, campaign, b"name;phone\nJansen;0612345678\n")
    call_file = the_call_file()
    assert call_file.company == call_centre
    detail = reverse("call_files:preview", args=[call_file.pk])
    assert owner_client.get(detail).status_code == 200
    stranger = client_for(
        member_of(CompanyFactory(register=company.register), "owner", "x@stranger.example")
    )
    assert stranger.get(detail).status_code == 404
    assert stranger.get(reverse("call_files:new", args=[campaign.pk])).status_code == 404


@pytest.mark.parametrize("licensed", [True, False], ids=["licence", "no-licence"])
def test_in_be_the_upload_page_names_the_access_licence(licensed):
    """be sells access licences, no credits (SPEC §7): the page says whether marking is
    included, or that a file would be refused."""
    be = get_register("be")
    company = CompanyFactory(register=be, name="Bel BV")
    campaign = CampaignFactory(company=company)
    if licensed:
        LicenceFactory(company=company, product=get_product(be, "advertiser-month"))
    client = client_for(member_of(company, "owner", "owner@bel.example"), host="be.localhost")
    response = client.get(reverse("call_files:new", args=[campaign.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "credits" not in text.split('id="licence-note"')[1].split("</p>")[0]
    if licensed:
        assert "Marking is included in your company's licence" in text
    else:
        assert "Your company has no licence in force: a file would be refused" in text


def test_a_workbook_is_previewed_without_encoding_or_delimiter_and_marked(
    owner_client, campaign, registered, django_capture_on_commit_callbacks, tmp_path
):
    path = tmp_path / "lijst.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    # A number typed as a number, as spreadsheets do, loses its leading zero.
    rows = [["Naam", "Mobiel"], ["Jansen", "0612345678"], ["Bakker", 687654321]]
    for row, values in enumerate(rows):
        sheet.write_row(row, 0, values)
    workbook.close()
    upload(owner_client, campaign, path.read_bytes(), name="lijst.xlsx")
    call_file = the_call_file()
    response = owner_client.get(reverse("call_files:preview", args=[call_file.pk]))
    assert response.status_code == 200
    data = settings_of(response)
    assert set(data) == {
        "has_header",
        "phone_column",
        "opt_in_column",
        "leave_out_duplicates",
        "dialect",
    }
    assert highlighted(response) == ["Mobiel (column 2)"]

    mark(owner_client, call_file, data, django_capture_on_commit_callbacks)
    marked = the_call_file()
    assert (marked.rows_total, marked.rows_blocked, marked.rows_callable) == (2, 1, 1)
    result = owner_client.get(reverse("call_files:result", args=[call_file.pk]))
    assert result["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert result["Content-Disposition"] == 'attachment; filename="lijst-marked.xlsx"'
    assert b"".join(result.streaming_content).startswith(b"PK")
