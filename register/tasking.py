"""Celery tasks run scoped to one register (STYLE 18), as pretix's `EventTask` does.

A task takes the id of the row it serves. `scoped_task` looks that row's register up without a
scope — the only unscoped read a worker makes — and runs the task's body inside
`scope(register=…)`, so every query of the services it calls is filtered to that register, as a
web request's are. Scheduled work that serves every register goes through `each_register`.
"""

import datetime
import errno
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps

from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _g
from django_scopes import scope, scopes_disabled

from register.models import Register

logger = logging.getLogger(__name__)

# Set on the tasks made here; a test asserts that every task of ours carries it.
SCOPED = "dnc_scoped"

# Rendering a document and mailing it: SMTP and storage errors are OSErrors, worth retrying
# later; the work is idempotent (a PDF is rendered once, a mail sent once).
DELIVERY_TASK_OPTIONS = {
    "acks_late": True,
    "time_limit": 300,
    "soft_time_limit": 240,
    "autoretry_for": (OSError,),
    "retry_backoff": 60,
    "max_retries": 8,
}


def register_of(model_label: str, pk) -> Register | None:
    """The register a row belongs to, or None when the row is gone."""
    model = apps.get_model(model_label)
    with scopes_disabled():
        register_id = model.objects.filter(pk=pk).values_list("register_id", flat=True).first()
        if register_id is None:
            return None
        return Register.objects.get(pk=register_id)


def scoped_task(model_label: str, **options) -> Callable:
    """A `shared_task` whose first argument (after `self` when bound) is the id of a
    `model_label` row ("app_label.Model"); the body runs in that row's register scope. A row
    that no longer exists ends the task with None: there is nothing left to do."""

    def decorate(function: Callable) -> Callable:
        position = 1 if options.get("bind", False) else 0
        id_name = list(inspect.signature(function).parameters)[position]

        @wraps(function)
        def run(*args, **kwargs):
            pk = kwargs[id_name] if id_name in kwargs else args[position]
            register = register_of(model_label, pk)
            if register is None:
                return None
            with scope(register=register):
                return function(*args, **kwargs)

        setattr(run, SCOPED, model_label)
        return shared_task(**options)(run)

    return decorate


def per_register_task(**options) -> Callable:
    """A `shared_task` for scheduled work over every register: `each_register` gives each one
    with its scope set."""

    def decorate(function: Callable) -> Callable:
        setattr(function, SCOPED, "each register")
        return shared_task(**options)(function)

    return decorate


def each_register() -> Iterator[Register]:
    """Every register in turn, with the scope set to it while the caller's loop body runs."""
    with scopes_disabled():
        registers = list(Register.objects.order_by("pk"))
    for register in registers:
        with scope(register=register):
            yield register


def enqueue(task, pk) -> bool:
    """Publishes `task(pk)` now; True when the broker took it.

    A failed publish (the broker down or its connection lost) is logged, not raised: the row is
    committed and is the truth, and the reaper (config/reaper.py) queues its work again once it
    has waited past `REAPER_QUEUED_AFTER_SECONDS` (STYLE 16). Nothing a caller committed is ever
    answered with a 500 because the messenger was away.
    """
    try:
        task.delay(pk)
    except Exception:
        # Kombu's OperationalError, redis' ConnectionError, a socket's OSError, a timeout: any
        # failure to publish leaves the same thing behind, a row the reaper will find.
        logger.warning("could not queue %s(%s); the reaper will", task.name, pk, exc_info=True)
        return False
    return True


def enqueue_on_commit(task, pk) -> None:
    """Publishes `task(pk)` once the current transaction commits (at once outside one), so a
    worker never sees uncommitted rows; a publish that fails is logged (see `enqueue`)."""
    transaction.on_commit(lambda: enqueue(task, pk))


# Jobs' liveness (STYLE 16). A job holds a PostgreSQL *session* advisory lock on its row while it
# works; PostgreSQL frees it when the session ends, so a worker that died (SIGKILL, OOM, a lost
# host) leaves a RUNNING row whose lock is free, which the next delivery or the reaper takes
# over at once. Each kind of job has its own 32-bit key space; the row's id is the other half of
# the 64-bit key, so pg_locks shows it as (classid = space, objid = id).
CALL_FILE_LOCKS = 0x4346_0001
DOWNLOAD_LOCKS = 0x444C_0001
REGISTRATION_FILE_LOCKS = 0x5246_0001


def job_lock_key(space: int, pk: int) -> int:
    return (space << 32) + int(pk)


@contextmanager
def job_lock(space: int, pk: int) -> Iterator[bool]:
    """Holds the session advisory lock of row `pk` while the block runs; yields whether it was
    taken (False: another live session works on the row). A connection that broke meanwhile is
    closed, which frees the lock with its session."""
    key = job_lock_key(space, pk)
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        taken = cursor.fetchone()[0]
    try:
        yield taken
    finally:
        if taken:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:
                connection.close()


def job_locks_held(space: int, ids: Iterable[int]) -> set[int]:
    """Which of the rows `ids` some live session holds the job lock of, read from pg_locks
    without taking any."""
    ids = [int(pk) for pk in ids]
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid::bigint = %s AND objsubid = 1 AND objid::bigint = ANY(%s)",
            [space, ids],
        )
        return {row[0] for row in cursor.fetchall()}


def job_failure(error: BaseException) -> tuple[str, str]:
    """The code and the human message a job that could not finish ends with (STYLE 12)."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "disk_full", _g(
            "The server ran out of disk space while working on this; nothing was charged and "
            "nothing was kept. Try again in a while; the service desk has been told."
        )
    if isinstance(error, DatabaseError) or type(error).__module__.startswith("psycopg"):
        return "database_unavailable", _g(
            "The database was unavailable while working on this; nothing was charged. "
            "Try again in a few minutes."
        )
    if isinstance(error, OSError):
        return "file_unreadable", _g(
            "A file needed for this could not be read or written on our side; nothing was "
            "charged. Upload it again, or ask the service desk if it fails again."
        )
    return "internal_error", _g(
        "This failed on our side; nothing was charged. Try again, or ask the service desk if "
        "it fails again."
    )


def job_finish(model, pk: int, *, from_statuses: Iterable[str], values: dict) -> int:
    """Sets `values` on row `pk` if its status is still one of `from_statuses`; returns the rows
    changed. Written on the job's connection when it still works, else on a fresh one: a job
    that failed because of its connection (a COPY left mid-stream, PostgreSQL restarted) must
    still leave a clear state behind rather than a RUNNING row."""
    from_statuses = list(from_statuses)
    try:
        with transaction.atomic():
            return model.objects.filter(pk=pk, status__in=from_statuses).update(**values)
    except DatabaseError:
        logger.warning("job connection unusable; finishing %s %s on a fresh one", model, pk)
    connection.close_if_unusable_or_obsolete()
    fresh = connections.create_connection("default")
    try:
        fields = [model._meta.get_field(name) for name in values]
        assignments = ", ".join(f"{fresh.ops.quote_name(field.column)} = %s" for field in fields)
        params = [field.get_db_prep_save(values[field.name], fresh) for field in fields]
        with fresh.cursor() as cursor:
            cursor.execute(
                f"UPDATE {fresh.ops.quote_name(model._meta.db_table)} SET {assignments}"  # noqa: S608
                " WHERE id = %s AND status = ANY(%s)",
                [*params, pk, from_statuses],
            )
            return cursor.rowcount
    finally:
        fresh.close()


# The reaper's side of it (config/reaper.py): each app finds its stuck rows with these.


def reaper_cutoff() -> datetime.datetime:
    """Work queued (or a document due) before this moment and still not taken is stuck: its
    message was lost (a broker restarted without its data, a publish that failed)."""
    return timezone.now() - datetime.timedelta(seconds=settings.REAPER_QUEUED_AFTER_SECONDS)


def jobs_requeue(*, task, lock_space: int, queued, running, due=None) -> int:
    """Queues `task` again for the stuck rows of one kind of job; returns how many.

    `queued`: rows queued before `reaper_cutoff()` (no worker claimed them); `running`: rows
    RUNNING, of which those whose job lock is free are taken over (their worker's session is
    gone); `due`: other rows the task must finish (a certificate missing). Queueing twice is
    harmless: every job claims its row under its lock with a conditional UPDATE.
    """
    ids = list(queued.values_list("pk", flat=True))
    running_ids = list(running.values_list("pk", flat=True))
    held = job_locks_held(lock_space, running_ids)
    ids += [pk for pk in running_ids if pk not in held]
    if due is not None:
        ids += list(due.values_list("pk", flat=True))
    for pk in ids:
        enqueue(task, pk)
    if ids:
        logger.warning("reaper: queued %s again for %s", task.name, ids)
    return len(ids)
