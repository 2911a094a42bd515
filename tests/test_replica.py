"""Reads served by a streaming replica (issue #15, item 5; register/replica.py).

A private primary cluster and a hot standby made from it by `pg_basebackup -R`, both logging
every statement; gunicorn and a Celery worker as the Procfile runs them, with
DATABASE_REPLICA_URL pointing at the standby. The logs show where the register was read: a
check's lookup, a scrub's match and a download's COPY on the standby while it streams, on the
primary while its replay is paused past REPLICA_MAX_LAG and once it is stopped, a scrub's
match and a download's COPY under way on it included — the answers the same every time.
"""

import contextlib
import csv
import io
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import requests

from tests.private_servers import (
    Celery,
    PrivatePostgres,
    PrivateRedis,
    free_port,
    manage,
    start_gunicorn,
    stop_process,
    wait_for,
)
from tests.signing import signing_environment

# Small, so the lag test need not wait long; the check of the replica is cached 3 s.
REPLICA_MAX_LAG = 2
HEALTH_CACHE = 3
WORKER_NAME = "replica@test"
# Past the scrub's chunk of 50,000 records: the replica's match takes more than one statement.
CALL_FILE_ROWS = 60_000
REGISTERED = [f"06{20_000_000 + index * 13:08d}" for index in range(20_000)]
# What reads the register, as each cluster's log shows it.
REGISTER_READ = "register_blockednumber"

SETUP = """
import io, json
from django.core.management import call_command
from django_scopes import scope
from campaigns.services import campaign_create
from licences.models import Company
from register.models import Register
call_command("migrate", verbosity=0)
out = io.StringIO()
call_command("create_company", register="nl", name="Replica BV", type="advertiser",
             owner_email="replica@example.com", employees=10, stdout=out)
company_id = json.loads(out.getvalue().strip().splitlines()[-1])["id"]
with scope(register=Register.objects.get(slug="nl")):
    campaign = campaign_create(
        company=Company.objects.get(pk=company_id), name="Replica", purpose="commercial"
    )
out = io.StringIO()
call_command("create_api_key", company=company_id, stdout=out)
key = out.getvalue().strip().splitlines()[-1]
for product in ["marking-3"] * 3 + ["download"] * 2:
    call_command("grant_licence", company=company_id, product=product, campaign=campaign.pk,
                 stdout=io.StringIO())
print(json.dumps({"key": key, "campaign": campaign.pk}))
"""


class Log:
    """A cluster's log from a mark on."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0

    def mark(self):
        self.offset = self.path.stat().st_size

    def since(self) -> str:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            return log.read().decode("utf-8", "replace")


class Site:
    def __init__(self, *, port, key, campaign, primary, standby, files):
        self.port, self.key, self.campaign = port, key, campaign
        self.primary, self.standby, self.files = primary, standby, files
        self.primary_log, self.standby_log = Log(primary.log), Log(standby.log)
        # The first scrub's marked file and full download, read from the replica.
        self.marked: bytes | None = None
        self.downloaded: bytes | None = None

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(
            method,
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Host": "nl.localhost", "Authorization": f"Bearer {self.key}"},
            timeout=60,
            **kwargs,
        )

    def mark_logs(self):
        self.primary_log.mark()
        self.standby_log.mark()

    def sql(self, cluster: PrivatePostgres, query: str):
        with psycopg.connect(cluster.url.replace("postgres://", "postgresql://")) as db:
            db.autocommit = True
            cursor = db.execute(query)
            return cursor.fetchall() if cursor.description else []


def _wait_for_worker(worker: Celery, redis_url: str):
    from celery import Celery as CeleryApp

    app = CeleryApp(broker=redis_url)
    try:
        wait_for(
            lambda: app.control.ping(destination=[WORKER_NAME], timeout=0.5),
            seconds=60,
            what="the Celery worker",
            process=worker.process,
        )
    finally:
        app.close()


def _healthz_worker(port: int) -> str:
    answer = requests.get(
        f"http://127.0.0.1:{port}/healthz", headers={"Host": "nl.localhost"}, timeout=10
    )
    return answer.json()["worker"]


@pytest.fixture(scope="module")
def site():
    started = time.monotonic()
    files = Path(tempfile.mkdtemp(prefix="dnc-replica-"))
    primary = PrivatePostgres()
    standby = None
    private_redis = PrivateRedis()
    gunicorn = worker = None
    try:
        primary.start()
        primary.createdb("dnc")
        private_redis.start()
        environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(files),
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "replica-test-not-secret",
            "MOLLIE_API_KEY": "test_replica0000000000000000000000",
            "DJANGO_ALLOWED_HOSTS": "nl.localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": primary.url,
            "REDIS_URL": private_redis.url,
            "MEDIA_ROOT": str(files / "media"),
            "LOG_LEVEL": "WARNING",
            "WEB_ACCESS_LOG": "",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            **signing_environment(files),
        }
        made = json.loads(manage(environment, "shell", "-c", SETUP).strip().splitlines()[-1])
        print(f"\nmigrated in {time.monotonic() - started:.1f} s")
        (files / "register.txt").write_text("".join(f"{number}\n" for number in REGISTERED))
        manage(environment, "import_register", "--register", "nl", str(files / "register.txt"))
        # The standby, a copy of the migrated primary, streaming from it from now on.
        standby = PrivatePostgres(standby_of=primary)
        standby.start("log_statement=all", "hot_standby_feedback=on")
        with psycopg.connect(primary.url.replace("postgres://", "postgresql://")) as db:
            db.autocommit = True
            db.execute("ALTER SYSTEM SET log_statement = 'all'")
            db.execute("SELECT pg_reload_conf()")
        replicated = {
            **environment,
            "DATABASE_REPLICA_URL": standby.url,
            "REPLICA_MAX_LAG": str(REPLICA_MAX_LAG),
        }
        print(f"\nprimary and standby ready in {time.monotonic() - started:.1f} s")
        # Both started at once; the worker is waited for once gunicorn answers.
        worker = Celery(
            replicated,
            *("worker", "--loglevel", "WARNING", "--concurrency", "2", "--hostname", WORKER_NAME),
            log=files / "worker.log",
        ).start()
        port = free_port()
        gunicorn = start_gunicorn(
            replicated, port=port, log=files / "gunicorn.log", config_file=True
        )
        _wait_for_worker(worker, private_redis.url)
        # The worker's first heartbeat precedes its answer to a ping, unless that write failed
        # on a loaded machine and is retried a second later.
        wait_for(
            lambda: _healthz_worker(port) == "ok (1)",
            seconds=30,
            what="/healthz seeing the worker",
            process=worker.process,
        )
        print(f"replica site ready in {time.monotonic() - started:.1f} s; logs in {files}")
        yield Site(
            port=port,
            key=made["key"],
            campaign=made["campaign"],
            primary=primary,
            standby=standby,
            files=files,
        )
    finally:
        stopping = time.monotonic()
        if worker is not None:
            worker.stop()
        if gunicorn is not None:
            stop_process(gunicorn)
        private_redis.stop()
        keep = os.environ.get("REPLICA_TEST_KEEP_LOGS")
        for cluster in (standby, primary):
            if cluster is not None:
                if keep:
                    with contextlib.suppress(subprocess.SubprocessError):
                        cluster.stop()
                    print(f"\nthe cluster's log is kept in {cluster.log}")
                else:
                    cluster.remove()
        if not keep:
            shutil.rmtree(files, ignore_errors=True)
        print(f"replica site stopped in {time.monotonic() - stopping:.1f} s")


# What every check and scrub must answer, wherever it reads.
RNG = random.Random(15)
CHECKED = [*RNG.sample(REGISTERED, 5), "0612345670", "0687654321", "not a number"]
EXPECTED = ["BLOCKED"] * 5 + ["CALLABLE", "CALLABLE", "INVALID"]
CALL_FILE = RNG.sample(REGISTERED, CALL_FILE_ROWS // 3) + [
    f"06{RNG.randrange(10_000_000, 19_999_999):08d}"
    for _ in range(CALL_FILE_ROWS - CALL_FILE_ROWS // 3)
]
RNG.shuffle(CALL_FILE)


def check(site: Site) -> list[str]:
    answer = site.api(
        "POST", "/api/v1/numbers/check", json={"numbers": CHECKED, "campaign": site.campaign}
    )
    assert answer.status_code == 200, answer.text[:500]
    statuses = [result["status"] for result in answer.json()["results"]]
    assert statuses == EXPECTED
    return statuses


def upload(site: Site) -> int:
    """CALL_FILE uploaded for a scrub through the API; its id."""
    body = "telefoon\n" + "".join(f"{number}\n" for number in CALL_FILE)
    answer = site.api(
        "POST",
        f"/api/v1/campaigns/{site.campaign}/call-files",
        files={"file": ("calls.csv", body.encode(), "text/csv")},
    )
    assert answer.status_code == 202, answer.text[:500]
    return answer.json()["id"]


def scrub_result(site: Site, pk: int) -> bytes:
    """The marked file of call file `pk`, once the worker is done, its marks checked."""
    deadline = time.monotonic() + 60
    while (job := site.api("GET", f"/api/v1/call-files/{pk}").json())["status"] in {
        "queued",
        "running",
    }:
        assert time.monotonic() < deadline, f"the scrub did not finish: {job}"
        time.sleep(0.2)
    assert job["status"] == "done", job
    result = site.api("GET", f"/api/v1/call-files/{pk}/result")
    assert result.status_code == 200, result.text[:300]
    rows = list(csv.reader(io.StringIO(result.content.decode("utf-8-sig")), delimiter=";"))[1:]
    registered = set(REGISTERED)
    assert [row[0] for row in rows] == CALL_FILE
    assert [row[1] for row in rows] == [
        "BLOCKED" if number in registered else "CALLABLE" for number in CALL_FILE
    ]
    return result.content


def request_download(site: Site) -> int:
    answer = site.api("POST", "/api/v1/downloads", json={"kind": "full", "campaign": site.campaign})
    assert answer.status_code == 201, answer.text[:500]
    return answer.json()["id"]


def download_file(site: Site, pk: int) -> bytes:
    """The file of download `pk`, once the worker is done, its numbers checked."""
    deadline = time.monotonic() + 60
    while (job := site.api("GET", f"/api/v1/downloads/{pk}").json())["status"] in {
        "queued",
        "running",
    }:
        assert time.monotonic() < deadline, f"the download did not finish: {job}"
        time.sleep(0.2)
    assert job["status"] == "done", job
    answer = site.api("GET", f"/api/v1/downloads/{pk}/file")
    assert answer.status_code == 200, answer.text[:300]
    lines = answer.content.decode().splitlines()
    assert [line.split(";")[0] for line in lines] == sorted(
        f"31{number[1:]}" for number in REGISTERED
    )
    return answer.content


def replica_lag(site: Site) -> float:
    """The standby's own view: seconds since the last transaction it replayed."""
    return site.sql(
        site.standby,
        "SELECT coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)",
    )[0][0]


def replica_health(site: Site) -> str:
    answer = site.api("GET", "/healthz")
    assert answer.status_code == 200, answer.text
    return answer.json()["replica"]


def test_a_streaming_replica_serves_checks_scrubs_and_downloads(site: Site):
    assert replica_health(site).startswith("ok (lag ")
    site.mark_logs()
    for _ in range(4):
        check(site)
    on_standby, on_primary = site.standby_log.since(), site.primary_log.since()
    assert REGISTER_READ in on_standby
    assert REGISTER_READ not in on_primary
    # The credits a check spends are the primary's (a standby takes no writes).
    assert "licences_creditentry" in on_primary

    site.mark_logs()
    site.marked = scrub_result(site, upload(site))
    on_standby, on_primary = site.standby_log.since(), site.primary_log.since()
    # The match, in two statements of at most 50,000 records.
    assert on_standby.count("register_blockednumber b") == 2
    assert REGISTER_READ not in on_primary

    site.mark_logs()
    site.downloaded = download_file(site, request_download(site))
    assert REGISTER_READ in site.standby_log.since()
    assert REGISTER_READ not in site.primary_log.since()


def test_a_replica_lagging_past_the_limit_leaves_reads_to_the_primary(site: Site):
    site.sql(site.standby, "SELECT pg_wal_replay_pause()")
    try:
        # A write the paused standby receives and does not replay.
        site.sql(site.primary, "CREATE TABLE lag_probe AS SELECT 1 AS one")
        wait_for(
            lambda: replica_lag(site) > REPLICA_MAX_LAG,
            seconds=30,
            what="the replica's lag",
        )
        # Every process's last look at the replica is out of date.
        time.sleep(HEALTH_CACHE + 0.5)
        assert replica_health(site).startswith("lagging ")
        site.mark_logs()
        for _ in range(4):
            check(site)
        assert REGISTER_READ in site.primary_log.since()
        assert REGISTER_READ not in site.standby_log.since()
    finally:
        site.sql(site.standby, "SELECT pg_wal_replay_resume()")
    # Caught up again, the replica serves the checks again.
    site.mark_logs()
    wait_for(
        lambda: check(site) and REGISTER_READ in site.standby_log.since(),
        seconds=HEALTH_CACHE * 3,
        what="checks on the replica again",
    )


def test_a_replica_stopped_under_a_scrub_and_a_download_leaves_them_to_the_primary(site: Site):
    primary = psycopg.connect(site.primary.url.replace("postgres://", "postgresql://"))
    try:
        # Replayed on the standby, the primary's lock holds the scrub's match (at the lock it
        # takes before its snapshot) and the download's COPY there: the standby is stopped
        # while both wait on it.
        primary.execute("LOCK TABLE register_blockednumber IN ACCESS EXCLUSIVE MODE")
        # The lock's WAL record goes to the standby once flushed: a commit flushes it.
        site.sql(site.primary, "SET synchronous_commit = on; CREATE TABLE lock_flush ()")
        site.mark_logs()
        scrub_pk, download_pk = upload(site), request_download(site)
        wait_for(
            lambda: (
                site.sql(
                    site.standby,
                    # The statement's start: pg_stat_activity keeps its first 1,024 bytes.
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND (query LIKE '%COPY (%' OR query LIKE 'LOCK TABLE register_%')",
                )[0][0]
                == 2
            ),
            seconds=60,
            what="the scrub's match and the download's COPY on the standby",
        )
        site.standby.stop()
    finally:
        primary.rollback()
        primary.close()
    # Both read again on the primary: the same marked file, the same download.
    assert scrub_result(site, scrub_pk) == site.marked
    assert download_file(site, download_pk) == site.downloaded
    on_primary = site.primary_log.since()
    assert "register_blockednumber b" in on_primary
    assert "SELECT b.number, b.registered_on" in on_primary

    site.mark_logs()
    # From the primary, whether a process still trusts the replica (its read fails and goes to
    # the primary) or has looked at it since; /healthz says so, and stays 200.
    for _ in range(4):
        check(site)
    assert REGISTER_READ in site.primary_log.since()
    wait_for(
        lambda: replica_health(site) == "down: reads on the primary",
        seconds=HEALTH_CACHE * 3,
        what="/healthz reporting the replica down",
    )
