"""API v1 cases (SPEC §14, §16): a company files and follows its requests, complaints and
disputes with its key."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from django.utils.formats import date_format
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from complaints.models import Case, CaseAttachment, CaseChannel, CaseKind
from complaints.services import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, case_file
from tests.factories import ApiKeyFactory, CompanyFactory, UserFactory, get_register

pytestmark = pytest.mark.django_db

CASE_FIELDS = {"id", "kind", "stage", "subject", "refers_to", "received_at", "due"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _english():
    """The register's default language is nl; these tests read the English, dates included."""
    with translation.override("en"):
        yield


@pytest.fixture
def company():
    return CompanyFactory(register=get_register("nl"), billing_email="admin@energie.example")


def client_for(company, key: str = "dnc_cases_key", **key_fields) -> APIClient:
    ApiKeyFactory(company=company, raw=key, **key_fields)
    client = APIClient(HTTP_HOST=f"{company.register.slug}.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def request_of(company, *, days_ago: int) -> Case:
    with scopes_disabled():
        return case_file(
            register=company.register,
            kind=CaseKind.REQUEST,
            subject="Vraag",
            body="Hoe werkt de licentie?",
            filer_email="post@energie.example",
            company=company,
            channel=CaseChannel.POST,
            received_at=timezone.now() - timedelta(days=days_ago),
        )


def stored(**filters) -> int:
    with scopes_disabled():
        return Case.objects.filter(**filters).count()


def test_filing_a_request_answers_201_with_the_date_it_must_be_handled_by(company):
    creator = UserFactory(email="dev@energie.example")
    response = client_for(company, created_by=creator).post(
        "/api/v1/cases",
        {"kind": "request", "subject": "Licentie", "body": "Welke licentie past bij ons?"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == CASE_FIELDS
    assert (body["kind"], body["stage"], body["refers_to"]) == ("request", "received", None)
    assert set(body["due"]) == {"handle_by"}
    assert date.fromisoformat(body["due"]["handle_by"]) > timezone.localdate()
    with scopes_disabled():
        case = Case.objects.get(pk=body["id"])
    assert (case.company, case.channel, case.filer_email) == (company, "api", creator.email)


def test_a_complaint_on_the_company_s_late_request_is_due_acknowledged_and_decided(company):
    earlier = request_of(company, days_ago=20)
    response = client_for(company).post(
        "/api/v1/cases",
        {
            "kind": "complaint",
            "subject": "Geen antwoord",
            "body": "Al drie weken niets.",
            "refers_to": earlier.pk,
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["refers_to"]) == ("complaint", earlier.pk)
    assert {"acknowledge_by", "decide_by"} <= set(body["due"])
    assert body["due"]["acknowledge_by"] < body["due"]["decide_by"]


def test_a_complaint_filed_too_early_is_a_400_saying_from_when(company):
    earlier = request_of(company, days_ago=0)
    response = client_for(company).post(
        "/api/v1/cases",
        {"kind": "complaint", "subject": "Te vroeg", "body": "Nog niets.", "refers_to": earlier.pk},
        format="json",
    )

    assert response.status_code == 400
    with scopes_disabled():
        allowed_from = Case.objects.get(pk=earlier.pk).handle_by + timedelta(days=1)
    assert response.json() == {
        "code": "too_early",
        "detail": f"A complaint about this request may be filed from {date_format(allowed_from)}: "
        "once the request is answered or its term of 5 working days has passed (art. 2.2).",
    }
    assert stored(kind=CaseKind.COMPLAINT) == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"subject": "S", "body": "B"}, "kind"),
        ({"kind": "appeal", "subject": "S", "body": "B"}, "kind"),
        ({"kind": "request", "body": "B"}, "subject"),
        ({"kind": "request", "subject": "", "body": "B"}, "subject"),
        ({"kind": "request", "subject": "x" * 201, "body": "B"}, "subject"),
        ({"kind": "request", "subject": "S"}, "body"),
        ({"kind": "request", "subject": "S", "body": "x" * 20001}, "body"),
        ({"kind": "complaint", "subject": "S", "body": "B", "refers_to": "een"}, "refers_to"),
        (
            {"kind": "request", "subject": "S", "body": "B", "late_reason": "x" * 2001},
            "late_reason",
        ),
    ],
)
def test_each_bad_field_is_a_400_naming_it_and_nothing_is_stored(company, payload, field):
    response = client_for(company).post("/api/v1/cases", payload, format="json")

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["detail"]) == ("invalid", body[field][0])
    assert stored() == 0


def test_a_request_refers_to_no_earlier_case(company):
    earlier = request_of(company, days_ago=20)
    response = client_for(company).post(
        "/api/v1/cases",
        {"kind": "request", "subject": "S", "body": "B", "refers_to": earlier.pk},
        format="json",
    )

    assert response.status_code == 400
    assert "refers_to" in response.json()
    assert stored() == 1


@pytest.mark.parametrize("whose", ["another company's", "no one's"])
def test_a_complaint_about_a_case_not_the_company_s_is_a_404(company, whose):
    """Another company's case answers as one that does not exist: never reveal it (SPEC §16)."""
    theirs = request_of(CompanyFactory(register=company.register), days_ago=20)
    case_id = theirs.pk if whose == "another company's" else theirs.pk + 1000
    response = client_for(company).post(
        "/api/v1/cases",
        {"kind": "complaint", "subject": "S", "body": "B", "refers_to": case_id},
        format="json",
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert stored(kind=CaseKind.COMPLAINT) == 0


def test_attachments_come_in_multipart_and_are_stored_with_the_case(company):
    response = client_for(company).post(
        "/api/v1/cases",
        {
            "kind": "request",
            "subject": "Bijlagen",
            "body": "Zie bijlagen.",
            "attachments": [
                SimpleUploadedFile("a.pdf", b"%PDF-1.4 a", "application/pdf"),
                SimpleUploadedFile("b.csv", b"nummer\n0612345678\n", "text/csv"),
            ],
        },
        format="multipart",
    )

    assert response.status_code == 201
    with scopes_disabled():
        files = CaseAttachment.objects.filter(case_id=response.json()["id"])
        assert sorted(a.name for a in files) == ["a.pdf", "b.csv"]
        contents = []
        for attachment in files:
            with attachment.file.open("rb") as stored_file:
                contents.append(stored_file.read())
    assert sorted(contents) == [b"%PDF-1.4 a", b"nummer\n0612345678\n"]


@pytest.mark.parametrize(
    ("files", "status", "code"),
    [
        (
            [SimpleUploadedFile("groot.pdf", b"0" * (MAX_ATTACHMENT_BYTES + 1))],
            413,
            "attachment_too_large",
        ),
        (
            [SimpleUploadedFile(f"{n}.txt", b"x") for n in range(MAX_ATTACHMENTS + 1)],
            400,
            "too_many_attachments",
        ),
        ([SimpleUploadedFile("leeg.txt", b"")], 400, "invalid"),
    ],
    ids=["too-large", "too-many", "empty"],
)
def test_attachments_beyond_the_limits_are_refused_and_nothing_is_stored(
    company, files, status, code
):
    response = client_for(company).post(
        "/api/v1/cases",
        {"kind": "request", "subject": "S", "body": "B", "attachments": files},
        format="multipart",
    )

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert stored() == 0


def test_the_list_holds_the_company_s_cases_only(company):
    own = request_of(company, days_ago=1)
    request_of(CompanyFactory(register=company.register), days_ago=1)

    response = client_for(company).get("/api/v1/cases")

    assert response.status_code == 200
    assert [case["id"] for case in response.json()] == [own.pk]
    assert set(response.json()[0]) == CASE_FIELDS


def test_one_case_is_the_company_s_own_or_a_404(company):
    own = request_of(company, days_ago=1)
    theirs = request_of(CompanyFactory(register=company.register), days_ago=1)
    client = client_for(company)

    assert client.get(f"/api/v1/cases/{own.pk}").json()["id"] == own.pk
    response = client.get(f"/api/v1/cases/{theirs.pk}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_key_of_another_register_is_a_401(company):
    be_company = CompanyFactory(register=get_register("be"))
    ApiKeyFactory(company=be_company, raw="dnc_be_key")
    client = APIClient(HTTP_HOST="nl.localhost")
    client.credentials(HTTP_AUTHORIZATION="Bearer dnc_be_key")

    response = client.post(
        "/api/v1/cases", {"kind": "request", "subject": "S", "body": "B"}, format="json"
    )

    assert response.status_code == 401
    assert stored() == 0
