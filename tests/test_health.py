"""SPEC §16 /healthz: 200 when database, broker and a worker answer; 503 when one is down.

Answered before the host is read or the database asked (config/health.py): on any host, by
address, and from a report each process keeps for a few seconds.
"""

import uuid

import pytest

from config import health, heartbeat
from config.celery_app import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_report():
    """Each test measures: a report kept from the test before would answer for it."""
    health.report.clear()
    yield
    health.report.clear()


def test_healthz_is_ok_with_database_broker_and_worker(client, celery_worker_process):
    response = client.get("/healthz", HTTP_HOST="nl.localhost")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["worker"].startswith("ok")
    assert body["disk"]["free_bytes"] > 0
    assert body["disk"]["low"] is False
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3:8000", "unknown.example", "[::1]"])
def test_healthz_answers_on_any_host_and_address(client, celery_worker_process, host):
    # Neither ALLOWED_HOSTS (a 400) nor a host without a register (a 404) is in the way.
    assert client.get("/healthz", HTTP_HOST=host).status_code == 200


def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz", HTTP_HOST="nl.localhost")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")
    assert response.json()["worker"].startswith("unknown")


def test_healthz_is_503_when_no_worker_was_seen_in_the_last_minute(client, monkeypatch):
    # A key no worker writes to: the broker answers, no heartbeat is there.
    monkeypatch.setattr(heartbeat, "HEARTBEAT_KEY", f"{heartbeat.HEARTBEAT_KEY}:{uuid.uuid4()}")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "ok"
    assert response.json()["worker"].startswith("down: no worker seen")


def test_healthz_is_503_when_the_database_is_down(client, settings, monkeypatch):
    from django.db import connections

    monkeypatch.setitem(connections["default"].settings_dict, "PORT", "1")
    response = client.get("/healthz", HTTP_HOST="unknown.example")
    assert response.status_code == 503
    assert response.json()["database"] == "down: OperationalError"


def test_healthz_reports_low_space_on_the_media_volume(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "not-made-yet" / "media"
    settings.MEDIA_MIN_FREE_BYTES = 2**62
    disk = client.get("/healthz").json()["disk"]
    assert disk["free_bytes"] > 0
    assert disk["low"] is True


def test_healthz_measures_at_most_once_per_few_seconds(client, monkeypatch):
    calls = []
    monkeypatch.setattr(health.report, "measure", lambda: calls.append(1) or {"status": "ok"})
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    assert len(calls) == 1


def test_healthz_only_reads(client):
    assert client.post("/healthz").status_code == 405
