"""A marking job survives its worker's death (SPEC §8.3, §8.6): a real worker is SIGKILLed in
the middle of a 100,000-record job, another takes it over, and the file is charged once."""

import io
import os
import signal
import subprocess
import time

import pytest
from django.db import connection, connections
from django_scopes import scope, scopes_disabled

from campaigns.marking.job import MARK_HEADER
from campaigns.marking.services import call_file_upload
from campaigns.marking.tasks import call_file_mark_task
from campaigns.models import CallFile, CallFileStatus
from licences.models import CreditAccount, CreditEntry
from tests.factories import CampaignFactory, CompanyFactory, CreditAccountFactory
from tests.workers import start_worker

RECORDS = 100_000
FIRST = 31610000000
BALANCE = 150_000


def start_marking_worker(queue: str, name: str, media_root) -> subprocess.Popen:
    """A worker of our own on a queue of our own: killing it touches no other test's worker."""
    return start_worker(
        hostname=f"{name}-{os.getpid()}@test",
        queues=queue,
        env={
            "MEDIA_ROOT": str(media_root),
            # An unacknowledged task goes back to the queue 5 s after its worker died, and the
            # worker looks for such tasks every 10 s rather than every 100 s.
            "CELERY_VISIBILITY_TIMEOUT": "5",
            "CELERY_UNACKED_RESTORE_THROTTLE": "1",
        },
    )


def wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def call_file_state(pk: int) -> CallFile:
    with scopes_disabled():
        return CallFile.objects.get(pk=pk)


def blocked_on_a_lock() -> bool:
    # The job waits for the lock the test holds.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


# Where the first worker dies: while matching (the file read, the result not yet written), and
# in the transaction that charges and publishes, where a crash would hurt most. The test holds a
# lock there, so the job is caught at that point whatever the machine's speed.
HELD_LOCKS = {
    "while matching": "LOCK TABLE campaigns_companyoptout IN ACCESS EXCLUSIVE MODE",
    "while charging": "SELECT 1 FROM licences_creditaccount WHERE id = %(account)s FOR UPDATE",
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("killed", list(HELD_LOCKS))
def test_a_job_whose_worker_is_killed_is_finished_by_another_and_charged_once(
    nl, media_root, killed
):
    campaign = CampaignFactory(company=CompanyFactory(register=nl))
    account = CreditAccountFactory(campaign=campaign)
    with scopes_disabled():
        CreditAccount.objects.filter(pk=account.pk).update(balance=BALANCE)
    with connection.cursor() as cursor:
        # Every third number is registered.
        cursor.execute(
            "INSERT INTO register_blockednumber"
            " (number, register_id, categories, registered_on, channel)"
            " SELECT %s + i, %s, -1, DATE '2015-03-02', 'web'"
            " FROM generate_series(0, %s, 3) AS i",
            [FIRST, nl.pk, RECORDS - 1],
        )
    lines = [f"{i};0{FIRST + i - 31_000_000_000}\n" for i in range(RECORDS)]
    content = ("id;phone\n" + "".join(lines)).encode()
    with scope(register=nl):
        # A draft queued by hand on a queue of our own; the service queues on the default one.
        call_file = call_file_upload(
            company=campaign.company,
            campaign=campaign,
            uploaded_by=None,
            upload=io.BytesIO(content),
            filename="calls.csv",
            confirm=False,
        )
    with scopes_disabled():
        CallFile.objects.filter(pk=call_file.pk).update(status=CallFileStatus.QUEUED)
    queue = f"marking-test-{os.getpid()}"

    holder = connections.create_connection("default")
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        cursor.execute(HELD_LOCKS[killed], {"account": account.pk})
    first = start_marking_worker(queue, "first", media_root)
    second = None
    try:
        call_file_mark_task.apply_async((call_file.pk,), queue=queue)
        wait_for(
            lambda: (
                (state := call_file_state(call_file.pk)).status == CallFileStatus.RUNNING
                and state.progress > 0
            ),
            seconds=60,
            what="the job to run",
        )
        wait_for(blocked_on_a_lock, seconds=60, what=f"the job to wait {killed}")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        second = start_marking_worker(queue, "second", media_root)
        # The dead worker's database session still waits for the lock; let it go, so that it
        # finds its client gone and ends, its transaction undone.
        holder.rollback()
        done = wait_for(
            # Done with its certificate, rendered right after the result is published.
            lambda: (
                (
                    (state := call_file_state(call_file.pk)).status
                    in (CallFileStatus.FAILED, CallFileStatus.REJECTED)
                    or state.certificate
                )
                and state
            ),
            # Redis hands a dead worker's task out again at its sweep after the visibility
            # timeout: kombu sweeps every 10 s but scans only every 10th sweep.
            seconds=240,
            what="the job to finish in the second worker",
        )
    finally:
        holder.close()
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=20)

    assert done.status == CallFileStatus.DONE, done.error_message
    with scopes_disabled():
        entries = list(CreditEntry.objects.filter(reference=f"call-file:{call_file.pk}"))
        balance = CreditAccount.objects.get(pk=account.pk).balance
    assert [entry.delta for entry in entries] == [-RECORDS]
    assert balance == BALANCE - RECORDS
    blocked = len(range(0, RECORDS, 3))
    assert (done.rows_total, done.rows_blocked, done.rows_callable, done.credits_charged) == (
        RECORDS,
        blocked,
        RECORDS - blocked,
        RECORDS,
    )
    with done.result.open("rb") as result:
        marked = result.read().decode().split("\n")
    assert marked.pop() == ""
    assert marked[0] == "id;phone;" + ";".join(MARK_HEADER)
    assert len(marked) == RECORDS + 1
    for i, line in enumerate(marked[1:]):
        number = FIRST + i
        expected = (
            f"BLOCKED;REGISTERED;+{number};2015-03-02" if i % 3 == 0 else f"CALLABLE;;+{number};"
        )
        assert line == f"{lines[i].rstrip()};{expected}", f"line {i + 2}"
    assert done.certificate
