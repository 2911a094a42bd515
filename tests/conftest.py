import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from django_scopes import scopes_disabled
from psycopg import sql

from billing.fake_mollie import FakeMollieServer
from register import hotcache
from register.models import Register
from tests.workers import start_worker

ROOT = Path(__file__).resolve().parent.parent
MOLLIE_TEST_KEY = "test_" + "f" * 30

# This process makes its tests' changes itself, mostly in transactions rolled back unannounced:
# its hot cache trusts the in-process invalidation, and is emptied before each test. The
# processes a test starts (gunicorn, workers) listen for NOTIFY as in production.
settings.HOT_CACHE_LISTEN = False


def pytest_collection_modifyitems(items):
    """Transactional tests end by emptying every table, the registers and catalogues of the data
    migrations included; serialized rollback restores them for the tests that follow."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if "replica" in settings.DATABASES and (
            marker is not None or {"db", "transactional_db", "live_server"} & set(item.fixturenames)
        ):
            # DATABASE_REPLICA_URL set: the replica alias is a mirror of the test database
            # (config/settings/test.py), which register.replica looks at; it is no standby, so
            # every read stays on the test database.
            item.add_marker(
                pytest.mark.django_db(
                    *(marker.args if marker else ()),
                    **{**(marker.kwargs if marker else {}), "databases": "__all__"},
                ),
                append=False,
            )
            marker = item.get_closest_marker("django_db")
        transactional = (marker is not None and marker.kwargs.get("transaction")) or bool(
            {"transactional_db", "live_server"} & set(item.fixturenames)
        )
        if not transactional:
            continue
        # pytest-django reads the closest django_db marker, and the fixture for unmarked tests.
        if marker is not None and not marker.kwargs.get("serialized_rollback"):
            # In front: pytest-django reads the closest marker when it decides at set-up which
            # databases to serialize.
            item.add_marker(
                pytest.mark.django_db(*marker.args, **marker.kwargs, serialized_rollback=True),
                append=False,
            )
        if "django_db_serialized_rollback" not in item.fixturenames:
            item.fixturenames.append("django_db_serialized_rollback")


@pytest.fixture(autouse=True)
def empty_hot_cache():
    hotcache.changed()


@pytest.fixture(autouse=True)
def project_language():
    """Each test starts in the project's language: one that another test activated and left
    behind would make a message's wording depend on the order the tests run in."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def fresh_rate_limits():
    """Rate-limit counters live in the test Redis and would carry over from one test to the
    next: the tests that meet a limit start and end with none used."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def nl(db) -> Register:
    with scopes_disabled():
        return Register.objects.get(slug="nl")


@pytest.fixture
def be(db) -> Register:
    with scopes_disabled():
        return Register.objects.get(slug="be")


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real Celery worker (a separate process) on the test broker and the test database."""
    worker = start_worker(hostname=f"test-{os.getpid()}@test")
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


@pytest.fixture
def fake_mollie(settings) -> Iterator[FakeMollieServer]:
    """The fake Mollie server in a thread on a free port, the real mollie client pointed at it."""
    server = FakeMollieServer(host="127.0.0.1", port=0, webhook_timeout=30)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.MOLLIE_API_ENDPOINT = server.public_url
    settings.MOLLIE_API_KEY = MOLLIE_TEST_KEY
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    """Files stored by a test (PDFs, uploads) go to its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def stored_files():
    """A real worker (another process, with its own settings) stores call files where the
    settings put them, not in a test's `media_root`: the files of the test's call files are
    deleted afterwards."""
    from campaigns.models import CallFile

    yield
    with scopes_disabled():
        for call_file in CallFile.objects.all():
            for stored in (call_file.file, call_file.result, call_file.certificate):
                if stored.name:
                    stored.delete(save=False)


@pytest.fixture
def scratch_database():
    """An empty database of its own on the shared server, for processes a test starts; its URL."""
    db = settings.DATABASES["default"]
    # Named after this run's test database, which concurrent runs keep apart.
    name = f"{db.get('TEST', {}).get('NAME') or db['NAME']}_scratch"
    params = {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or None,
    }
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    user = f"{params['user']}@" if params["user"] else ""
    yield f"postgres://{user}{params['host']}:{params['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(drop)
