"""GET /healthz: database, broker and worker state for load balancers and operators (SPEC §16)."""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery_app import app as celery_app

WORKER_PING_TIMEOUT = 1.0


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # any failure means "down"; the message says which
        return f"down: {error.__class__.__name__}"
    return "ok"


def broker_state() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:
        return f"down: {error.__class__.__name__}"
    return "ok"


def worker_state() -> str:
    try:
        replies = celery_app.control.ping(timeout=WORKER_PING_TIMEOUT)
    except Exception as error:
        return f"down: {error.__class__.__name__}"
    return f"ok ({len(replies)})" if replies else "down: no worker answered"


@never_cache
@require_GET
def healthz(request):
    checks = {"database": database_state(), "broker": broker_state()}
    checks["worker"] = worker_state() if checks["broker"] == "ok" else "unknown: broker down"
    healthy = all(state.startswith("ok") for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "down", **checks}, status=200 if healthy else 503
    )
