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
# Often enough that a broker restarted empty sees the worker again within seconds; one pipelined
# round trip each.
HEARTBEAT_SECONDS = 5
# After a failed write (the broker slow to answer) the next try comes this soon, not a whole
# HEARTBEAT_SECONDS later, while /healthz would report no worker.
HEARTBEAT_RETRY_SECONDS = 1
# A broker hiccup or a slow start does not make a worker count as gone.
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
    """A step of the worker's consumer, so it starts each time the consumer connects to the
    broker and stops each time the connection is lost: Celery cancels the timer entries made for
    a lost connection, and a step of the worker itself, started once, could stop beating after a
    reconnect. At a clean shutdown the name is removed, so a stopped worker is not counted for
    another minute."""

    requires = {"celery.worker.consumer.connection:Connection"}

    def __init__(self, consumer, **kwargs):
        super().__init__(consumer, **kwargs)
        self.repeating = self.retrying = None
        self.client = None

    def start(self, consumer):
        if self.client is None:
            self.client = broker_redis(consumer.app.conf.broker_url, timeout=2)
        self.beat(consumer)
        self.repeating = consumer.timer.call_repeatedly(
            HEARTBEAT_SECONDS, self.beat, (consumer,), priority=10
        )

    def stop(self, consumer):
        for entry in (self.repeating, self.retrying):
            if entry is not None:
                entry.cancel()
        self.repeating = self.retrying = None

    def shutdown(self, consumer):
        self.stop(consumer)
        if self.client is not None:
            try:
                heartbeat_forget(self.client, hostname=consumer.hostname)
            except redis.RedisError as error:
                logger.warning("Could not remove the worker's heartbeat: %s", error)

    def beat(self, consumer):
        try:
            heartbeat_record(self.client, hostname=consumer.hostname)
        except redis.RedisError as error:
            # The broker is down: the consumer reconnects on its own (and this step starts
            # again), and /healthz reports the broker. Until then, a try every second.
            logger.warning("Could not record the worker's heartbeat: %s", error)
            if self.retrying is None:
                self.retrying = consumer.timer.call_after(
                    HEARTBEAT_RETRY_SECONDS, self.retry, (consumer,), priority=10
                )

    def retry(self, consumer):
        self.retrying = None
        self.beat(consumer)
