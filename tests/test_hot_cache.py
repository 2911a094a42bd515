"""The hot cache (register.hotcache) across processes, as deployed: gunicorn's two workers keep
a host's register and an API key, and learn of a change from PostgreSQL's NOTIFY, whoever makes
it — here `psql`-style SQL on a connection of the test's own, which no Django signal sees — and
after the listener's connection was cut too."""

import json
import os
import subprocess
import sys
import time

import psycopg
import pytest
import requests

from tests.private_servers import ROOT, free_port, start_gunicorn, stop_process

SETUP = """
import json
from django_scopes import scopes_disabled
from licences.models import Company
from licences.services import api_key_create
from register.models import Register
with scopes_disabled():
    nl = Register.objects.get(slug="nl")
    company = Company.objects.create(register=nl, name="Dialer B.V.", country="NL")
    key, raw = api_key_create(company=company, name="dialer")
print(json.dumps({"key": raw, "id": key.pk, "register": nl.pk}))
"""
# Requests on connections of their own, which gunicorn's two workers share between them.
REQUESTS = 16
LISTENING = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND query = 'LISTEN dnc_hot_cache'"
)


def _statuses(port: int, host: str, key: str) -> set[int]:
    return {
        requests.get(
            f"http://127.0.0.1:{port}/api/v1/me",
            headers={"Host": host, "Authorization": f"Bearer {key}"},
            timeout=10,
        ).status_code
        for _n in range(REQUESTS)
    }


def _both_workers_listening(port: int, database: str, key: str) -> None:
    """Asks until both workers have answered, and so cached and started listening."""
    deadline = time.monotonic() + 20
    with psycopg.connect(database, autocommit=True) as db:
        while db.execute(LISTENING).fetchone()[0] != 2:
            assert time.monotonic() < deadline
            _statuses(port, "nl.localhost", key)


def _eventually(port: int, host: str, key: str, expected: int) -> None:
    deadline = time.monotonic() + 10
    while (statuses := _statuses(port, host, key)) != {expected}:
        assert time.monotonic() < deadline, statuses
        time.sleep(0.1)


@pytest.fixture
def site(tmp_path, scratch_database):
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")
    } | {"DATABASE_URL": scratch_database, "LOG_LEVEL": "WARNING", "WEB_ACCESS_LOG": ""}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=environment,
        check=True,
    )
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    port = free_port()
    gunicorn = start_gunicorn(environment, port=port, log=tmp_path / "gunicorn.log")
    try:
        yield port, scratch_database, json.loads(made.stdout.strip().splitlines()[-1])
    finally:
        stop_process(gunicorn)


def test_changes_by_sql_reach_every_worker_even_after_its_listener_lost_its_connection(site):
    port, database, made = site
    _both_workers_listening(port, database, made["key"])
    _eventually(port, "nl.localhost", made["key"], 200)
    assert _statuses(port, "dialer.localhost", made["key"]) == {404}

    with psycopg.connect(database, autocommit=True) as db:
        db.execute(
            'INSERT INTO register_registerhost (register_id, hostname, "primary")'
            " VALUES (%s, 'dialer.localhost', false)",
            [made["register"]],
        )
    _eventually(port, "dialer.localhost", made["key"], 200)

    with psycopg.connect(database, autocommit=True) as db:
        db.execute("UPDATE licences_apikey SET revoked_at = now() WHERE id = %s", [made["id"]])
    _eventually(port, "nl.localhost", made["key"], 401)
    _eventually(port, "dialer.localhost", made["key"], 401)

    with psycopg.connect(database, autocommit=True) as db:
        db.execute("UPDATE licences_apikey SET revoked_at = NULL WHERE id = %s", [made["id"]])
    _eventually(port, "nl.localhost", made["key"], 200)

    # A listener that lost its connection: its worker reads through, then listens again.
    _both_workers_listening(port, database, made["key"])

    with psycopg.connect(database, autocommit=True) as db:
        cut = db.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query = 'LISTEN dnc_hot_cache'"
        ).fetchone()[0]
        assert cut == 2
        db.execute("UPDATE licences_apikey SET revoked_at = now() WHERE id = %s", [made["id"]])
    _eventually(port, "nl.localhost", made["key"], 401)

    _both_workers_listening(port, database, "revoked")
    with psycopg.connect(database, autocommit=True) as db:
        db.execute("UPDATE licences_apikey SET revoked_at = NULL WHERE id = %s", [made["id"]])
    _eventually(port, "nl.localhost", made["key"], 200)
