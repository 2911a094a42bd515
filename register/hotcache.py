"""A per-process cache of what every API request reads and almost never changes (issue #15): the
register of a host, a company's API key, a campaign, how the register charges for checks and the
company's access licence. A dialer checks each number just before dialling, so these reads would
otherwise be most of a check's work.

Invalidated on change, whoever changes it: triggers on the tables behind the cache (migration
register 0022) send `NOTIFY dnc_hot_cache` in the transaction that changes a row — an `update()`,
the admin, a command or `psql` alike — and PostgreSQL delivers it at commit, to a thread in each
process that listens on its own connection and empties the cache. A write to those tables in
this process empties it at once as well (`watch_connection`), so the next request here never
reads what it has just replaced.
While the listener is not connected nothing is kept: every read goes to the database, as
without a cache. A value loaded while a notice arrived is not kept either (the generation moved
on), so a change racing a load cannot leave the old value behind.
"""

import logging
import os
import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

import psycopg
from django.conf import settings
from django.db import connections

CHANNEL = "dnc_hot_cache"
# The tables behind the cache; migration register 0022 puts its triggers on them.
TABLES = (
    "register_register",
    "register_registerhost",
    "licences_apikey",
    "licences_company",
    "licences_licence",
    "licences_licenceproduct",
    "campaigns_campaign",
)
_WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
# Written once a minute by each key in use (register.authentication), held by no cached value.
_KEY_USED = 'UPDATE "licences_apikey" SET "last_used_at" = %s WHERE'
# How long the listener waits before connecting again after losing its connection.
RECONNECT_SECONDS = 1.0

logger = logging.getLogger(__name__)
T = TypeVar("T")


class _HotCache:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries: dict[Hashable, object] = {}
        self.generation = 0
        self.listening = False
        self.listener_pid: int | None = None

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        if not self._usable():
            return load()
        try:
            return self.entries[key]
        except KeyError:
            pass
        generation = self.generation
        value = load()
        with self.lock:
            if generation == self.generation and self._usable():
                self.entries[key] = value
        return value

    def clear(self) -> None:
        with self.lock:
            self.generation += 1
            self.entries = {}

    def _usable(self) -> bool:
        if not settings.HOT_CACHE:
            return False
        if not settings.HOT_CACHE_LISTEN:
            # One process sees every change (the test suite): the in-process invalidation does.
            return True
        if self.listener_pid != os.getpid():
            # First use in this process, or a fork inherited the parent's state: a listener of
            # our own, and nothing the parent cached.
            self._start_listener()
        return self.listening

    def _start_listener(self) -> None:
        with self.lock:
            if self.listener_pid == os.getpid():
                return
            self.listener_pid = os.getpid()
            self.listening = False
            self.entries = {}
            self.generation += 1
        threading.Thread(target=self._listen, name="hot-cache-listener", daemon=True).start()

    def _listen(self) -> None:
        while True:
            try:
                with psycopg.connect(_conninfo(), autocommit=True) as listener:
                    listener.execute(f"LISTEN {CHANNEL}")
                    # Whatever changed before LISTEN took effect was never announced to us.
                    self.clear()
                    self.listening = True
                    for _notice in listener.notifies():
                        self.clear()
            except psycopg.Error:
                logger.warning("hot cache: listener lost its connection; reading through")
            self.listening = False
            self.clear()
            time.sleep(RECONNECT_SECONDS)


def _conninfo() -> str:
    params = connections["default"].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    params.pop("server_side_binding", None)
    return psycopg.conninfo.make_conninfo(
        **{key: value for key, value in params.items() if value is not None}
    )


_cache = _HotCache()


def cached(key: Hashable, load: Callable[[], T]) -> T:
    """The value under `key`, loaded by `load` on a miss. The value is shared by every thread of
    the process: treat it as read-only."""
    return _cache.get(key, load)


def changed() -> None:
    """Empties this process's cache; the other processes learn of a change from the NOTIFY its
    table's trigger sends at commit."""
    _cache.clear()


def _watch(execute, sql, params, many, context):
    if (
        sql.lstrip()[:8].upper().startswith(_WRITES)
        and any(table in sql for table in TABLES)
        and not sql.startswith(_KEY_USED)
    ):
        _cache.clear()
    return execute(sql, params, many, context)


def watch_connection(connection, **_signal) -> None:
    """Every statement of this process that writes a cached table empties the cache at once (a
    receiver of `connection_created`, which a connection opened anew sends again): the
    triggers' notice arrives only after commit."""
    if _watch not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch)
