"""The be limit of number checks per company, against the real Redis (SPEC §10, issue 5)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.db import connection
from django_scopes import scopes_disabled
from rest_framework.test import APIClient

from campaigns.checks.ratelimit import WINDOW_SECONDS, checks_rate_key, checks_take
from register.models import ALL_CATEGORIES, BlockedNumber, Channel
from tests.factories import ApiKeyFactory, CompanyFactory, LicenceFactory, get_product

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")


def test_exactly_the_limit_passes_among_200_simultaneous_takers():
    barrier = threading.Barrier(200)

    def take(_n):
        barrier.wait()
        return checks_take(company_id=1, units=1, limit=20)

    with ThreadPoolExecutor(max_workers=200) as pool:
        answers = list(pool.map(take, range(200)))

    granted = [answer for answer in answers if answer.granted]
    refused = [answer for answer in answers if not answer.granted]
    assert len(granted) == 20
    assert len(refused) == 180
    assert all(0 < answer.retry_after <= WINDOW_SECONDS for answer in refused)


def test_a_batch_takes_all_its_units_or_none():
    assert checks_take(company_id=2, units=15, limit=20).granted
    assert not checks_take(company_id=2, units=6, limit=20).granted
    # The refused batch took nothing: 5 still fit.
    assert checks_take(company_id=2, units=5, limit=20).granted
    assert not checks_take(company_id=2, units=1, limit=20).granted


def test_the_window_closes_after_a_minute_and_says_so():
    checks_take(company_id=3, units=20, limit=20)
    client = cache._cache.get_client(write=True)
    client.pexpire(checks_rate_key(3), 1_500)

    refused = checks_take(company_id=3, units=1, limit=20)

    assert (refused.granted, refused.retry_after) == (False, 2)
    client.delete(checks_rate_key(3))
    assert checks_take(company_id=3, units=20, limit=20).granted


def test_companies_have_their_own_windows():
    assert checks_take(company_id=4, units=20, limit=20).granted
    assert checks_take(company_id=5, units=20, limit=20).granted
    assert not checks_take(company_id=4, units=1, limit=20).granted


@pytest.fixture
def be_key(be):
    company = CompanyFactory(register=be)
    LicenceFactory(company=company, product=get_product(be, "advertiser-small"))
    ApiKeyFactory(company=company, raw="dnc_ratelimit_be")
    with scopes_disabled():
        BlockedNumber.objects.create(
            register=be,
            number=32470123456,
            categories=ALL_CATEGORIES,
            registered_on="2020-01-01",
            channel=Channel.WEB,
        )
    return "dnc_ratelimit_be"


@pytest.mark.django_db(transaction=True)
def test_200_concurrent_api_checks_let_exactly_20_through(be_key):
    """Against the view, with committed data: each thread has its own database connection."""
    barrier = threading.Barrier(16)

    def call(n):
        if n < 16:
            barrier.wait()
        client = APIClient(HTTP_HOST="be.localhost", REMOTE_ADDR=f"10.0.{n // 250}.{n % 250}")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {be_key}")
        try:
            response = client.get("/api/v1/numbers/0470123456")
            return response.status_code, response.get("Retry-After")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(call, range(200)))

    passed = [answer for answer in answers if answer[0] == 200]
    limited = [answer for answer in answers if answer[0] == 429]
    assert (len(passed), len(limited)) == (20, 180)
    assert all(0 < int(retry_after) <= WINDOW_SECONDS for _status, retry_after in limited)


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_does_not_reset_the_limit(be_key):
    def call(n):
        client = APIClient(
            HTTP_HOST="be.localhost",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
            HTTP_X_REAL_IP=f"198.51.100.{n}",
            REMOTE_ADDR=f"192.0.2.{n}",
        )
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {be_key}")
        return client.get("/api/v1/numbers/0470123456").status_code

    assert [call(n) for n in range(25)] == [200] * 20 + [429] * 5
