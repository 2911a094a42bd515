"""A PostgreSQL cluster, a Redis and a gunicorn of the project's own, for tests that stop them.

The machine's PostgreSQL and Redis are shared with other test runs: an outage test starts its
own on free ports, in a temporary directory, and stops and removes them at the end.
"""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from glob import glob
from pathlib import Path

import pytest
import redis
from gunicorn import config as gunicorn_config

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(ready, *, seconds: float, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + seconds
    while not ready():
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what} was not ready within {seconds} s")
        time.sleep(0.1)


def postgres_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        pytest.fail(f"PostgreSQL's {name} is needed (apt-get install postgresql)")
    return found


class PrivatePostgres:
    """initdb, start, stop: a throw-away cluster on 127.0.0.1:port, trusting local users.

    `standby_of`: instead, a hot standby of that (running) cluster, copied by pg_basebackup
    and streaming its WAL from it once started."""

    def __init__(self, *, standby_of: "PrivatePostgres | None" = None):
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="dnc-pg-"))
        self.data = self.directory / "data"
        # PostgreSQL refuses to run as root: as root, it runs as the postgres user.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            user = pwd.getpwnam(self.user)
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        if standby_of is None:
            self.run(postgres_bin("initdb"), "-D", self.data, "-U", "postgres", "-A", "trust")
        else:
            # -R writes standby.signal and the primary's address; initdb's pg_hba.conf lets
            # local users replicate.
            address = ["-h", "127.0.0.1", "-p", standby_of.port, "-U", "postgres"]
            self.run(
                postgres_bin("pg_basebackup"),
                *address,
                "-D",
                self.data,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/dnc"

    def run(self, *arguments):
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run([*prefix, *map(str, arguments)], check=True, capture_output=True, timeout=60)

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    def start(self, *settings: str):
        """Starts the cluster, with `settings` ("name=value") besides the suite's own."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        options += "".join(f" -c {setting}" for setting in settings)
        self.run(
            postgres_bin("pg_ctl"), "-D", self.data, "-o", options, "-l", self.log, "-w", "start"
        )

    def createdb(self, name: str):
        address = ["-h", "127.0.0.1", "-p", self.port, "-U", "postgres"]
        self.run(postgres_bin("createdb"), *address, name)

    def stop(self):
        # Fast: open connections are cut, as in a crash or a failover.
        self.run(postgres_bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop")

    def remove(self):
        with contextlib.suppress(subprocess.SubprocessError):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class PrivateRedis:
    """A redis-server without persistence on 127.0.0.1:port."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.fail("redis-server is needed (apt-get install redis-server)")
        arguments = [executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        arguments += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def answers():
            with contextlib.suppress(redis.ConnectionError):
                return client.ping()

        wait_for(answers, seconds=10, what="redis-server", process=self.process)

    def stop(self):
        if self.process is not None:
            stop_process(self.process)
            self.process = None


def stop_process(process: subprocess.Popen, *, seconds: float = 10):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=seconds)


def manage(environment: dict, *arguments: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        pytest.fail(f"manage.py {arguments[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def start_gunicorn(
    environment: dict, *, port: int, log: Path, config_file: bool = False
) -> subprocess.Popen:
    """The web process as the Procfile runs it (workers and threads), waited for until it
    answers; its errors go to `log`. `config_file`: with config/gunicorn.py itself, on
    WEB_PORT, as deployed."""
    arguments = [sys.executable, "-m", "gunicorn", "config.wsgi"]
    if config_file:
        arguments += ["--config", "config/gunicorn.py"]
        environment = {**environment, "WEB_PORT": str(port)}
    else:
        arguments += ["--bind", f"127.0.0.1:{port}"]
        arguments += ["--workers", "2", "--threads", "4", "--timeout", "30"]
        if any(
            setting.cli == ["--no-control-socket"] for setting in gunicorn_config.KNOWN_SETTINGS
        ):
            # gunicorn 24+ opens a control socket, by default one per user: not shared with
            # the gunicorns of other runs.
            arguments += ["--no-control-socket"]
    with log.open("ab") as errors:
        process = subprocess.Popen(
            arguments, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=errors
        )

    def answers():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    wait_for(answers, seconds=60, what="gunicorn", process=process)
    return process


class Celery:
    """A Celery worker or beat as the Procfile runs it, in a process group of its own: the
    worker's pool children are killed with it (`kill`), as when a machine loses the process."""

    def __init__(self, environment: dict, *arguments: str, log: Path):
        self.environment = environment
        self.arguments = arguments
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self):
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", *self.arguments],
                cwd=ROOT,
                env=self.environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def signal(self, number: int):
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, number)

    def kill(self):
        """SIGKILL to the main process and its children at once; waited for."""
        self.signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)
        self.process = None

    def stop(self, *, seconds: float = 20):
        if self.process is None:
            return
        group = self.process.pid
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        # What the group left behind (a pool child slow to follow its parent).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process = None
