"""Reads served by a streaming replica of PostgreSQL (README "Scaling"), when one is configured.

`DATABASE_REPLICA_URL` adds the database alias `replica`: a hot standby fed by PostgreSQL's own
streaming replication. The register's heavy reads — a check's lookup, a scrub's match, a
download's COPY — ask `read_database()` which alias to read from, explicitly (`connections[…]`,
`using=`), rather than through a database router: a router would send every read of a model
there, the reads a request makes of its own writes (a credit just spent, a job just claimed)
included, and a read of the wrong copy would be invisible at the call site. Nothing is ever
written to the replica (a standby refuses it anyway).

The replica is read only while it answers and its replay lags the primary by at most
`REPLICA_MAX_LAG` seconds; each process measures that at most every `CHECK_SECONDS` and keeps
the answer meanwhile. Otherwise, or without a replica, every read goes to the primary, as with
one database.
"""

import datetime
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, connections

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
# How long a process trusts its last look at the replica.
CHECK_SECONDS = 3.0
# How often a long read polls the replica's replay while waiting for it to catch up.
POLL_SECONDS = 0.05

logger = logging.getLogger(__name__)
T = TypeVar("T")

# The replica's lag in seconds, or None when it cannot be read: measured on the standby. When
# everything received is replayed the replica is as fresh as its stream, however long ago the
# last transaction was (an idle primary); otherwise the lag is the age of the last transaction
# replayed. Without a WAL receiver (the primary unreachable: its row is gone, and a role without
# pg_read_all_stats sees no more than that it runs) the replica cannot know what it misses, and
# counts as lagging by that age too.
_LAG = """
    SELECT pg_is_in_recovery(),
        CASE
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                AND EXISTS (SELECT FROM pg_stat_wal_receiver)
            THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())
        END
"""


class _Health:
    """The process's last look at the replica, shared by its threads; the lock is held by the
    one thread looking."""

    def __init__(self):
        self.lock = threading.Lock()
        self.checked_at = float("-inf")
        self.usable = False


_health = _Health()


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_lag() -> float | None:
    """The replica's lag in seconds, measured now; None when it is down or is no standby."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(_LAG)
            in_recovery, lag = cursor.fetchone()
    except (DatabaseError, InterfaceError) as error:
        logger.warning("The read replica cannot be reached: %s", error)
        # A broken connection is opened anew on the next look.
        connections[REPLICA].close()
        return None
    if not in_recovery:
        # Promoted, or pointed at a primary by mistake: no longer a copy of this primary.
        logger.warning("The read replica is not in recovery: reads stay on the primary")
        return None
    # NULL: nothing replayed since the standby started; its stream's age is unknown.
    return None if lag is None else float(lag)


def read_database() -> str:
    """The alias to read the register from: the replica when configured, reachable and not
    lagging past REPLICA_MAX_LAG, else the primary. One thread of the process looks at the
    replica when the last look is due again (a connect timeout at worst); the others take the
    last answer meanwhile rather than wait for it."""
    if not replica_configured():
        return PRIMARY
    if time.monotonic() - _health.checked_at >= CHECK_SECONDS and _health.lock.acquire(
        blocking=False
    ):
        try:
            if time.monotonic() - _health.checked_at >= CHECK_SECONDS:
                lag = replica_lag()
                usable = lag is not None and lag <= settings.REPLICA_MAX_LAG
                if usable != _health.usable:
                    logger.warning(
                        "Register reads now go to the %s (replica lag: %s s)",
                        REPLICA if usable else "primary",
                        "unknown" if lag is None else f"{lag:.1f}",
                    )
                _health.usable, _health.checked_at = usable, time.monotonic()
        finally:
            _health.lock.release()
    return REPLICA if _health.usable else PRIMARY


def replica_failed(error: Exception) -> None:
    """A read on the replica broke: the next reads go to the primary until it is looked at
    again (CHECK_SECONDS)."""
    logger.warning("A read on the replica failed, reading from the primary: %s", error)
    connections[REPLICA].close()
    # Not under the lock, which a thread looking at the replica may hold for seconds.
    _health.usable, _health.checked_at = False, time.monotonic()


def read_with_fallback(read: Callable[[str], T]) -> T:
    """`read(alias)` on the database `read_database()` names; a replica that fails under it
    (stopped, restarted, its connection cut) is read from the primary instead. For short reads
    that start over cheaply: a check's lookup."""
    database = read_database()
    if database == PRIMARY:
        return read(PRIMARY)
    try:
        return read(REPLICA)
    except (DatabaseError, InterfaceError) as error:
        replica_failed(error)
        return read(PRIMARY)


def read_database_as_of() -> tuple[str, datetime.datetime]:
    """For a long read of the register (a scrub's match, a download): the alias to read it from
    and the moment before which every change of the register is in what it reads there.

    A change is dated by its transaction's start but seen only once committed (an import runs
    for minutes), so the moment is the start of the primary's oldest open transaction, if
    earlier than now: every change dated before it is committed, and so in the primary's WAL
    before its insert position now (an asynchronous commit's record too, not yet written). The
    replica is read only once it has replayed up to that position — a moment's wait when it
    streams, at most REPLICA_MAX_LAG seconds — else the primary. Called on the primary, inside
    the caller's transaction if it holds one, whose own start it leaves out.
    """
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute(
            "SELECT least(clock_timestamp(), min(xact_start)), pg_current_wal_insert_lsn()"
            " FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        as_of, position = cursor.fetchone()
    if read_database() == PRIMARY:
        return PRIMARY, as_of
    try:
        replayed = _replayed(position, seconds=settings.REPLICA_MAX_LAG)
    except (DatabaseError, InterfaceError) as error:
        replica_failed(error)
        return PRIMARY, as_of
    return (REPLICA if replayed else PRIMARY), as_of


def _replayed(position: str, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    with connections[REPLICA].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
            if cursor.fetchone()[0]:
                return True
            if time.monotonic() > deadline:
                logger.warning("The read replica did not replay %s in %s s", position, seconds)
                return False
            time.sleep(POLL_SECONDS)
