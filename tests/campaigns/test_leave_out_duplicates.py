"""Leaving the later repeats of a number out of the marking (issue #13 item 1): chosen per call
file, the records whose number came before in the file are not offered, not marked, not
charged, and not in the marked file, which is then byte for byte the marked file of the upload
without them. The first record with each number stays; not chosen, nothing changes."""

import datetime
import io
import re

import pytest
import xlsxwriter
from django_scopes import scopes_disabled
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from campaigns.marking import job
from licences.models import CreditAccount, CreditEntry
from register.models import ALL_CATEGORIES
from tests.campaigns.test_marking import mark, result_bytes, set_balance, upload
from tests.factories import CampaignFactory, CompanyFactory, opt_out, register_numbers

pytestmark = pytest.mark.django_db

# A physical line with its ending, as the intake counts lines (a lone CR ends one too).
LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


@pytest.fixture
def campaign(nl, media_root):
    campaign = CampaignFactory(company=CompanyFactory(register=nl))
    set_balance(campaign, 1_000)
    register_numbers(
        nl,
        {31612345601: ALL_CATEGORIES, 31612345604: ALL_CATEGORIES},
        registered_on=datetime.date(2015, 3, 2),
    )
    opt_out(campaign.company, 31612345603)
    return campaign


def without_lines(content: bytes, lines: set[int]) -> bytes:
    """`content` without its physical lines numbered `lines` (from 1), endings and all."""
    return b"".join(
        line for number, line in enumerate(LINE.findall(content), 1) if number not in lines
    )


# (file, the lines of the later repeats: every line of each such record)
FILES = {
    "CRLF, header, blank and quoted lines, the last a repeat without its line ending": (
        b"naam;telefoon;toestemming\r\n"  # 1
        b"Jansen;0612345601;\r\n"  # 2
        b"\r\n"  # 3 blank
        b'"de Vries; P.";0612345699;\r\n'  # 4
        b"Jansen again;0031612345601;2020-01-01\r\n"  # 5 repeat of 2 (its opt-in is left too)
        b"n.v.t.;12345;\r\n"  # 6 invalid
        b"n.v.t. again;12345;\r\n"  # 7 invalid again: no number, so no repeat
        b"Bakker;0900-1234567;\r\n"  # 8 service
        b"Bakker again;0900 1234567;\r\n"  # 9 service again: out of scope, no repeat
        b" ; ;\r\n"  # 10 blank
        b"de Vries again;+31 6 1234 5699;\r\n"  # 11 repeat of 4
        b"Peters;0612345603;\r\n"  # 12
        b"Jansen third;06-12345601;",  # 13 repeat of 2, the last line, unterminated
        {5, 11, 13},
    ),
    "LF, records over two lines": (
        b"phone;note\n"  # 1
        b'0612345602;"two\nlines"\n'  # 2-3
        b'0612345602;"again\nover two"\n'  # 4-5 repeat of 2
        b"0612345604;x\n"  # 6
        b'+31612345604;"y"\n'  # 7 repeat of 6
        b"0612345605;z\n",  # 8
        {4, 5, 7},
    ),
    "mixed line endings": (
        b"phone\r\n0612345601\n0612345601\r\n0612345604\n\n+31612345604\r\n0612345606",
        {3, 6},
    ),
}


@pytest.mark.parametrize("chunk", [job.CHUNK, 2])
@pytest.mark.parametrize("name", FILES)
def test_the_marked_file_is_the_upload_s_without_the_later_repeats_byte_for_byte(
    campaign, monkeypatch, name, chunk
):
    # Records read a few at a time: repeats within a chunk and across chunks.
    monkeypatch.setattr(job, "CHUNK", chunk)
    content, repeat_lines = FILES[name]

    every = mark(upload(campaign, content))
    left_out = mark(upload(campaign, content, leave_out_duplicates=True))

    assert (every.status, left_out.status) == ("done", "done"), left_out.error_message
    assert result_bytes(left_out) == without_lines(result_bytes(every), repeat_lines)
    repeats = every.rows_total - left_out.rows_total
    assert repeats > 0
    assert (every.leave_out_duplicates, every.rows_left_out) == (False, 0)
    assert (left_out.leave_out_duplicates, left_out.rows_left_out) == (True, repeats)
    assert left_out.credits_charged == left_out.rows_total
    assert left_out.rows_total == (
        left_out.rows_blocked
        + left_out.rows_callable
        + left_out.rows_invalid
        + left_out.rows_out_of_scope
    )


def test_only_the_later_repeats_are_charged_for_nothing(campaign):
    # Six records, two of them later repeats: four offered, four charged.
    content = b"phone\n0612345601\n0612345699\n0031612345601\n12345\n12345\n0612345699\n"

    call_file = mark(upload(campaign, content, leave_out_duplicates=True))

    with scopes_disabled():
        entries = list(CreditEntry.objects.filter(reference=f"call-file:{call_file.pk}"))
        balance = CreditAccount.objects.get(campaign=campaign).balance
    assert [entry.delta for entry in entries] == [-4]
    assert (call_file.rows_total, call_file.rows_left_out, call_file.credits_charged) == (4, 2, 4)
    assert balance == 996
    assert (call_file.rows_blocked, call_file.rows_callable, call_file.rows_invalid) == (1, 1, 2)
    assert result_bytes(call_file) == (
        b"phone;dnc_status;dnc_reason;dnc_number;dnc_registered_on\n"
        b"0612345601;BLOCKED;REGISTERED;+31612345601;2015-03-02\n"
        b"0612345699;CALLABLE;;+31612345699;\n"
        b"12345;INVALID;INVALID_NUMBER;;\n"
        b"12345;INVALID;INVALID_NUMBER;;\n"
    )


def test_the_certificate_counts_what_was_marked_and_names_the_repeats_left_out(campaign):
    call_file = mark(
        upload(campaign, b"phone\n0612345601\n0612345601\n0612345699\n", leave_out_duplicates=True)
    )

    with call_file.certificate.open("rb") as pdf:
        text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages)
    assert (call_file.rows_total, call_file.rows_left_out) == (2, 1)
    assert re.search(r"Total offered\s*2", text), text
    assert re.search(r"left out at the company's request, not compared:\s*1", text), text


def workbook(rows: list[list]) -> bytes:
    content = io.BytesIO()
    book = xlsxwriter.Workbook(content, {"in_memory": True})
    sheet = book.add_worksheet()
    for index, row in enumerate(rows):
        for column, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(index, column, value)
            else:
                sheet.write_number(index, column, value)
    book.close()
    return content.getvalue()


def sheet_rows(call_file) -> list[list]:
    with call_file.result.open("rb") as result:
        return CalamineWorkbook.from_filelike(result).get_sheet_by_index(0).to_python()


def test_a_workbook_comes_back_without_the_later_repeats_and_the_rows_below_moved_up(campaign):
    content = workbook(
        [
            ["naam", "telefoonnummer"],  # 0
            ["Jansen", "06-12345601"],  # 1
            [],  # 2 blank
            ["de Vries", "0612345699"],  # 3
            ["Jansen again", "0031612345601"],  # 4 repeat of 1
            ["de Vries again", 612345699],  # 5 repeat of 3, typed as a number
            ["Smit", "0612345604"],  # 6
        ]
    )

    every = mark(upload(campaign, content, filename="bellijst.xlsx"))
    left_out = mark(upload(campaign, content, filename="bellijst.xlsx", leave_out_duplicates=True))

    assert (every.status, left_out.status) == ("done", "done"), left_out.error_message
    rows = sheet_rows(every)
    assert sheet_rows(left_out) == [row for index, row in enumerate(rows) if index not in {4, 5}]
    assert (every.rows_total, left_out.rows_total, left_out.credits_charged) == (5, 3, 3)


def test_not_chosen_every_repeat_is_marked_and_charged_as_before(campaign):
    content = b"phone\n0612345601\n0031612345601\n"

    call_file = mark(upload(campaign, content))

    assert (call_file.rows_total, call_file.credits_charged, call_file.rows_left_out) == (2, 2, 0)
    assert result_bytes(call_file).count(b"BLOCKED;REGISTERED;+31612345601") == 2
