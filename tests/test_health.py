"""SPEC §16 /healthz: 200 when database, broker and a worker answer; 503 when one is down."""

import pytest

from config.celery_app import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_with_database_broker_and_worker(client, celery_worker_process):
    response = client.get("/healthz", HTTP_HOST="nl.localhost")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["worker"].startswith("ok")


def test_healthz_answers_on_any_host(client, celery_worker_process):
    assert client.get("/healthz", HTTP_HOST="127.0.0.1").status_code == 200


def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz", HTTP_HOST="nl.localhost")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")
