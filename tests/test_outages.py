"""Issue #11: with PostgreSQL or Redis gone, every answer is a 503 with Retry-After, never a
500, and the site is back within seconds of their return (STYLE 19, SPEC §16).

The first tests stand in for the outage inside the test process; the last ones stop a real
PostgreSQL and a real Redis of their own under a real gunicorn with clients calling it.
"""

import collections
import http.client
import json
import threading
import time
from dataclasses import dataclass

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from config import health
from config.heartbeat import broker_redis, heartbeat_record
from tests.factories import ApiKeyFactory, CompanyFactory, LicenceFactory, get_product
from tests.private_servers import (
    PrivatePostgres,
    PrivateRedis,
    free_port,
    manage,
    start_gunicorn,
    stop_process,
)
from tests.signing import signing_environment

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


# --- Real outages: a private PostgreSQL, Redis and gunicorn ---------------------------------

BE_NUMBER = "+32470123456"
API_PATH = f"/api/v1/numbers/{BE_NUMBER}"
SETUP = """
import io, json
from django.core.management import call_command
from django.db import connection
call_command("migrate", verbosity=0)
out = io.StringIO()
call_command("create_company", register="be", name="Outage BV", owner_email="o@example.com",
             type="advertiser", employees=10, stdout=out)
company = json.loads(out.getvalue().strip().splitlines()[-1])["id"]
out = io.StringIO()
call_command("create_api_key", company=company, stdout=out)
call_command("grant_licence", company=company, product="advertiser-small", stdout=io.StringIO())
with connection.cursor() as cursor:
    # The clients check far more than the product's 20 numbers a minute.
    cursor.execute("UPDATE licences_licenceproduct SET checks_per_minute = 30000")
print(out.getvalue().strip().splitlines()[-1])
"""


@dataclass
class Site:
    port: int
    key: str
    postgres: PrivatePostgres
    redis: PrivateRedis

    def worker_alive(self):
        """What a worker's heartbeat writes (config/heartbeat.py): no worker runs here."""
        client = broker_redis(self.redis.url, timeout=2)
        try:
            heartbeat_record(client, hostname="outage-test@test")
        finally:
            client.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    postgres = PrivatePostgres()
    private_redis = PrivateRedis()
    gunicorn = None
    try:
        postgres.start()
        postgres.createdb("dnc")
        private_redis.start()
        files = tmp_path_factory.mktemp("outage-site")
        environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(files),
            # Production settings: DEBUG off and ALLOWED_HOSTS strict, as deployed.
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "outage-test-not-secret",
            "MOLLIE_API_KEY": "test_outage0000000000000000000000",
            **signing_environment(files),
            "DJANGO_ALLOWED_HOSTS": "be.localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": postgres.url,
            "REDIS_URL": private_redis.url,
            "MEDIA_ROOT": str(files / "media"),
            "LOG_LEVEL": "ERROR",
            # No mail server here: the owner's invitation goes nowhere.
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        }
        key = manage(environment, "shell", "-c", SETUP).strip().splitlines()[-1]
        port = free_port()
        site = Site(port=port, key=key, postgres=postgres, redis=private_redis)
        site.worker_alive()
        gunicorn = start_gunicorn(environment, port=port, log=files / "gunicorn.log")
        print("gunicorn's log:", files / "gunicorn.log")
        yield site
    finally:
        if gunicorn is not None:
            stop_process(gunicorn)
        private_redis.stop()
        postgres.remove()


@dataclass
class Answer:
    started: float
    ended: float
    path: str
    status: int
    retry_after: str | None
    body: bytes


def call(port: int, method: str, path: str, *, host: str, headers=None, body=None) -> Answer:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        content = response.read()
        return Answer(
            started,
            time.monotonic(),
            path,
            response.status,
            response.getheader("Retry-After"),
            content,
        )
    finally:
        connection.close()


class Clients:
    """A few threads calling the site in a loop, every answer kept."""

    def __init__(self, site: Site, requests: list[tuple[str, str, dict, bytes | None]]):
        self.site = site
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self.loop, args=request, daemon=True) for request in requests
        ]

    def loop(self, method, path, headers, body):
        while not self.stopping.is_set():
            try:
                answer = call(self.site.port, method, path, host="be.localhost", headers=headers)
            except OSError as error:  # no answer at all: counted, and fails the test
                answer = Answer(time.monotonic(), time.monotonic(), path, 0, None, str(error))
            self.answers.append(answer)
            time.sleep(0.02)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def counts(self, since: float = 0.0, until: float = float("inf")):
        return collections.Counter(
            (a.path.split("?")[0], a.status)
            for a in self.answers
            if a.started >= since and a.ended <= until
        )

    def recovered_after(self, moment: float, path: str) -> float:
        """Seconds from `moment` to the end of the last answer on `path` that was not a 200."""
        last = max(
            (a.ended for a in self.answers if a.status != 200 and a.path == path), default=moment
        )
        return max(0.0, last - moment)


def api_check(key: str):
    return ("GET", API_PATH, {"Authorization": f"Bearer {key}"}, None)


HEALTH = ("GET", "/healthz", {}, None)


def run_outage(site: Site, *, stop, start, down_seconds: float, after_start=None, checkers=3):
    with Clients(site, [api_check(site.key)] * checkers + [HEALTH]) as clients:
        time.sleep(1.0)
        stopping = time.monotonic()
        stop()
        stopped = time.monotonic()
        time.sleep(down_seconds)
        starting = time.monotonic()
        start()
        if after_start:
            after_start()
        started = time.monotonic()
        deadline = started + 10
        # Wait for every client to have had a 200 since the start, at most 10 s.
        while time.monotonic() < deadline:
            time.sleep(0.2)
            since = clients.counts(since=started)
            if all(since[(path, 200)] for path in (API_PATH, "/healthz")):
                break
        time.sleep(0.5)
    return clients, stopping, stopped, starting, started


def report(name, clients, stopping, stopped, starting, started):
    api = clients.recovered_after(started, API_PATH)
    healthz = clients.recovered_after(started, "/healthz")
    print(
        f"\n{name}: stopped in {stopped - stopping:.2f} s, down {starting - stopped:.1f} s,"
        f" start took {started - starting:.2f} s; back to 200 after the start:"
        f" API {api:.2f} s, /healthz {healthz:.2f} s"
    )
    for (path, status), count in sorted(clients.counts().items()):
        print(f"  {status} × {count:4d}  {path}")
    down = clients.counts(since=stopped, until=starting)
    print("  while down:", dict(sorted(down.items())))
    # /healthz answers from a report up to CHECK_SECONDS old: judged from then on.
    health_down = clients.counts(since=stopped + health.CHECK_SECONDS, until=starting)
    return max(api, healthz), down, health_down


def assert_outage_answers(clients, started, down, health_down):
    assert all(status in (200, 503) for (_path, status) in clients.counts()), clients.counts()
    back = clients.counts(since=started)
    assert back[(API_PATH, 200)] and back[("/healthz", 200)], back
    assert {status for (path, status) in down if path.startswith("/api/")} == {503}, down
    assert {status for (path, status) in health_down if path == "/healthz"} == {503}, down
    for answer in clients.answers:
        if answer.status == 503:
            assert answer.retry_after == "5"
        if answer.status == 503 and answer.path.startswith("/api/"):
            assert json.loads(answer.body)["code"] == "service_unavailable"


def test_healthz_answers_by_address_and_on_an_unknown_host(site):
    for host in ("127.0.0.1", f"127.0.0.1:{site.port}", "unknown.example"):
        answer = call(site.port, "GET", "/healthz", host=host)
        assert answer.status == 200, (host, answer.body)
        assert json.loads(answer.body)["disk"]["free_bytes"] > 0
    # Anything else on a host not in ALLOWED_HOSTS is still refused.
    assert call(site.port, "GET", "/check/", host="unknown.example").status == 400


def test_postgresql_stopped_under_load_is_503s_then_200s_within_5_seconds(site):
    site.worker_alive()
    result = run_outage(site, stop=site.postgres.stop, start=site.postgres.start, down_seconds=4)
    recovery, *down = report("PostgreSQL stopped", *result)
    assert_outage_answers(result[0], result[-1], *down)
    assert recovery < 5


def test_redis_stopped_under_load_is_503s_then_200s_within_5_seconds(site):
    site.worker_alive()
    # Redis restarts empty (no persistence here): the worker's next heartbeat is written
    # as soon as it is back, as a worker's timer would within 5 s.
    result = run_outage(
        site,
        stop=site.redis.stop,
        start=site.redis.start,
        down_seconds=4,
        after_start=site.worker_alive,
    )
    recovery, *down = report("Redis stopped", *result)
    assert_outage_answers(result[0], result[-1], *down)
    assert recovery < 5
