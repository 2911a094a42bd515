"""The fault suite's site (issue #11, item 5): its own PostgreSQL cluster and Redis, and the web,
a worker and beat as the Procfile runs them against those — production settings, the reaper's
thresholds shortened — so the tests can kill, flush, stop and fill what is theirs alone.

The media volume is a small tmpfs mounted for the run (the sandbox and CI run as root), so the
disk-full test can fill it without touching anyone else's disk.
"""

import contextlib
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis
from celery import Celery as CeleryApp

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
from tests.test_outages import SETUP as BE_SETUP

# The reaper's thresholds, shortened: a pass every 3 s, queued work stuck after 5 s.
REAPER_INTERVAL_SECONDS = 3
REAPER_QUEUED_AFTER_SECONDS = 5
# The media volume: room for the 100k-row scrub and the 200k-number download, and little more.
MEDIA_MEGABYTES = 64

PORTAL_EMAIL = "f@example.com"
PORTAL_PASSWORD = "faults-portal-Passw0rd"
NL_SETUP = """
import io, json, os
from django.core.management import call_command
from django_scopes import scope
from campaigns.services import campaign_create
from licences.models import Company
from register.models import Register
out = io.StringIO()
call_command("create_company", register="nl", name="Faults BV", type="advertiser",
             owner_email=os.environ["PORTAL_EMAIL"], employees=10, stdout=out)
company_id = json.loads(out.getvalue().strip().splitlines()[-1])["id"]
register = Register.objects.get(slug="nl")
with scope(register=register):
    company = Company.objects.get(pk=company_id)
    campaign = campaign_create(company=company, name="Faults", purpose="commercial")
out = io.StringIO()
call_command("create_api_key", company=company_id, stdout=out)
key = out.getvalue().strip().splitlines()[-1]
# 4 x 75,000 credits; two download licences, of which a download may use one.
for product in ["marking-3"] * 4 + ["download"] * 2:
    call_command("grant_licence", company=company_id, product=product, campaign=campaign.pk,
                 stdout=io.StringIO())
call_command("grant_licence", company=company_id, product="upload", stdout=io.StringIO())
# The owner signs in to the portal (its upload forms are tried too).
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
owner = get_user_model().objects.get(email=os.environ["PORTAL_EMAIL"])
owner.set_password(os.environ["PORTAL_PASSWORD"])
owner.save(update_fields=["password"])
EmailAddress.objects.update_or_create(
    user=owner, email=owner.email, defaults={"verified": True, "primary": True}
)
print(json.dumps({"key": key, "campaign": campaign.pk, "company": company_id}))
"""


# What the suite measured in this run, for pytest's closing summary: the output of a passing
# test is captured, and CI's log must show the figures.
REPORTED: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if REPORTED:
        terminalreporter.section("fault suite figures")
        for line in REPORTED:
            terminalreporter.write_line(line)


class Figures:
    """What the suite measured, printed as it goes and together in pytest's closing summary."""

    def add(self, line: str):
        print(f"\n[faults] {line}")
        REPORTED.append(line)


@dataclass
class FaultSite:
    port: int
    key: str  # a be API key (the outage clients check be numbers)
    nl_key: str
    campaign: int
    postgres: PrivatePostgres
    redis: PrivateRedis
    environment: dict
    media: Path
    files: Path
    worker: Celery
    beat: Celery
    figures: Figures
    register_numbers: list[str]

    def sql(self, query: str, *params):
        with psycopg.connect(self.postgres.url.replace("postgres://", "postgresql://")) as db:
            return db.execute(query, params).fetchall()

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url, socket_timeout=5)

    def media_free(self) -> int:
        stat = os.statvfs(self.media)
        return stat.f_bavail * stat.f_frsize

    def fill_media(self, *, leave: int):
        """A ballast file that leaves `leave` bytes free on the media volume."""
        size = self.media_free() - leave
        assert size > 0, "the media volume is already fuller than the test needs"
        with (self.media / "ballast").open("wb") as ballast:
            os.posix_fallocate(ballast.fileno(), 0, size)

    def start_worker(self, *, wait: bool = True):
        self.worker.start()
        if wait:
            self.wait_for_worker()

    def wait_for_worker(self):
        app = CeleryApp(broker=self.redis.url)
        try:
            wait_for(
                lambda: app.control.ping(destination=[WORKER_NAME], timeout=0.5),
                seconds=90,
                what="the Celery worker",
                process=self.worker.process,
            )
        finally:
            app.close()


WORKER_NAME = "faults@test"


def _mount_tmpfs(directory: Path, megabytes: int) -> bool:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0777", "tmpfs", str(directory)],
        capture_output=True,
    )
    return done.returncode == 0


def _register_file(path: Path, count: int) -> list[str]:
    numbers = [f"06{10_000_000 + index * 7:08d}" for index in range(count)]
    path.write_text("".join(f"{number}\n" for number in numbers))
    return numbers


@pytest.fixture(scope="session")
def fault_site():
    started = time.monotonic()
    files = Path(tempfile.mkdtemp(prefix="dnc-faults-"))
    media = files / "media"
    media.mkdir()
    if not _mount_tmpfs(media, MEDIA_MEGABYTES):
        pytest.fail("the fault suite mounts a tmpfs for its media volume: run it as root")
    postgres = PrivatePostgres()
    private_redis = PrivateRedis()
    gunicorn = None
    worker = beat = None
    try:
        postgres.start()
        postgres.createdb("dnc")
        private_redis.start()
        environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(files),
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "faults-test-not-secret",
            "MOLLIE_API_KEY": "test_faults00000000000000000000000",
            **signing_environment(files),
            "DJANGO_ALLOWED_HOSTS": "nl.localhost,be.localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": postgres.url,
            "REDIS_URL": private_redis.url,
            "MEDIA_ROOT": str(media),
            "LOG_LEVEL": "WARNING",
            "WEB_ACCESS_LOG": "",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "REAPER_INTERVAL_SECONDS": str(REAPER_INTERVAL_SECONDS),
            "REAPER_QUEUED_AFTER_SECONDS": str(REAPER_QUEUED_AFTER_SECONDS),
        }
        key = manage(environment, "shell", "-c", BE_SETUP).strip().splitlines()[-1]
        portal_user = {"PORTAL_EMAIL": PORTAL_EMAIL, "PORTAL_PASSWORD": PORTAL_PASSWORD}
        nl = manage({**environment, **portal_user}, "shell", "-c", NL_SETUP)
        nl = json.loads(nl.strip().splitlines()[-1])
        numbers = _register_file(files / "register.txt", 200_000)
        manage(environment, "import_register", "--register", "nl", str(files / "register.txt"))
        (files / "register.txt").unlink()
        port = free_port()
        gunicorn = start_gunicorn(
            environment, port=port, log=files / "gunicorn.log", config_file=True
        )
        worker = Celery(
            environment,
            *("worker", "--loglevel", "INFO", "--concurrency", "2", "--hostname", WORKER_NAME),
            log=files / "worker.log",
        )
        beat = Celery(environment, "beat", "--loglevel", "INFO", log=files / "beat.log")
        site = FaultSite(
            port=port,
            key=key,
            nl_key=nl["key"],
            campaign=nl["campaign"],
            postgres=postgres,
            redis=private_redis,
            environment=environment,
            media=media,
            files=files,
            worker=worker,
            beat=beat,
            figures=Figures(),
            register_numbers=numbers,
        )
        beat.start()
        site.start_worker()
        print(f"\nfault site ready in {time.monotonic() - started:.1f} s; logs in {files}")
        yield site
    finally:
        for process in (worker, beat):
            if process is not None:
                process.stop()
        if gunicorn is not None:
            stop_process(gunicorn)
        private_redis.stop()
        postgres.remove()
        with contextlib.suppress(subprocess.SubprocessError):
            subprocess.run(["umount", "-l", str(media)], capture_output=True, timeout=30)
        if os.environ.get("FAULT_SUITE_KEEP_LOGS"):
            (media / "ballast").unlink(missing_ok=True)
            print(f"\nthe fault suite's logs are kept in {files}")
        else:
            subprocess.run(["rm", "-rf", str(files)], capture_output=True, timeout=60)
