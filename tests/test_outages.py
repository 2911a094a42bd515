"""Issue #11: with PostgreSQL or Redis gone, every answer is a 503 with Retry-After, never a
500, and the site is back within seconds of their return (STYLE 19, SPEC §16).

These tests stand in for the outage inside the test process.
"""

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import ApiKeyFactory, CompanyFactory, LicenceFactory, get_product

DEAD_REDIS = "redis://127.0.0.1:1/0"


def assert_outage(response, *, json_body: bool):
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == "5"
    if json_body:
        body = response.json()
        assert body["code"] == "service_unavailable"
        assert isinstance(body["detail"], str) and body["detail"]
    else:
        assert response["Content-Type"].startswith("text/html")


@pytest.fixture
def client():
    # Only the outage's 503 is asserted: an exception must not be raised into the test
    # instead (the test client raises the view's exception by default).
    return Client(raise_request_exception=False)


@pytest.fixture
def database_gone(monkeypatch):
    """RegisterMiddleware's first query fails, as it does while PostgreSQL is stopped."""

    def refused(host):
        raise OperationalError('connection failed: connection to server at "127.0.0.1" refused')

    monkeypatch.setattr("register.middleware.register_for_host", refused)


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_a_database_outage_in_a_middleware_is_a_503_page_in_the_visitors_language(
    client, database_gone, settings, debug
):
    # DEBUG or not: the outage never reaches Django's 500 handling.
    settings.DEBUG = debug
    response = client.get("/check/", HTTP_HOST="be.localhost", HTTP_ACCEPT_LANGUAGE="fr-BE")
    assert_outage(response, json_body=False)
    assert response["Content-Language"] == "fr"
    assert "Temporairement indisponible" in response.content.decode()


@pytest.mark.django_db
def test_a_database_outage_under_the_api_is_a_503_in_the_error_shape(client, database_gone):
    response = client.get("/api/v1/me", HTTP_HOST="nl.localhost")
    assert_outage(response, json_body=True)


@pytest.mark.django_db
def test_a_redis_outage_in_a_page_view_is_a_503(client, settings):
    # The consumer check's rate limit counts in the cache's Redis.
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"]}}
    settings.CACHES["default"]["LOCATION"] = DEAD_REDIS
    response = client.post("/check/", {"number": "0612345678"}, HTTP_HOST="nl.localhost")
    assert_outage(response, json_body=False)
    assert response["Content-Language"] == "nl"


@pytest.fixture
def be_key(be):
    company = CompanyFactory(register=be)
    LicenceFactory(company=company, product=get_product(be, "advertiser-small"))
    ApiKeyFactory(company=company, raw="dnc_outage_be")
    return "dnc_outage_be"


@pytest.mark.django_db
def test_a_redis_outage_inside_an_api_view_is_a_503_in_the_error_shape(be_key, settings):
    # The be limit of number checks counts in Redis, inside the DRF view: DRF's exception
    # handler answers, not the middleware.
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"]}}
    settings.CACHES["default"]["LOCATION"] = DEAD_REDIS
    client = APIClient(HTTP_HOST="be.localhost", HTTP_AUTHORIZATION=f"Bearer {be_key}")
    assert_outage(client.get("/api/v1/numbers/+32470123456"), json_body=True)


@pytest.mark.django_db
def test_other_errors_stay_500s(client, monkeypatch):
    def broken(host):
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr("register.middleware.register_for_host", broken)
    assert client.get("/check/", HTTP_HOST="nl.localhost").status_code == 500
