"""GET /api/v1/calling-window (SPEC §15, §16): the calling hours of the host's register."""

import datetime

import pytest
from rest_framework.test import APIClient

from tests.factories import ApiKeyFactory, CompanyFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/calling-window"


@pytest.fixture
def client_for(db):
    def client_for(register) -> APIClient:
        ApiKeyFactory(company=CompanyFactory(register=register), raw=f"dnc_calling_{register.slug}")
        return APIClient(
            HTTP_HOST=f"{register.slug}.localhost",
            HTTP_AUTHORIZATION=f"Bearer dnc_calling_{register.slug}",
            HTTP_ACCEPT_LANGUAGE="en",
        )

    return client_for


def answer(client, status: int = 200, **query) -> dict:
    response = client.get(URL, query)
    assert response.status_code == status, response.content
    return response.json()


def test_outside_the_hours_it_names_the_next_window_across_spring_forward(client_for, nl):
    body = answer(client_for(nl), at="2025-03-29T22:00:00+01:00")
    assert body == {
        "allowed": False,
        "window": None,
        "next_allowed_at": "2025-03-31T09:00:00+02:00",
    }


def test_inside_the_hours_it_gives_the_window_in_the_registers_time_zone(client_for, nl):
    body = answer(client_for(nl), at="2025-06-11T07:00:00Z")
    assert body == {
        "allowed": True,
        "window": {"start": "2025-06-11T09:00:00+02:00", "end": "2025-06-11T22:00:00+02:00"},
        "next_allowed_at": "2025-06-11T09:00:00+02:00",
    }


def test_each_host_answers_with_its_own_registers_holidays(client_for, nl, be):
    national_day = "2025-07-21T12:00:00+02:00"
    assert answer(client_for(be), at=national_day)["next_allowed_at"] == (
        "2025-07-22T09:00:00+02:00"
    )
    assert answer(client_for(nl), at=national_day)["allowed"] is True


@pytest.mark.parametrize("exempt", ["callback", "requested"])
def test_an_exempt_call_is_allowed_at_any_time_without_a_window(client_for, nl, exempt):
    body = answer(client_for(nl), at="2025-12-25T23:00:00+01:00", exempt=exempt)
    assert body == {
        "allowed": True,
        "window": None,
        "next_allowed_at": "2025-12-25T23:00:00+01:00",
    }


def test_without_a_moment_it_answers_for_now(client_for, nl):
    before = datetime.datetime.now(datetime.UTC)
    body = answer(client_for(nl))
    after = datetime.datetime.now(datetime.UTC)
    next_allowed_at = datetime.datetime.fromisoformat(body["next_allowed_at"])
    assert next_allowed_at.utcoffset() in (datetime.timedelta(hours=1), datetime.timedelta(hours=2))
    if body["allowed"]:
        assert before <= next_allowed_at <= after
    else:
        assert next_allowed_at > before and body["window"] is None


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"at": "2025-06-11T12:00:00"}, "at", "no offset"),
        ({"at": "2025-06-11"}, "at", "no offset"),
        ({"at": "tomorrow"}, "at", "ISO 8601"),
        ({"at": ""}, "at", "ISO 8601"),
        ({"at": "2025-13-01T12:00:00+02:00"}, "at", "ISO 8601"),
        ({"at": "1899-06-11T12:00:00+00:00"}, "at", "2000"),
        ({"at": "9999-12-31T23:59:59-12:00"}, "at", "2000"),
        ({"exempt": "customer"}, "exempt", "valid choice"),
        ({"exempt": ""}, "exempt", "valid choice"),
    ],
)
def test_a_bad_query_is_a_400_saying_what_is_wrong(client_for, nl, query, field, message):
    body = answer(client_for(nl), 400, **query)
    assert body["code"] == "invalid"
    assert message in body["detail"]
    assert field in body


def test_without_a_key_it_is_a_401(nl):
    response = APIClient(HTTP_HOST="nl.localhost").get(URL)
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


def test_the_schema_describes_the_query_and_the_answer(nl):
    schema = APIClient(HTTP_HOST="nl.localhost").get(
        "/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    operation = schema.json()["paths"][URL]["get"]
    assert {(p["name"], p["in"], p.get("required", False)) for p in operation["parameters"]} == {
        ("at", "query", False),
        ("exempt", "query", False),
    }
    assert set(operation["responses"]) == {"200", "400", "401", "500", "503"}
    reference = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = schema.json()["components"]["schemas"][reference.rsplit("/", 1)[-1]]
    assert set(component["properties"]) == {"allowed", "window", "next_allowed_at"}
    assert set(component["required"]) == {"allowed", "window", "next_allowed_at"}
