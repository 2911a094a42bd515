"""Cost before paying (issue #13 item 1): a free pass over the whole call file counts the records
offered, blank lines, invalid, foreign, service and repeated numbers, prices them, and lists the
problem rows with their lines — in the preview, as a CSV, and as the API's `dry_run`, which
stores, queues and charges nothing. Its records offered are what the scrub then charges."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from campaigns.marking import validation
from campaigns.marking.job import call_file_mark
from campaigns.marking.validation import PROBLEMS_SHOWN
from campaigns.models import CallFile, CallFileStatus
from licences.models import CreditEntry
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    LicenceFactory,
    get_product,
    get_register,
)
from tests.portal.conftest import client_for as portal_client_for
from tests.portal.conftest import member_of

pytestmark = pytest.mark.django_db

# Line 1 the header; blank lines 4 and 9 (one only of delimiters and spaces).
MESSY = (
    b"naam;telefoon\r\n"  # 1
    b"Jansen;06 12345678\r\n"  # 2
    b"De Vries;hallo\r\n"  # 3
    b"\r\n"  # 4 blank
    b"Bakker;0800 0123456\r\n"  # 5 service
    b"Dupont;+32 470 12 34 56\r\n"  # 6 foreign
    b"Jansen again;0031612345678\r\n"  # 7 repeat of line 2
    b"Smit;020 765 4321\r\n"  # 8
    b" ; \r\n"  # 9 blank
    b"Visser;12\r\n"  # 10 invalid
    b"Smit again;+31 20 765 4321\r\n"  # 11 repeat of line 8
)

EXPECTED = {
    "records": 8,
    "blank_lines": 2,
    "invalid": 2,
    "foreign": 1,
    "service": 1,
    "duplicates": 2,
    "credits_needed": 8,
    "balance": 100,
    "balance_after": 92,
    "problems": [
        {"line": 3, "input": "hallo", "reason": "invalid"},
        {"line": 5, "input": "0800 0123456", "reason": "service"},
        {"line": 6, "input": "+32 470 12 34 56", "reason": "foreign"},
        {"line": 7, "input": "0031612345678", "reason": "duplicate"},
        {"line": 10, "input": "12", "reason": "invalid"},
        {"line": 11, "input": "+31 20 765 4321", "reason": "duplicate"},
    ],
}


@pytest.fixture(autouse=True)
def _media(media_root):
    """Uploads go to a temporary folder."""


@pytest.fixture
def company():
    return CompanyFactory(register=get_register("nl"))


@pytest.fixture
def campaign(company):
    campaign = CampaignFactory(company=company)
    CreditAccountFactory(campaign=campaign, balance=100)
    return campaign


@pytest.fixture
def api(company) -> APIClient:
    ApiKeyFactory(company=company, raw="dnc_dry_run")
    client = APIClient(HTTP_HOST="nl.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION="Bearer dnc_dry_run")
    return client


def dry_run(api, campaign, content: bytes, name: str = "lijst.csv", **fields):
    return api.post(
        f"/api/v1/campaigns/{campaign.pk}/call-files",
        {"file": SimpleUploadedFile(name, content), "dry_run": "true", **fields},
        format="multipart",
    )


def stored_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()]


def test_a_dry_run_counts_prices_and_lists_the_problems_and_keeps_nothing(
    api, campaign, media_root
):
    response = dry_run(api, campaign, MESSY)

    assert response.status_code == 200, response.json()
    assert response.json() == EXPECTED
    with scopes_disabled():
        assert not CallFile.objects.exists()
        assert not CreditEntry.objects.filter(delta__lt=0).exists()
    assert stored_files(media_root) == []


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_repeats_are_found_across_chunks(api, campaign, monkeypatch, chunk):
    monkeypatch.setattr(validation, "CHUNK", chunk)

    assert dry_run(api, campaign, MESSY).json() == EXPECTED


def test_a_dry_run_takes_the_upload_s_settings(api, campaign):
    content = b"Jansen,hallo,0612345678\nDe Vries,x,0612345678\n"

    response = dry_run(api, campaign, content, phone_column="3", delimiter=",", has_header="false")

    assert response.status_code == 200, response.json()
    assert (response.json()["records"], response.json()["duplicates"]) == (2, 1)
    assert response.json()["problems"] == [
        {"line": 2, "input": "0612345678", "reason": "duplicate"}
    ]


def test_a_dry_run_lists_the_first_hundred_problems_and_counts_them_all(api, campaign):
    content = b"phone\n" + b"n.v.t.\n" * 250 + b"0612345678\n"

    body = dry_run(api, campaign, content).json()

    assert (body["records"], body["invalid"]) == (251, 250)
    assert len(body["problems"]) == PROBLEMS_SHOWN
    assert [p["line"] for p in body["problems"]] == list(range(2, 2 + PROBLEMS_SHOWN))
    assert body["balance_after"] == 100 - 251


def test_a_dry_run_in_a_register_without_credits_has_no_price(be):
    company = CompanyFactory(register=be)
    LicenceFactory(company=company, product=get_product(be, "advertiser-small"))
    campaign = CampaignFactory(company=company)
    ApiKeyFactory(company=company, raw="dnc_dry_run_be")
    api = APIClient(HTTP_HOST="be.localhost")
    api.credentials(HTTP_AUTHORIZATION="Bearer dnc_dry_run_be")

    body = dry_run(api, campaign, b"telephone\n0470 12 34 56\n+31 6 12345678\n").json()

    assert (body["records"], body["foreign"]) == (2, 1)
    assert (body["credits_needed"], body["balance"], body["balance_after"]) == (None, None, None)


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"", 400, "empty_file"),
        (b"phone\n", 400, "header_only"),
        (b"a;b\n0612345678;x\n0612345679\n", 400, "ragged_rows"),
        (b"\x00\x01\x02" * 100, 400, "binary_file"),
    ],
)
def test_a_dry_run_of_a_bad_file_is_answered_as_an_upload_is(
    api, campaign, media_root, content, status, code
):
    response = dry_run(api, campaign, content)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert stored_files(media_root) == []


def test_a_dry_run_over_the_size_limit_is_a_413(api, campaign, settings, media_root):
    settings.CALL_FILE_MAX_BYTES = 100

    response = dry_run(api, campaign, b"phone\n" + b"0612345678\n" * 20)

    assert (response.status_code, response.json()["code"]) == (413, "too_large")
    assert stored_files(media_root) == []


def test_what_the_dry_run_offers_is_what_the_scrub_charges(
    api, campaign, django_capture_on_commit_callbacks
):
    offered = dry_run(api, campaign, MESSY).json()["credits_needed"]

    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(
            f"/api/v1/campaigns/{campaign.pk}/call-files",
            {"file": SimpleUploadedFile("lijst.csv", MESSY)},
            format="multipart",
        )
    assert response.status_code == 202
    with scopes_disabled():
        call_file = call_file_mark(call_file_id=response.json()["id"])
        call_file.refresh_from_db()
    assert call_file.status == CallFileStatus.DONE
    assert call_file.credits_charged == call_file.rows_total == offered
    # Each problem's verdict as the scrub gives it.
    assert (call_file.rows_invalid, call_file.rows_out_of_scope) == (2, 2)


# The portal's preview


@pytest.fixture
def owner_client(company):
    return portal_client_for(member_of(company, "owner", "owner@dry-run.example"))


def upload(client, campaign, content: bytes, name: str = "lijst.csv"):
    response = client.post(
        reverse("call_files:new", args=[campaign.pk]),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )
    assert response.status_code == 302, response.content.decode()
    return client.get(response["Location"])


def text_of(page: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">([^<]*)<', page)[1].strip()


def test_the_preview_shows_counts_cost_balance_and_problem_rows(owner_client, campaign):
    response = upload(owner_client, campaign, MESSY)

    page = response.content.decode()
    assert response.status_code == 200
    counts = {
        name: text_of(page, f"count-{name}")
        for name in ("records", "blank", "invalid", "foreign", "service", "duplicates")
    }
    assert counts == {
        "records": "8",
        "blank": "2",
        "invalid": "2",
        "foreign": "1",
        "service": "1",
        "duplicates": "2",
    }
    assert (text_of(page, "credits-needed"), text_of(page, "balance-after")) == ("8", "92")
    rows = re.findall(r"<tr><td>(\d+)</td><td><code>([^<]*)</code></td>", page)
    assert rows == [
        ("3", "hallo"),
        ("5", "0800 0123456"),
        ("6", "+32 470 12 34 56"),
        ("7", "0031612345678"),
        ("10", "12"),
        ("11", "+31 20 765 4321"),
    ]
    with scopes_disabled():
        assert not CreditEntry.objects.filter(delta__lt=0).exists()


def test_the_preview_warns_when_the_credits_do_not_cover_the_file(owner_client, company):
    campaign = CampaignFactory(company=company)
    CreditAccountFactory(campaign=campaign, balance=5)

    page = upload(owner_client, campaign, MESSY).content.decode()

    assert text_of(page, "balance-after") == "-3"
    assert "it would be refused, at no cost" in page


def test_the_problem_csv_lists_every_problem_row(owner_client, campaign):
    content = b"phone\n" + b"n.v.t.\n" * 150 + b"=cmd|' /C calc'!A0\n"
    page = upload(owner_client, campaign, content).content.decode()
    link = re.search(r'href="([^"]+)" download id="problems-csv"', page)[1].replace("&amp;", "&")

    response = owner_client.get(link)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0] == ["line", "input", "reason", "explanation"]
    assert len(rows) == 1 + 151
    assert rows[1][:3] == ["2", "n.v.t.", "invalid"]
    # Third-party text cannot run as a spreadsheet formula.
    assert rows[-1][:3] == ["152", "'=cmd|' /C calc'!A0", "invalid"]


def test_the_problem_csv_with_settings_it_cannot_read_is_a_400(owner_client, campaign):
    upload(owner_client, campaign, MESSY)
    with scopes_disabled():
        call_file = CallFile.objects.get()

    response = owner_client.get(
        reverse("call_files:problems", args=[call_file.pk]) + "?phone_column=x"
    )

    assert response.status_code == 400


def test_the_preview_says_where_a_file_breaks_past_the_preview_rows(owner_client, campaign):
    content = b"name;phone\n" + b"a;0612345678\n" * 300 + b"b;0612345679;extra\n"

    page = upload(owner_client, campaign, content).content.decode()

    assert "This file cannot be marked as it is read now." in page
    assert "302" in page


# Leaving the later repeats out (CallFile.leave_out_duplicates)


@pytest.mark.parametrize(
    ("chosen", "records", "left_out"),
    [
        pytest.param(None, 8, False, id="not given"),
        pytest.param("false", 8, False, id="false"),
        pytest.param("true", 6, True, id="true"),
    ],
)
def test_a_dry_run_leaving_out_the_repeats_does_not_offer_them(
    api, campaign, chosen, records, left_out
):
    fields = {} if chosen is None else {"leave_out_duplicates": chosen}

    response = dry_run(api, campaign, MESSY, **fields)

    assert response.status_code == 200, response.json()
    # Still counted and listed as repeats; only what is offered, and so charged, changes.
    assert response.json() == {
        **EXPECTED,
        "records": records,
        "credits_needed": records,
        "balance_after": 100 - records,
    }


def test_what_the_dry_run_offers_without_the_repeats_is_what_the_scrub_charges(
    api, campaign, django_capture_on_commit_callbacks
):
    offered = dry_run(api, campaign, MESSY, leave_out_duplicates="true").json()["credits_needed"]

    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(
            f"/api/v1/campaigns/{campaign.pk}/call-files",
            {"file": SimpleUploadedFile("lijst.csv", MESSY), "leave_out_duplicates": "true"},
            format="multipart",
        )
    assert response.status_code == 202
    with scopes_disabled():
        call_file_mark(call_file_id=response.json()["id"])
    body = api.get(f"/api/v1/call-files/{response.json()['id']}").json()
    assert (body["leave_out_duplicates"], body["rows_left_out"]) == (True, 2)
    assert body["credits_charged"] == body["rows_total"] == offered == 6


def test_the_preview_offers_to_leave_out_the_repeats_and_marks_without_them(owner_client, campaign):
    page = upload(owner_client, campaign, MESSY).content.decode()
    with scopes_disabled():
        call_file = CallFile.objects.get()
    assert 'name="leave_out_duplicates"' in page
    assert "Leave out the 2 later repeats of numbers that came before in the file" in page
    settings = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page))
    posted = {
        "encoding": "utf-8",
        "delimiter": "semicolon",
        "has_header": "yes",
        "phone_column": "2",
        "opt_in_column": "",
        "dialect": settings["dialect"],
        "leave_out_duplicates": "on",
    }
    url = reverse("call_files:preview", args=[call_file.pk])

    page = owner_client.post(url, {**posted, "action": "preview"}).content.decode()

    assert (text_of(page, "count-records"), text_of(page, "count-duplicates")) == ("6", "2")
    assert (text_of(page, "credits-needed"), text_of(page, "balance-after")) == ("6", "94")
    assert re.search(r'name="leave_out_duplicates"[^>]*checked', page)

    response = owner_client.post(url, {**posted, "action": "mark"})

    assert response.status_code == 302
    with scopes_disabled():
        call_file.refresh_from_db()
    assert (call_file.status, call_file.leave_out_duplicates) == (CallFileStatus.QUEUED, True)


def test_the_preview_of_a_file_without_repeats_offers_no_choice(owner_client, campaign):
    page = upload(owner_client, campaign, b"phone\n0612345678\n0612345679\n").content.decode()

    assert text_of(page, "count-duplicates") == "0"
    assert 'name="leave_out_duplicates"' not in page
