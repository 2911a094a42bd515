"""The company opt-out list (SPEC §6): add, remove, upload, list, export; and the portal pages
of the list and the number search (SPEC §10)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from campaigns.models import CompanyOptOut
from campaigns.selectors import opt_outs_export_rows
from campaigns.services import opt_out_add, opt_out_remove, opt_outs_upload
from licences.models import Role
from register.errors import DomainError, NotFound
from register.models import ALL_CATEGORIES, BlockedNumber, Channel
from tests.factories import (
    ApiKeyFactory,
    CampaignFactory,
    CompanyFactory,
    CreditAccountFactory,
    LicenceFactory,
    MembershipFactory,
    get_product,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


@pytest.fixture
def company(nl):
    return CompanyFactory(register=nl)


def numbers_of(company) -> list[int]:
    with scopes_disabled():
        return sorted(
            CompanyOptOut.objects.filter(company=company).values_list("number", flat=True)
        )


@pytest.mark.parametrize(
    "raw",
    ["0612345678", "+31 6 12345678", "0031612345678", "'612345678", "06-12345678.0"],
)
def test_a_number_is_stored_once_in_e164_however_it_is_written(company, raw):
    with scopes_disabled():
        first, created = opt_out_add(company=company, number="06 1234 5678")
        again, created_again = opt_out_add(company=company, number=raw)

    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert numbers_of(company) == [31612345678]


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("0800 0123456", 318000123456), ("+32 470 12 34 56", 32470123456)],
)
def test_service_and_foreign_numbers_may_opt_out(company, raw, stored):
    with scopes_disabled():
        opt_out_add(company=company, number=raw)

    assert numbers_of(company) == [stored]


@pytest.mark.parametrize("raw", ["hello", "12345", "", "112"])
def test_no_number_no_opt_out(company, raw):
    with scopes_disabled(), pytest.raises(DomainError) as error:
        opt_out_add(company=company, number=raw)

    assert error.value.code == "invalid_number"


def test_removing_takes_only_this_companys_number(company, nl):
    other = CompanyFactory(register=nl)
    with scopes_disabled():
        opt_out_add(company=company, number="0612345678")
        opt_out_add(company=other, number="0612345678")
        opt_out_remove(company=company, number="+31612345678")
        with pytest.raises(NotFound):
            opt_out_remove(company=company, number="0612345678")

    assert (numbers_of(company), numbers_of(other)) == ([], [31612345678])


def test_an_upload_reports_added_already_and_invalid_with_line_numbers(company):
    with scopes_disabled():
        opt_out_add(company=company, number="0612345601")
        report = opt_outs_upload(
            company=company,
            data=(
                "telefoon;naam\r\n"
                "0612345601;Jan\r\n"
                "06-12345602;Piet\r\n"
                "\r\n"
                "geen nummer;Klaas\r\n"
                '"+31 6 12345603";"Marie"\r\n'
                "0612345602;Piet again\r\n"
                "12;short\r\n"
            ).encode("cp1252"),
        )

    assert (report.added, report.already, report.invalid_total) == (2, 2, 2)
    assert report.invalid == [(5, "geen nummer"), (8, "12")]
    assert numbers_of(company) == [31612345601, 31612345602, 31612345603]


@pytest.mark.parametrize("separator", ["\t", ",", "|", ";"])
def test_an_upload_reads_the_first_column_of_any_csv(company, separator):
    data = f"\ufeff0612345601{separator}x\n0612345602{separator}y\n".encode()
    with scopes_disabled():
        report = opt_outs_upload(company=company, data=data)

    assert report.added == 2


def test_an_upload_without_numbers_is_refused(company):
    with scopes_disabled(), pytest.raises(DomainError) as error:
        opt_outs_upload(company=company, data=b"telefoon\n\n")

    assert error.value.code == "empty_file"


@pytest.mark.parametrize(
    "data",
    [
        b"0612345601\n\x00\x01\x02",
        bytes(range(256)) * 16,
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(range(1, 32)) * 8,
    ],
    ids=["nul-bytes", "noise", "zip-archive"],
)
def test_an_upload_of_binary_data_is_refused_and_adds_nothing(company, data):
    with scopes_disabled(), pytest.raises(DomainError) as error:
        opt_outs_upload(company=company, data=data)

    assert error.value.code == "binary_file"
    with scopes_disabled():
        assert not CompanyOptOut.objects.filter(company=company).exists()


def test_the_export_neutralises_spreadsheet_formulas(company):
    with scopes_disabled():
        opt_out_add(company=company, number="0612345678")
        header, row = list(opt_outs_export_rows(company=company))

    assert header == ["number", "international", "added_at", "source"]
    assert row[:2] == ["31612345678", "'+31 6 12345678"]
    assert row[3] == "portal"


# The API (SPEC §16)


@pytest.fixture
def api(company):
    ApiKeyFactory(company=company, raw="dnc_opt_outs")
    client = APIClient(HTTP_HOST="nl.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION="Bearer dnc_opt_outs")
    return client


def test_api_adds_lists_and_removes(api, company, nl):
    other = CompanyFactory(register=nl)
    with scopes_disabled():
        opt_out_add(company=other, number="0612345699")

    added = api.post("/api/v1/opt-outs", {"number": "06 1234 5678"}, format="json")
    again = api.post("/api/v1/opt-outs", {"number": "+31612345678"}, format="json")
    listed = api.get("/api/v1/opt-outs")

    assert (added.status_code, again.status_code) == (201, 200)
    assert added.json()["number"] == "+31612345678"
    assert added.json()["source"] == "api"
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert [row["number"] for row in listed.json()["results"]] == ["+31612345678"]
    assert api.delete("/api/v1/opt-outs/+31612345678").status_code == 204
    assert api.delete("/api/v1/opt-outs/0612345678").status_code == 404
    # Another company's number is not this company's to remove.
    assert api.delete("/api/v1/opt-outs/0612345699").status_code == 404
    assert numbers_of(other) == [31612345699]


def test_api_refuses_an_invalid_number(api):
    response = api.post("/api/v1/opt-outs", {"number": "hello"}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_number")


def test_api_upload_reports_per_line(api, company):
    upload = SimpleUploadedFile("optouts.csv", b"number\n0612345601\nnope\n0612345601\n")

    response = api.post("/api/v1/opt-outs/upload", {"file": upload}, format="multipart")

    assert response.status_code == 200
    assert response.json() == {
        "added": 1,
        "already": 1,
        "invalid_total": 1,
        "invalid": [{"line": 3, "text": "nope"}],
    }


def test_api_upload_of_binary_junk_is_a_400_naming_it(api):
    upload = SimpleUploadedFile("optouts.csv", bytes(range(256)) * 16)

    response = api.post("/api/v1/opt-outs/upload", {"file": upload}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "binary_file"


def test_api_upload_refuses_a_file_over_the_limit(api, settings, monkeypatch):
    monkeypatch.setattr("campaigns.services.OPT_OUT_FILE_MAX_BYTES", 10)
    monkeypatch.setattr("campaigns.api.OPT_OUT_FILE_MAX_BYTES", 10)
    upload = SimpleUploadedFile("optouts.csv", b"0612345601\n0612345602\n")

    response = api.post("/api/v1/opt-outs/upload", {"file": upload}, format="multipart")

    assert (response.status_code, response.json()["code"]) == (413, "file_too_large")


# The portal pages


@pytest.fixture
def member(company):
    user = MembershipFactory(company=company, role=Role.MEMBER).user
    client = Client(HTTP_HOST="nl.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_opt_out_page_adds_lists_removes_and_exports(member, company):
    response = member.post("/campaigns/opt-outs/", {"number": "06 1234 5678"}, follow=True)
    assert "+31 6 12345678 is on your opt-out list now." in response.content.decode()
    assert "+31 6 12345678" in member.get("/campaigns/opt-outs/").content.decode()

    export = member.get("/campaigns/opt-outs/export/")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode()), delimiter=";"))
    assert export["Content-Disposition"] == 'attachment; filename="opt-outs.csv"'
    assert [row[:2] for row in rows] == [
        ["number", "international"],
        ["31612345678", "'+31 6 12345678"],
    ]

    response = member.post("/campaigns/opt-outs/remove/", {"number": "+31612345678"})
    assert response.status_code == 302
    assert numbers_of(company) == []
    assert member.post("/campaigns/opt-outs/remove/", {"number": "+31612345678"}).status_code == 404


def test_the_opt_out_page_says_what_is_wrong_with_a_number(member):
    response = member.post("/campaigns/opt-outs/", {"number": "hello"})

    assert response.status_code == 400
    assert "“hello” is not a valid telephone number." in response.content.decode()


def test_the_upload_page_shows_the_report(member, company):
    upload = SimpleUploadedFile("list.txt", b"0612345601\nnope\n")

    response = member.post("/campaigns/opt-outs/upload/", {"file": upload})

    page = response.content.decode()
    assert response.status_code == 200
    assert "list.txt" in page and "nope" in page
    assert numbers_of(company) == [31612345601]


def test_the_nl_number_search_charges_the_campaign_one_credit(member, company, nl):
    account = CreditAccountFactory(campaign=CampaignFactory(company=company))
    with scopes_disabled():
        account.balance = 5
        account.save(update_fields=["balance"])
        BlockedNumber.objects.create(
            register=nl,
            number=31612345601,
            categories=ALL_CATEGORIES,
            registered_on="2015-03-02",
            channel=Channel.WEB,
        )

    response = member.post(
        "/campaigns/numbers/", {"number": "0612345601", "campaign": account.campaign_id}
    )

    # The POST redirects to the answer: reloading that page shows it, it does not check again.
    assert response.status_code == 302
    page = member.get(response["Location"]).content.decode()
    assert "BLOCKED" in page and "REGISTERED" in page and "Credits charged" in page
    assert "BLOCKED" not in member.get(response["Location"]).content.decode()
    with scopes_disabled():
        account.refresh_from_db()
    assert account.balance == 4


def test_the_nl_number_search_refuses_what_is_no_number_before_charging(member, company):
    account = CreditAccountFactory(campaign=CampaignFactory(company=company))
    with scopes_disabled():
        account.balance = 5
        account.save(update_fields=["balance"])

    refused = member.post(
        "/campaigns/numbers/", {"number": "06 1234 56789", "campaign": account.campaign_id}
    )
    foreign = member.post(
        "/campaigns/numbers/",
        {"number": "+32 470 12 34 56", "campaign": account.campaign_id},
        follow=True,
    )

    assert refused.status_code == 200
    assert "has one digit too many for a telephone number" in refused.content.decode()
    assert "+32 470 12 34 56" in foreign.content.decode()
    with scopes_disabled():
        account.refresh_from_db()
    assert account.balance == 4


def test_the_opt_out_page_takes_a_foreign_number_in_e164(member, company):
    member.post("/campaigns/opt-outs/", {"number": "0032 470 12 34 56"})

    assert numbers_of(company) == [32470123456]


def test_the_nl_number_search_asks_for_a_campaign(member):
    response = member.post("/campaigns/numbers/", {"number": "0612345601"})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_the_be_number_search_is_rate_limited_with_retry_after(be):
    company = CompanyFactory(register=be)
    LicenceFactory(company=company, product=get_product(be, "advertiser-small"))
    client = Client(HTTP_HOST="be.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(MembershipFactory(company=company, role=Role.OWNER).user)

    statuses = [
        client.post("/campaigns/numbers/", {"number": "0470123456"}).status_code for _ in range(21)
    ]
    limited = client.post("/campaigns/numbers/", {"number": "0470123456"})

    assert statuses == [302] * 20 + [429]
    assert 0 < int(limited["Retry-After"]) <= 60
    assert "used up" in limited.content.decode()
