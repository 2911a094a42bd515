"""Workers say they are alive in the broker's Redis; /healthz reads that instead of pinging.

A `celery inspect ping` from /healthz waits up to its timeout for replies, inside a web thread:
a few anonymous callers could hold every gunicorn thread. Instead each worker's main process
writes its name and the time into one sorted set every HEARTBEAT_SECONDS, from the worker's own
timer (a bootstep, Celery's documented way to run something periodically inside the worker), and
/healthz counts the names written in the last WORKER_SEEN_SECONDS: one Redis round trip.

The timer runs in the worker's main process, like the reply to a ping, so "seen" means what a
ping meant: the worker is running and connected to the broker. It is not written by a task, so a
queue full of long scrubs does not make a busy worker look dead, and beat need not run.
"""

import logging
import time

import redis
from celery import bootsteps

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "dnc:workers:heartbeat"
HEARTBEAT_SECONDS = 20
# Three heartbeats may be missed (a broker hiccup, a slow start) before a worker counts as gone.
WORKER_SEEN_SECONDS = 60


def broker_redis(url: str, *, timeout: float) -> redis.Redis:
    """A client with short timeouts: a health check must answer even when Redis does not."""
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def heartbeat_record(client: redis.Redis, *, hostname: str) -> None:
    now = time.time()
    pipeline = client.pipeline(transaction=False)
    pipeline.zadd(HEARTBEAT_KEY, {hostname: now})
    # Names of workers long gone (renamed, scaled down) do not pile up.
    pipeline.zremrangebyscore(HEARTBEAT_KEY, "-inf", now - 24 * 3600)
    pipeline.execute()


def heartbeat_forget(client: redis.Redis, *, hostname: str) -> None:
    client.zrem(HEARTBEAT_KEY, hostname)


def workers_seen(client: redis.Redis) -> int:
    """How many workers wrote a heartbeat in the last WORKER_SEEN_SECONDS."""
    return client.zcount(HEARTBEAT_KEY, time.time() - WORKER_SEEN_SECONDS, "+inf")


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Writes the worker's heartbeat at start, every HEARTBEAT_SECONDS, and removes it at a
    clean stop (so a stopped worker is not counted for another minute)."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.timer_entry = None
        self.client = None

    def start(self, worker):
        self.client = broker_redis(worker.app.conf.broker_url, timeout=2)
        self.beat(worker)
        self.timer_entry = worker.timer.call_repeatedly(
            HEARTBEAT_SECONDS, self.beat, (worker,), priority=10
        )

    def stop(self, worker):
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None
        if self.client is not None:
            try:
                heartbeat_forget(self.client, hostname=worker.hostname)
            except redis.RedisError as error:
                logger.warning("Could not remove the worker's heartbeat: %s", error)

    def beat(self, worker):
        try:
            heartbeat_record(self.client, hostname=worker.hostname)
        except redis.RedisError as error:
            # The broker is down: the worker's consumer reconnects on its own, and /healthz
            # reports the broker. The next beat tries again.
            logger.warning("Could not record the worker's heartbeat: %s", error)
