"""Response headers of a register that faces the public (issue 10, item 8)."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.http import FileResponse, HttpResponse
from django.test import RequestFactory

from config.headers import SecurityHeadersMiddleware
from tests.signing import signing_environment

ROOT = Path(__file__).resolve().parent.parent


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def test_pages_allow_no_inline_script_but_their_own(client, db):
    page = client.get("/cases/new/", HTTP_HOST="nl.localhost")

    assert page.status_code == 200
    script_src = directives(page)["script-src"]
    assert "'unsafe-inline'" not in script_src
    nonces = re.findall(r'<script nonce="([^"]+)">', page.content.decode())
    assert nonces, "the case form has its script"
    assert script_src == ["'self'", f"'nonce-{nonces[0]}'"]
    assert "<script>" not in page.content.decode()
    assert page["Referrer-Policy"] == "same-origin"
    assert "camera=()" in page["Permissions-Policy"]


def test_api_answers_are_not_stored(client, db):
    answer = client.get("/api/v1/me", HTTP_HOST="nl.localhost")

    assert answer.status_code == 401
    assert answer["Cache-Control"] == "no-store"


def test_every_file_handed_out_is_not_stored(tmp_path, db):
    path = tmp_path / "marked.csv"
    path.write_text("0612345678;BLOCKED\n")
    middleware = SecurityHeadersMiddleware(
        lambda request: FileResponse(path.open("rb"), as_attachment=True)
    )

    answer = middleware(RequestFactory().get("/campaigns/1/call-files/2/result/"))
    answer.close()

    assert answer["Cache-Control"] == "no-store"
    page = SecurityHeadersMiddleware(lambda request: HttpResponse("page"))(
        RequestFactory().get("/")
    )
    assert "Cache-Control" not in page


def test_production_settings_pass_the_deployment_checks(tmp_path):
    # The browser tests allow Django's ORM beside Playwright's event loop; a server never does.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "bel-me-niet.example",
        "MOLLIE_API_KEY": "live_" + "x" * 30,
        **signing_environment(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
