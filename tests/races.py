"""Races run for real on PostgreSQL (STYLE 9): callables started together in threads, each on
its own connection, in tests marked `django_db(transaction=True, serialized_rollback=True)`."""

import threading
from collections.abc import Callable

from django.db import connection
from django_scopes import scopes_disabled


def run_at_once(*blocks: Callable[[], object]) -> list[Exception]:
    """Runs `blocks` in threads released together; returns what they raised."""
    barrier = threading.Barrier(len(blocks))
    failures: list[Exception] = []

    def run(block):
        barrier.wait()
        try:
            with scopes_disabled():
                block()
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(block,)) for block in blocks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures
