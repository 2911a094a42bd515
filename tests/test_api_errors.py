"""Every answer under /api/ that goes wrong is `{"detail", "code"}` with the status SPEC §16
lists, whoever answers it: DRF's handler, Django's own 404/405/500 and the register middleware
(issue 17). Pages outside the API keep their HTML."""

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from django.views.decorators.http import require_GET
from django_scopes import scopes_disabled

from complaints.models import CaseChannel, CaseKind
from complaints.services import case_file
from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns
from tests.factories import (
    ApiKeyFactory,
    CompanyFactory,
    LicenceFactory,
    get_product,
    get_register,
)

pytestmark = pytest.mark.django_db

KEY = "dnc_api_errors"
JSON = "application/json"


def _broken(request):
    raise RuntimeError("a bug")


@require_GET
def _plain(request):
    return HttpResponse("a plain Django view")


# The project's URLs and error handlers, plus a view that fails, for the 500, and a plain (not
# DRF) Django view, whose wrong method Django answers.
urlpatterns = [
    path("api/v1/broken", _broken),
    path("api/v1/plain", _plain),
    *project_urlpatterns,
]


@pytest.fixture
def nl_company():
    company = CompanyFactory(register=get_register("nl"))
    ApiKeyFactory(company=company, raw=KEY)
    return company


@pytest.fixture
def be_company(fresh_rate_limits):
    be = get_register("be")
    company = CompanyFactory(register=be)
    LicenceFactory(company=company, product=get_product(be, "advertiser-small"))
    ApiKeyFactory(company=company, raw=KEY + "_be")
    return company


def client(host: str = "nl.localhost", key: str | None = KEY) -> Client:
    headers = {"Accept-Language": "en"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return Client(HTTP_HOST=host, headers=headers, raise_request_exception=False)


def case_of(company):
    with scopes_disabled():
        return case_file(
            register=company.register,
            kind=CaseKind.REQUEST,
            subject="Vraag",
            body="Een vraag.",
            filer_email="post@example.com",
            company=company,
            channel=CaseChannel.API,
        )


def assert_error(response, status: int, code: str) -> dict:
    assert (response.status_code, response["Content-Type"]) == (status, JSON), response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.parametrize(
    ("method", "url", "host", "kwargs", "status", "code"),
    [
        # A typo, a removed endpoint: Django's resolver, answered in the shape.
        ("get", "/api/v1/campains", "nl.localhost", {}, 404, "not_found"),
        ("post", "/api/v1/nothing/here", "nl.localhost", {}, 404, "not_found"),
        # Below a known prefix and without a key: still the unknown path's 404.
        ("get", "/api/v2/campaigns", "nl.localhost", {}, 404, "not_found"),
        # A host no register answers on (RegisterMiddleware) ...
        ("get", "/api/v1/me", "xx.localhost", {}, 404, "not_found"),
        # ... and one outside ALLOWED_HOSTS (Django's DisallowedHost).
        ("get", "/api/v1/me", "dnc.example.org", {}, 400, "bad_request"),
        # A method the endpoint does not take.
        ("delete", "/api/v1/me", "nl.localhost", {}, 405, "method_not_allowed"),
        ("put", "/api/v1/campaigns", "nl.localhost", {}, 405, "method_not_allowed"),
        ("post", "/api/v1/plain", "nl.localhost", {}, 405, "method_not_allowed"),
        # Bodies DRF's parsers refuse.
        (
            "post",
            "/api/v1/campaigns",
            "nl.localhost",
            {"data": '{"name": "x",', "content_type": JSON},
            400,
            "parse_error",
        ),
        (
            "post",
            "/api/v1/campaigns",
            "nl.localhost",
            {"data": "<campaign/>", "content_type": "application/xml"},
            415,
            "unsupported_media_type",
        ),
        # A form body over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
        (
            "post",
            "/api/v1/campaigns",
            "nl.localhost",
            {
                "data": "name=" + "x" * 2_700_000,
                "content_type": "application/x-www-form-urlencoded",
            },
            413,
            "too_large",
        ),
        # No key, a wrong key.
        ("get", "/api/v1/me", "nl.localhost", {"key": None}, 401, "not_authenticated"),
        ("get", "/api/v1/me", "nl.localhost", {"key": "dnc_wrong"}, 401, "authentication_failed"),
        # A bug: the 500 is in the shape too, and tells nothing of the bug.
        ("get", "/api/v1/broken", "nl.localhost", {}, 500, "server_error"),
    ],
)
@pytest.mark.urls(__name__)
def test_an_error_under_api_is_json_in_the_error_shape(
    nl_company, method, url, host, kwargs, status, code
):
    kwargs = dict(kwargs)
    key = kwargs.pop("key", KEY)
    response = getattr(client(host, key), method)(url, **kwargs)

    body = assert_error(response, status, code)
    assert set(body) == {"detail", "code"}
    assert "a bug" not in body["detail"]


def test_the_unknown_host_s_404_says_so(db):
    response = client("xx.localhost", key=None).get("/api/v1/me")

    assert assert_error(response, 404, "not_found")["detail"] == "No register answers on this host."


def test_a_wrong_method_names_the_allowed_ones(nl_company):
    response = client().delete("/api/v1/me")

    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_a_be_batch_over_the_minute_s_allowance_is_a_429_with_retry_after(be_company):
    api = client("be.localhost", KEY + "_be")
    numbers = [f"0470{n:06d}" for n in range(21)]

    fresh = api.post("/api/v1/numbers/check", {"numbers": numbers}, content_type=JSON)

    body = assert_error(fresh, 429, "rate_limited")
    assert "allows 20 numbers a minute" in body["detail"]
    assert fresh["Retry-After"] == "1"

    # With part of the minute's allowance used, the wait is what is left of the minute.
    used = api.post("/api/v1/numbers/check", {"numbers": numbers[:5]}, content_type=JSON)
    assert used.status_code == 200
    used = api.post("/api/v1/numbers/check", {"numbers": numbers}, content_type=JSON)

    assert_error(used, 429, "rate_limited")
    assert 55 <= int(used["Retry-After"]) <= 60
    assert f"try again in {used['Retry-After']} seconds" in used.json()["detail"]


def test_a_be_check_over_what_is_left_of_the_minute_is_a_429_with_retry_after(be_company):
    api = client("be.localhost", KEY + "_be")
    first = api.post("/api/v1/numbers/check", {"numbers": ["0470123456"] * 15}, content_type=JSON)
    assert first.status_code == 200

    response = api.post("/api/v1/numbers/check", {"numbers": ["0470123456"] * 6}, content_type=JSON)

    assert_error(response, 429, "rate_limited")
    assert 55 <= int(response["Retry-After"]) <= 60


@pytest.mark.parametrize("url", ["/api/v1/cases/{id}", "refers_to"])
def test_another_company_s_case_is_a_404_wherever_it_is_named(nl_company, url):
    theirs = case_of(CompanyFactory(register=nl_company.register))
    if url == "refers_to":
        response = client().post(
            "/api/v1/cases",
            {"kind": "complaint", "subject": "S", "body": "B", "refers_to": theirs.pk},
            content_type=JSON,
        )
    else:
        response = client().get(url.format(id=theirs.pk))

    assert assert_error(response, 404, "not_found") == {"detail": "Not found.", "code": "not_found"}


def test_a_page_outside_the_api_keeps_its_html_404(db):
    response = client(key=None).get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"<html" in response.content


def test_a_page_on_an_unknown_host_keeps_its_html_404(db):
    response = client("xx.localhost", key=None).get("/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
