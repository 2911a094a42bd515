"""Real Celery workers for the tests that need one: separate processes on the test broker and
the test database, as in production."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from config.celery_app import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def start_worker(
    *, hostname: str, queues: str | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Starts a solo-pool worker and waits until it answers a ping."""
    db = settings.DATABASES["default"]
    database_url = (
        f"postgres://{db.get('USER') or ''}@{db.get('HOST') or '127.0.0.1'}:"
        f"{db.get('PORT') or 5432}/{db['NAME']}"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    environment["DATABASE_URL"] = database_url
    if "DATABASE_REPLICA_URL" in environment:
        # The test run's replica is a mirror of the test database: the worker's is too.
        environment["DATABASE_REPLICA_URL"] = database_url
    environment.update(env or {})
    arguments = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"]
    arguments += ["--loglevel", "WARNING", "--hostname", hostname]
    if queues:
        arguments += ["--queues", queues]
    worker = subprocess.Popen(arguments, cwd=ROOT, env=environment)
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(destination=[hostname], timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail("the Celery worker did not start")
    return worker
