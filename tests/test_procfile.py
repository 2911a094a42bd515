"""The Procfile starts as an operator starts it (SPEC §18): a checkout with nothing made by
`make run` — no var/, no collected static files, no demo data —, a migrated database, and
`honcho start`. All four processes must come up and stay up; honcho stops every process as
soon as one exits, so honcho still running means all four are.

The checkout is a copy of the project's files in a temporary directory (the virtualenv linked
in), its database a scratch one made by `migrate`, its Redis database one of its own.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
REDIS_DB = 14
UP_FOR_SECONDS = 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fresh_checkout(target: Path) -> None:
    """The files git would check out (tracked, or new and not ignored), as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(Path(sys.prefix))


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as answer:
        return json.load(answer)
    except OSError:
        return None


def test_procfile_processes_start_on_a_fresh_checkout(tmp_path, scratch_database):
    checkout = tmp_path / "checkout"
    fresh_checkout(checkout)
    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    web_port = free_port()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")
    } | {
        "DATABASE_URL": scratch_database,
        "REDIS_URL": redis_url,
        "WEB_PORT": str(web_port),
        "FAKE_MOLLIE_PORT": str(free_port()),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    subprocess.run(
        [checkout / ".venv/bin/python", "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=checkout,
        env=environment,
        check=True,
    )
    assert not (checkout / "var").exists()

    output = tmp_path / "honcho.log"
    with output.open("wb") as log:
        honcho = subprocess.Popen(
            [checkout / ".venv/bin/honcho", "start"],
            cwd=checkout,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        state = None
        while time.monotonic() < deadline and honcho.poll() is None:
            state = health(web_port)
            if state is not None and state.get("worker", "").startswith("ok"):
                break
            time.sleep(0.5)
        assert honcho.poll() is None, output.read_text()
        assert state is not None and state["status"] == "ok", (state, output.read_text())

        time.sleep(UP_FOR_SECONDS)
        assert honcho.poll() is None, output.read_text()
        log_text = output.read_text()
        for process in ("web", "worker", "beat", "mollie"):
            assert f"{process}.1" in log_text, log_text
        assert "stopping" not in log_text.lower(), log_text

        with psycopg.connect(scratch_database) as conn:
            scheduled = conn.execute(
                "SELECT name FROM django_celery_beat_periodictask WHERE enabled"
            ).fetchall()
        assert {name for (name,) in scheduled} >= set(settings.CELERY_BEAT_SCHEDULE)
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGTERM)
            try:
                honcho.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(honcho.pid, signal.SIGKILL)
                honcho.wait()
        redis.Redis.from_url(redis_url).flushdb()
