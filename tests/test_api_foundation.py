"""What every API endpoint shares: one error shape, an exact schema, docs without a CDN (§16)."""

import json
import re

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from tests.factories import ApiKeyFactory, CampaignFactory, CompanyFactory

pytestmark = pytest.mark.django_db

OWN_PATHS = {
    "/api/v1/me": {"get"},
    "/api/v1/licences": {"get"},
    "/api/v1/credits": {"get"},
    "/api/v1/campaigns": {"get", "post"},
    "/api/v1/campaigns/{campaign_id}": {"get"},
}


@pytest.fixture
def client(nl) -> APIClient:
    company = CompanyFactory(register=nl)
    ApiKeyFactory(company=company, raw="dnc_foundation")
    return APIClient(HTTP_HOST="nl.localhost", HTTP_AUTHORIZATION="Bearer dnc_foundation")


def error(response, status: int, code: str) -> dict:
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code)
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_400_has_the_error_shape_and_the_field_errors(client):
    body = error(client.post("/api/v1/campaigns", {"name": ""}, format="json"), 400, "invalid")
    assert set(body) == {"detail", "code", "name", "purpose"}


def test_400_for_a_body_that_is_not_json(client):
    response = client.post("/api/v1/campaigns", "{", content_type="application/json")
    error(response, 400, "parse_error")


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "not_authenticated"),
        ("Bearer wrong", "authentication_failed"),
        ("Bearer two words", "authentication_failed"),
    ],
)
def test_401_has_the_error_shape(nl, authorization, code):
    client = APIClient(HTTP_HOST="nl.localhost")
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = client.get("/api/v1/me")
    error(response, 401, code)
    assert response["WWW-Authenticate"] == "Bearer"


def test_404_has_the_error_shape(client, nl):
    error(
        client.get(f"/api/v1/campaigns/{CampaignFactory(company__register=nl).pk}"),
        404,
        "not_found",
    )


def test_405_has_the_error_shape(client):
    error(client.delete("/api/v1/me"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("accept", "load"),
    [
        ("application/vnd.oai.openapi+json", json.loads),
        ("application/vnd.oai.openapi", yaml.safe_load),
    ],
)
def test_the_schema_is_served_as_valid_openapi_with_every_endpoint(nl, accept, load):
    response = APIClient(HTTP_HOST="nl.localhost").get("/api/v1/schema", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    schema = load(response.content)
    validate_schema(schema)
    for path, methods in OWN_PATHS.items():
        assert methods <= set(schema["paths"][path]), path
        for method in methods:
            operation = schema["paths"][path][method]
            assert "401" in operation["responses"], (path, method)
            assert operation["security"] == [{"ApiKey": []}], (path, method)
    created = schema["paths"]["/api/v1/campaigns"]["post"]["responses"]["201"]
    reference = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][reference]["properties"]) == {
        "id",
        "name",
        "purpose",
        "created_at",
    }


def test_the_docs_page_loads_nothing_from_another_site(nl):
    response = APIClient(HTTP_HOST="nl.localhost").get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<script src="/static/drf_spectacular_sidecar/' in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"""url\(\s*["']?(https?:)?//""", html)


def test_the_schema_is_generated_without_a_warning(db, tmp_path):
    """drf-spectacular warns where it guesses (unknown authenticator, clashing component
    names); a guess is a schema that may not match the API."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "schema.yml")
    assert yaml.safe_load((tmp_path / "schema.yml").read_text())["components"]["securitySchemes"]
