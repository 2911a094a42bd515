"""Celery tasks run scoped to one register (STYLE 18), as pretix's `EventTask` does.

A task takes the id of the row it serves. `scoped_task` looks that row's register up without a
scope — the only unscoped read a worker makes — and runs the task's body inside
`scope(register=…)`, so every query of the services it calls is filtered to that register, as a
web request's are. Scheduled work that serves every register goes through `each_register`.
"""

import inspect
from collections.abc import Callable, Iterator
from functools import wraps

from celery import shared_task
from django.apps import apps
from django_scopes import scope, scopes_disabled

from register.models import Register

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
