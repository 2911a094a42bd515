"""GET /healthz: database, broker, worker and disk state for load balancers and operators
(SPEC §16, §18).

HealthMiddleware is the first middleware: it answers /healthz itself, before anything reads the
host (no ALLOWED_HOSTS check, so a load balancer may probe by IP address) and before
RegisterMiddleware's database query (so a database outage is a 503, not a 500). Nothing in the
answer depends on the host or the caller.

The checks run at most once per CHECK_SECONDS in each process, in one thread at a time, each
bounded by a short timeout; other callers get the last report meanwhile. Anonymous callers
cannot hold gunicorn's threads or flood PostgreSQL and Redis with connections.

- database: a fresh connection (with a connect timeout) and `SELECT 1`.
- broker: a PING to the broker's Redis.
- worker: a worker's heartbeat seen in the last minute (config/heartbeat.py), one read, instead
  of a ping that waited up to a second for replies.
- disk: free bytes on the media volume (MEDIA_ROOT), `low` under MEDIA_MIN_FREE_BYTES. Low
  space is reported, not a 503: the volume is shared by every web process, and taking them all
  out of the load balancer would stop the checks and pages that do not write files.
- replica, with DATABASE_REPLICA_URL only: its lag, or that it is down or lagging past
  REPLICA_MAX_LAG (register/replica.py). Reported, never a 503: its reads go to the primary.

200 when database, broker and a worker are ok; 503 when one is not (SPEC §16).
"""

import shutil
import threading
import time
from pathlib import Path

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend
from django.http import HttpResponseNotAllowed, JsonResponse
from django.utils.cache import add_never_cache_headers

from config.celery_app import app as celery_app
from config.heartbeat import WORKER_SEEN_SECONDS, broker_redis, workers_seen
from config.outages import outage_headers
from register.replica import replica_configured, replica_lag

HEALTH_PATH = "/healthz"
CHECK_SECONDS = 3.0
CHECK_TIMEOUT_SECONDS = 2


def database_state() -> str:
    current = connections[DEFAULT_DB_ALIAS].settings_dict
    # Not the request thread's connection: a connection of its own, with a connect timeout
    # (none by default: an unreachable host would hold the check for minutes).
    options = {**current.get("OPTIONS", {}), "connect_timeout": CHECK_TIMEOUT_SECONDS}
    options.pop("pool", None)  # one connection, opened and closed here
    database = load_backend(current["ENGINE"]).DatabaseWrapper(
        {**current, "OPTIONS": options}, DEFAULT_DB_ALIAS
    )
    try:
        with database.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any failure means "down"; the class says which
        return f"down: {error.__class__.__name__}"
    finally:
        database.close()
    return "ok"


def broker_and_worker_states() -> tuple[str, str]:
    try:
        client = broker_redis(celery_app.conf.broker_url, timeout=CHECK_TIMEOUT_SECONDS)
    except ValueError as error:  # not a Redis URL
        return f"down: {error.__class__.__name__}", "unknown: broker down"
    try:
        client.ping()
        seen = workers_seen(client)
    except redis.RedisError as error:
        return f"down: {error.__class__.__name__}", "unknown: broker down"
    finally:
        client.close()
    if not seen:
        return "ok", f"down: no worker seen in the last {WORKER_SEEN_SECONDS} s"
    return "ok", f"ok ({seen})"


def disk_state() -> dict:
    # The volume holding MEDIA_ROOT, which is made by the first upload.
    path = Path(settings.MEDIA_ROOT)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        free = shutil.disk_usage(path).free
    except OSError as error:
        return {"free_bytes": None, "low": True, "error": error.__class__.__name__}
    return {"free_bytes": free, "low": free < settings.MEDIA_MIN_FREE_BYTES}


def replica_state() -> str:
    lag = replica_lag()
    if lag is None:
        return "down: reads on the primary"
    if lag > settings.REPLICA_MAX_LAG:
        return f"lagging {lag:.1f} s: reads on the primary"
    return f"ok (lag {lag:.1f} s)"


def health_report() -> dict:
    database = database_state()
    broker, worker = broker_and_worker_states()
    healthy = all(state.startswith("ok") for state in (database, broker, worker))
    report = {
        "status": "ok" if healthy else "down",
        "database": database,
        "broker": broker,
        "worker": worker,
        "disk": disk_state(),
    }
    if replica_configured():
        report["replica"] = replica_state()
    return report


class CachedReport:
    """The last report of this process, refreshed by one thread at a time when older than
    `max_age`; the others answer with the last one meanwhile."""

    def __init__(self, measure, *, max_age: float):
        self.measure = measure
        self.max_age = max_age
        self.refreshing = threading.Lock()
        self.latest: tuple[float, dict] | None = None

    def get(self) -> dict:
        latest = self.latest
        if latest is not None and time.monotonic() - latest[0] < self.max_age:
            return latest[1]
        if latest is None:
            # No report yet (a fresh process): wait for the thread measuring one.
            self.refreshing.acquire()
        elif not self.refreshing.acquire(blocking=False):
            return latest[1]
        try:
            if self.latest is not latest:  # another thread measured while this one waited
                return self.latest[1]
            report = self.measure()
            self.latest = (time.monotonic(), report)
            return report
        finally:
            self.refreshing.release()

    def clear(self) -> None:
        self.latest = None


report = CachedReport(health_report, max_age=CHECK_SECONDS)


def healthz(request):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    body = report.get()
    response = JsonResponse(body, status=200 if body["status"] == "ok" else 503)
    if response.status_code == 503:
        for name, value in outage_headers().items():
            response[name] = value
    add_never_cache_headers(response)
    return response


class HealthMiddleware:
    """First in MIDDLEWARE: serves /healthz before anything reads the host or the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == HEALTH_PATH:
            return healthz(request)
        return self.get_response(request)
