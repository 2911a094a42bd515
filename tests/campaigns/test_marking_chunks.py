"""The scrub's match as a read replica runs it (campaigns/marking/job.py): with no table on the
standby to load the records into, they go to it a chunk a statement, as arrays. Run here on the
test database, the same statements give every rule of section 8 row by row, as the primary's
one query does (tests/test_replica.py runs them on a real standby)."""

import io

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from campaigns.marking import job
from campaigns.marking.selectors import call_file_settings, stored_path
from campaigns.models import CallFile
from tests.campaigns import test_marking
from tests.campaigns.test_marking import CASES, MARK_HEADER, upload

pytestmark = pytest.mark.django_db

# The section-8 test's campaign and register, made the same way.
nl_campaign = test_marking.nl_campaign
nl_numbers = test_marking.nl_numbers


def match_a_chunk_at_a_time(campaign, **upload_options):
    """CASES uploaded and matched as a replica's run does: (loaded, counts, marked lines)."""
    lines = ["name;phone;opt-in date\r\n"]
    lines += [f"{case};{phone};{opt_in}\r\n" for case, phone, opt_in, *_expected in CASES]
    call_file = upload(campaign, "".join(lines).encode("cp1252"), **upload_options)
    path, file_settings = stored_path(call_file.file.name), call_file_settings(call_file)
    spool, sink = io.StringIO(), io.BytesIO()
    with scopes_disabled():
        call_file = CallFile.objects.get(pk=call_file.pk)
        loaded = job._load(spool.write, path, file_settings, call_file, lambda *_: None)
        spool.seek(0)
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            counts = job._write_marked(
                cursor, call_file, path, file_settings, sink, loaded, lambda *_: None, spool
            )
    return loaded, counts, sink.getvalue().decode("cp1252").split("\r\n")


@pytest.mark.usefixtures("nl_numbers")
def test_the_match_a_chunk_at_a_time_marks_each_row_by_the_rules_of_section_8(
    nl_campaign, monkeypatch
):
    # 18 records in statements of 5: the last one short.
    monkeypatch.setattr(job, "CHUNK", 5)
    sent = []
    chunk_queries = job._chunk_queries
    monkeypatch.setattr(
        job,
        "_chunk_queries",
        lambda *arguments: (sent.append(query) or query for query in chunk_queries(*arguments)),
    )

    records, counts, marked = match_a_chunk_at_a_time(nl_campaign)

    assert len(sent) == 4
    assert "call_file_rows" not in "".join(sent)
    assert marked[0] == "name;phone;opt-in date;" + ";".join(MARK_HEADER)
    expected = [";".join([case, phone, opt_in, *marks]) for case, phone, opt_in, *marks in CASES]
    assert [line for line in marked[1:] if line] == expected
    assert records.records == len(CASES)
    assert counts == {
        status: sum(case[3] == status for case in CASES)
        for status in ("BLOCKED", "CALLABLE", "INVALID", "OUT_OF_SCOPE")
    }


@pytest.mark.usefixtures("nl_numbers")
def test_the_match_a_chunk_at_a_time_leaves_out_the_later_repeats(nl_campaign, monkeypatch):
    monkeypatch.setattr(job, "CHUNK", 5)

    loaded, _counts, marked = match_a_chunk_at_a_time(nl_campaign, leave_out_duplicates=True)

    # Both "duplicate" rows repeat the first row's number.
    repeats = [index for index, case in enumerate(CASES) if case[0].startswith("duplicate")]
    expected = [
        ";".join([case, phone, opt_in, *marks])
        for index, (case, phone, opt_in, *marks) in enumerate(CASES)
        if index not in repeats
    ]
    assert [line for line in marked[1:] if line] == expected
    assert (loaded.records, loaded.left_out.tolist()) == (len(CASES) - 2, repeats)
