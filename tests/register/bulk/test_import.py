"""Register import and export (SPEC §5 admin import, §16 commands)."""

import hashlib
import io
import random
import re
import threading
import time
from bisect import bisect_right
from datetime import date

import numpy as np
import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation
from django_scopes import scopes_disabled

from register.bulk import ImportFileError, SkipReason, register_export, register_import
from register.bulk.lines import Rows, category_lists
from register.bulk.load import number_order
from register.desk import blocked_numbers_unblock_by_staff
from register.models import ALL_CATEGORIES, BlockedNumber, RegisterEvent, RegisterImport
from register.phone import CONSUMER, PER_NUMBER, Normaliser, e164_ranges
from register.services import block_request_confirm
from tests.register.test_consumer import make_request

pytestmark = pytest.mark.django_db

TODAY = date(2024, 5, 1)

# One row per outcome of an import line in the Dutch register (categories: commercial, ideal,
# charity = bits 1, 2, 4): the line, then (number, registered_on, categories) or a skip reason.
LINES = [
    ("31612345678", (31612345678, TODAY, ALL_CATEGORIES)),
    ("31612345678;2019-03-04", (31612345678, date(2019, 3, 4), ALL_CATEGORIES)),
    ("31612345678;2019-03-04;commercial,charity", (31612345678, date(2019, 3, 4), 0b101)),
    ("31612345678;;ideal", (31612345678, TODAY, 0b010)),
    ("31612345678;;commercial,ideal,charity", (31612345678, TODAY, ALL_CATEGORIES)),
    ("31612345678;; charity , commercial ", (31612345678, TODAY, 0b101)),
    ("06-12345678;2019-03-04;", (31612345678, date(2019, 3, 4), ALL_CATEGORIES)),
    ("+31 20 123 4567", (31201234567, TODAY, ALL_CATEGORIES)),
    ("31612345678\r", (31612345678, TODAY, ALL_CATEGORIES)),
    ("0612", SkipReason.INVALID),
    ("number;registered_on;categories", SkipReason.INVALID),
    ("32471234567", SkipReason.FOREIGN),
    ("+32 471 23 45 67", SkipReason.FOREIGN),
    ("0800-1234567", SkipReason.SERVICE),
    ("31900123456", SkipReason.SERVICE),
    ("31612345678;2019-02-30", SkipReason.BAD_DATE),
    ("31612345678;04-03-2019", SkipReason.BAD_DATE),
    ("31612345678;2024-05-02", SkipReason.BAD_DATE),
    ("31612345678;;politics", SkipReason.UNKNOWN_CATEGORY),
    ("31612345678;2019-03-04;commercial;x", SkipReason.TOO_MANY_FIELDS),
]


@pytest.fixture
def english():
    """The commands' output in English, the source language (the project's default is Dutch)."""
    with translation.override("en"):
        yield


def _import(register, text: str, **kwargs):
    with scopes_disabled():
        return register_import(register=register, source=io.StringIO(text), today=TODAY, **kwargs)


def _stored(register):
    with scopes_disabled():
        return sorted(
            BlockedNumber.objects.filter(register=register).values_list(
                "number", "registered_on", "categories"
            )
        )


@pytest.mark.parametrize(("line", "outcome"), LINES)
def test_an_import_line_loads_or_is_skipped_with_its_reason(nl, line, outcome):
    report = _import(nl, f"{line}\n")

    if isinstance(outcome, SkipReason):
        assert (report.loaded, dict(report.skipped), _stored(nl)) == (0, {outcome: 1}, [])
        assert [(s.line, s.reason) for s in report.first_skipped] == [(1, outcome)]
    else:
        assert (report.loaded, report.skipped_total, _stored(nl)) == (1, 0, [outcome])


def test_a_number_repeated_in_the_file_is_loaded_from_its_first_line(nl):
    report = _import(nl, "31612345678;2019-01-01\n\n31612345678;2020-01-01\n0612345678\n")

    assert report.loaded == 1
    assert [(s.line, s.reason) for s in report.first_skipped] == [
        (3, SkipReason.DUPLICATE),
        (4, SkipReason.DUPLICATE),
    ]
    assert _stored(nl) == [(31612345678, date(2019, 1, 1), ALL_CATEGORIES)]


def test_a_number_already_registered_is_skipped_and_kept_as_it_was(nl):
    _import(nl, "31612345678;2019-01-01;charity\n")

    report = _import(nl, "31612345679\n31612345678;2020-01-01\n31612345678\n")

    assert report.loaded == 1
    assert [(s.line, s.reason) for s in report.first_skipped] == [
        (2, SkipReason.REGISTERED),
        (3, SkipReason.REGISTERED),
    ]
    assert _stored(nl)[0] == (31612345678, date(2019, 1, 1), 0b100)


def _register_table() -> tuple:
    """The register table's oid and its shape: columns, constraints, indexes, options."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.oid, c.reloptions,
                (SELECT array_agg(
                    (a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                     pg_get_expr(d.adbin, d.adrelid))::text ORDER BY a.attnum)
                 FROM pg_attribute AS a
                 LEFT JOIN pg_attrdef AS d ON (d.adrelid, d.adnum) = (a.attrelid, a.attnum)
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                (SELECT array_agg((conname, pg_get_constraintdef(oid))::text ORDER BY conname)
                 FROM pg_constraint WHERE conrelid = c.oid),
                (SELECT array_agg(pg_get_indexdef(indexrelid)::text ORDER BY indexrelid)
                 FROM pg_index WHERE indrelid = c.oid)
            FROM pg_class AS c WHERE c.oid = 'register_blockednumber'::regclass
            """
        )
        oid, *shape = cursor.fetchone()
    return oid, shape


# A register is loaded in place when it holds many numbers next to the lines to load, else
# into a table of its own that takes its place: the same outcome either way.
@pytest.mark.parametrize(("rebuild_ratio", "rebuilt"), [(10**9, False), (1, True)])
def test_an_import_into_a_live_register_keeps_every_number_it_held(
    nl, be, monkeypatch, rebuild_ratio, rebuilt
):
    _import(nl, "31612340001;2019-01-01;charity\n31612340002\n", file_name="before.txt")
    with scopes_disabled():
        BlockedNumber.objects.create(
            register=nl,
            number=31612340005,
            categories=0b001,
            registered_on=date(2023, 2, 3),
            channel="web",
            email="consumer@example.org",
        )
        BlockedNumber.objects.create(
            register=be, number=32471234567, registered_on=date(2022, 1, 2), channel="phone"
        )
        before = list(BlockedNumber.objects.order_by("number").values())
    oid, shape = _register_table()
    monkeypatch.setattr("register.bulk.load.REBUILD_RATIO", rebuild_ratio)
    numbers = [31612340009, 31612340005, 31612340001, 31612340003, 31612340009, 31612340004]
    text = "".join(f"{number};2020-05-{n + 1:02d}\n" for n, number in enumerate(numbers))

    report = _import(nl, text, file_name="live.txt")

    assert (report.loaded, report.skipped) == (
        3,
        {SkipReason.REGISTERED: 2, SkipReason.DUPLICATE: 1},
    )
    assert [(s.line, s.reason) for s in report.first_skipped] == [
        (2, SkipReason.REGISTERED),
        (3, SkipReason.REGISTERED),
        (5, SkipReason.DUPLICATE),
    ]
    with scopes_disabled():
        record = RegisterImport.objects.get(file_name="live.txt")
        after = {row["number"]: row for row in BlockedNumber.objects.values()}
        events = RegisterEvent.objects.count()
    assert (record.loaded, record.skipped) == (3, 3)
    assert [after.pop(row["number"]) for row in before] == before
    assert sorted(
        (number, row["registered_on"], row["channel"], row["imported_in_id"])
        for number, row in after.items()
    ) == [
        (31612340003, date(2020, 5, 4), "import", record.pk),
        (31612340004, date(2020, 5, 6), "import", record.pk),
        (31612340009, date(2020, 5, 1), "import", record.pk),
    ]
    assert events == 0
    new_oid, new_shape = _register_table()
    assert (new_oid != oid, new_shape) == (rebuilt, shape)


def test_the_belgian_register_has_no_categories_to_name(be):
    report = _import(be, "32471234567;2019-03-04\n32471234568;;commercial\n")

    assert report.loaded == 1
    assert report.skipped == {SkipReason.UNKNOWN_CATEGORY: 1}
    assert _stored(be) == [(32471234567, date(2019, 3, 4), ALL_CATEGORIES)]


def test_an_import_is_recorded_once_and_holds_the_block_event_of_each_number_it_loaded(nl):
    text = "31612345678;2019-03-04;commercial\n31201234567\n31612345678\n"

    _import(nl, text, imported_by="operator", file_name="nl.txt")

    with scopes_disabled():
        record = RegisterImport.objects.get(register=nl)
        imported = sorted(
            BlockedNumber.objects.filter(register=nl).values_list("number", "imported_in")
        )
        events = RegisterEvent.objects.filter(register=nl).count()
    assert (record.imported_by, record.file_name, record.loaded, record.skipped) == (
        "operator",
        "nl.txt",
        2,
        1,
    )
    assert record.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert imported == [(31201234567, record.pk), (31612345678, record.pk)]
    assert events == 0


def test_the_file_is_read_as_utf8_with_or_without_bom(nl):
    with scopes_disabled():
        report = register_import(
            register=nl, source=io.BytesIO("\ufeff31612345678\n€\n".encode()), today=TODAY
        )

    assert report.loaded == 1
    assert [(s.line, s.reason, s.text) for s in report.first_skipped] == [
        (2, SkipReason.INVALID, "€")
    ]
    with scopes_disabled():
        record = RegisterImport.objects.get()
    assert record.sha256 == hashlib.sha256("\ufeff31612345678\n€\n".encode()).hexdigest()


def test_an_undecodable_file_is_refused_whole(nl):
    with pytest.raises(ImportFileError, match="byte 12"), scopes_disabled():
        register_import(register=nl, source=io.BytesIO(b"31612345678\n\xff\n"), today=TODAY)

    assert _stored(nl) == []


def test_an_import_that_fails_leaves_nothing_behind(nl):
    # The import's record is completed after the numbers went in: if that fails they must go.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION bulk_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'import record failed'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER bulk_test_fail BEFORE UPDATE ON register_registerimport"
            " FOR EACH ROW EXECUTE FUNCTION bulk_test_fail()"
        )

    with pytest.raises(Exception, match="import record failed"):
        _import(nl, "31612345678\n31612345679\n")

    assert _stored(nl) == []
    with scopes_disabled():
        assert not RegisterImport.objects.exists()


def test_skipped_lines_beyond_the_first_ones_are_counted_and_all_go_to_the_report(nl):
    report_file = io.StringIO()
    text = "".join(f"31612345{n:03d}\n" if n % 2 else "x\n" for n in range(60))

    report = _import(nl, text + "31612345001\n", report=report_file)

    assert report.loaded == 30
    assert report.skipped == {SkipReason.INVALID: 30, SkipReason.DUPLICATE: 1}
    assert [s.line for s in report.first_skipped] == list(range(1, 40, 2))
    lines = report_file.getvalue().splitlines()
    assert lines[:2] == ["1;invalid", "3;invalid"]
    assert lines[-1] == "61;duplicate"
    assert len(lines) == 31


def test_export_writes_codes_in_number_order_and_imports_back_the_same(nl):
    _import(
        nl,
        "31612345679;2019-03-04;commercial,charity\n"
        "31201234567;2010-01-02\n"
        "31612345678;2011-02-03;ideal\n",
    )
    before = _stored(nl)
    sink = io.BytesIO()

    with scopes_disabled():
        rows = register_export(register=nl, sink=sink)

    assert rows == 3
    assert sink.getvalue().decode().splitlines() == [
        "31201234567;2010-01-02;commercial,ideal,charity",
        "31612345678;2011-02-03;ideal",
        "31612345679;2019-03-04;commercial,charity",
    ]
    with scopes_disabled():
        BlockedNumber.objects.all().delete()
    report = _import(nl, sink.getvalue().decode())
    assert (report.loaded, _stored(nl)) == (3, before)


def test_lines_in_the_registers_own_shape_and_other_lines_keep_their_line_numbers(nl):
    text = (
        "number;registered_on;categories\r\n"
        "31612345671;2019-03-04;commercial\r\n"
        "31612345672;2019-02-30;\r\n"
        "06-12345673;;ideal\n"
        "31612345674;;politics\n"
        "31612345675\n"
        "31612345676;2019-03-04\n"
        "31900123456\n"
        "+31 6 12345671\n"
        "31612345677;;charity\\\n"
        "\n"
        "31612345678;;ideal,charity"
    )

    report = _import(nl, text)

    assert [(s.line, s.reason) for s in report.first_skipped] == [
        (1, SkipReason.INVALID),
        (3, SkipReason.BAD_DATE),
        (5, SkipReason.UNKNOWN_CATEGORY),
        (8, SkipReason.SERVICE),
        (9, SkipReason.DUPLICATE),
        (10, SkipReason.UNKNOWN_CATEGORY),
    ]
    assert _stored(nl) == [
        (31612345671, date(2019, 3, 4), 0b001),
        (31612345673, TODAY, 0b010),
        (31612345675, TODAY, ALL_CATEGORIES),
        (31612345676, date(2019, 3, 4), ALL_CATEGORIES),
        (31612345678, TODAY, 0b110),
    ]


def test_lines_split_across_blocks_are_read_whole(nl, monkeypatch):
    lines = [f"3161234{n:04d};2019-03-04;commercial" for n in range(300)]
    lines[150] = "06 1234 0150"
    monkeypatch.setattr("register.bulk.lines.BLOCK_BYTES", 100)

    report = _import(nl, "\n".join(lines) + "\n31612340299\n31612340007\n")

    assert report.loaded == 300
    # Repeats of numbers from many blocks before, reported by their own lines.
    assert [(s.line, s.reason, s.text) for s in report.first_skipped] == [
        (301, SkipReason.DUPLICATE, "31612340299"),
        (302, SkipReason.DUPLICATE, "31612340007"),
    ]
    assert _stored(nl)[150] == (31612340150, TODAY, ALL_CATEGORIES)


def test_repeats_across_canonical_and_other_lines_keep_the_first_line_whatever_its_shape(nl):
    _import(nl, "31201234567\n")
    text = (
        "06 12345678;2019-03-04\n"  # read by the normaliser, first of its number
        "31612345678;2020-01-01;ideal\n"
        "31201234567;;charity\n"  # registered before
        "+31 20 123 4567\n"
        "31612345679;;ideal\n"
        "06-12345679\n"
        "31900123456\n"  # refused by its range, between lines the normaliser refused
        "x\n"
        "318003819\n"  # the normaliser's reading, by its range: a repeat of the next line's
        "31318003819\n"
    )

    report = _import(nl, text)

    assert [(s.line, s.reason, s.text) for s in report.first_skipped] == [
        (2, SkipReason.DUPLICATE, "31612345678"),
        (3, SkipReason.REGISTERED, "31201234567"),
        (4, SkipReason.REGISTERED, "31201234567"),
        (6, SkipReason.DUPLICATE, "31612345679"),
        (7, SkipReason.SERVICE, "31900123456"),
        (8, SkipReason.INVALID, "x"),
        (10, SkipReason.DUPLICATE, "31318003819"),
    ]
    assert _stored(nl) == [
        (31201234567, TODAY, ALL_CATEGORIES),
        (31318003819, TODAY, ALL_CATEGORIES),
        (31612345678, date(2019, 3, 4), ALL_CATEGORIES),
        (31612345679, TODAY, 0b010),
    ]


# Parts of one row or two put a number's repeats in the next part: judged all the same.
@pytest.mark.parametrize("load_rows", [1, 2, 4])
def test_the_load_is_written_in_parts_leaving_out_repeats_and_registered_numbers(
    nl, monkeypatch, load_rows
):
    _import(nl, "31612340003\n31612340006\n")
    monkeypatch.setattr("register.bulk.load.LOAD_ROWS", load_rows)
    numbers = [31612340000 + n for n in (9, 3, 1, 9, 2, 6, 5, 4, 1, 8, 7)]
    text = "".join(f"{number};2019-03-{n + 1:02d}\n" for n, number in enumerate(numbers))

    report = _import(nl, text)

    assert report.loaded == 7
    assert [(s.line, s.reason) for s in report.first_skipped] == [
        (2, SkipReason.REGISTERED),
        (4, SkipReason.DUPLICATE),
        (6, SkipReason.REGISTERED),
        (9, SkipReason.DUPLICATE),
    ]
    assert _stored(nl) == [
        (31612340001, date(2019, 3, 3), ALL_CATEGORIES),
        (31612340002, date(2019, 3, 5), ALL_CATEGORIES),
        (31612340003, TODAY, ALL_CATEGORIES),
        (31612340004, date(2019, 3, 8), ALL_CATEGORIES),
        (31612340005, date(2019, 3, 7), ALL_CATEGORIES),
        (31612340006, TODAY, ALL_CATEGORIES),
        (31612340007, date(2019, 3, 11), ALL_CATEGORIES),
        (31612340008, date(2019, 3, 10), ALL_CATEGORIES),
        (31612340009, date(2019, 3, 1), ALL_CATEGORIES),
    ]


def test_category_fields_of_the_same_length_are_told_apart(nl):
    # The canonical lines' categories are told apart by their length and, where lengths are
    # alike, by bytes at offsets that differ.
    nl.categories = ["ab", "ba", "cd"]
    text = "".join(
        f"3161234567{n};2019-03-04;{codes}\n"
        for n, codes in enumerate(["ab", "ba", "cd", "ab,ba", "ab,cd", "ba,cd", "ab,ba,cd", ""])
    )

    report = _import(nl, text)

    assert (report.loaded, report.skipped_total) == (8, 0)
    assert [mask for _number, _day, mask in _stored(nl)] == [
        0b001,
        0b010,
        0b100,
        0b011,
        0b101,
        0b110,
        ALL_CATEGORIES,
        ALL_CATEGORIES,
    ]


@pytest.mark.parametrize(
    "numbers",
    [
        [31612345678, 31201234567, 31612345678, 31101234567, 31201234567],
        # Too far apart to pack with their positions: sorted by their positions instead.
        [999999999999999, 311, 999999999999999, *range(31100, 31100 + 2**14)],
    ],
)
def test_numbers_are_ordered_with_repeats_in_their_order(numbers):
    array = np.array(numbers, dtype=np.int64)
    # In blocks of the lengths reading gives, some of them empty.
    cuts = sorted(random.Random(len(numbers)).choices(range(len(numbers) + 1), k=5))
    blocks = np.split(array, cuts)

    ordered, order = number_order(blocks).part(0, len(array))

    expected = np.argsort(array, kind="stable")
    assert ordered.tolist() == array[expected].tolist()
    assert order.tolist() == expected.tolist()


def test_digits_that_read_as_a_national_number_get_the_normalisers_reading(nl):
    # 318003819 is not the toll-free 31 800 3819 but 0318 003819, a fixed line in Veenendaal.
    report = _import(nl, "318003819;2019-03-04\n31318003819\n")

    assert [(s.line, s.reason) for s in report.first_skipped] == [(2, SkipReason.DUPLICATE)]
    assert _stored(nl) == [(31318003819, date(2019, 3, 4), ALL_CATEGORIES)]


@pytest.mark.parametrize("region", ["NL", "BE"])
def test_canonical_numbers_get_the_normalisers_verdict_from_their_range(region):
    normaliser = Normaliser(region)
    starts, verdicts = e164_ranges(region)
    code = {"NL": "31", "BE": "32"}[region]
    rng = random.Random(4)
    numbers = [
        f"{code}{rng.choice(['6', '66', '97', '85', '91', '80', '90', '14', '8', '2', '1', '4'])}"
        f"{rng.randrange(10**11):011d}"[: rng.choice([9, 10, 11, 12, 13])]
        for _ in range(20_000)
    ]
    judged = 0

    for number in numbers:
        verdict = verdicts[bisect_right(starts, int(number)) - 1]
        if verdict == PER_NUMBER:
            continue
        judged += 1
        reading = normaliser(number)
        assert reading.number == int(number), number
        assert verdict == (reading.problem or CONSUMER), number
    # Enough of them are consumer and service numbers judged by their range.
    assert judged > 2_000


def test_import_command_prints_the_counts_and_the_first_skipped_lines(nl, tmp_path, english):
    path = tmp_path / "register.txt"
    path.write_text("31612345678;2019-03-04;commercial\nfoo\n31612345678\n")
    report = tmp_path / "skipped.txt"
    out = io.StringIO()

    call_command("import_register", "--register", "nl", str(path), "--report", report, stdout=out)

    assert out.getvalue().splitlines() == [
        "Loaded: 1",
        "Skipped: 2",
        "  not a valid phone number: 1",
        "  the number is repeated from an earlier line: 1",
        "First skipped lines:",
        "  line 2: not a valid phone number: foo",
        "  line 3: the number is repeated from an earlier line: 31612345678",
    ]
    assert report.read_text() == "2;invalid\n3;duplicate\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--register", "xx", "file.txt"], "There is no register 'xx'"),
        (["--register", "nl", "/nonexistent/file.txt"], "No such file"),
    ],
)
def test_import_command_refuses_a_bad_register_or_file(nl, arguments, message, english):
    with pytest.raises(CommandError, match=message):
        call_command("import_register", *arguments)


def test_import_command_reports_an_undecodable_file_without_a_traceback(nl, tmp_path, english):
    path = tmp_path / "latin1.txt"
    path.write_bytes("31612345678;;caf\xe9\n".encode("latin-1"))

    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("import_register", "--register", "nl", str(path))


def test_export_command_writes_to_stdout_or_a_file(nl, tmp_path, english):
    _import(nl, "31612345678;2019-03-04\n")
    out = io.StringIO()
    err = io.StringIO()

    call_command("export_register", "--register", "nl", stdout=out)
    call_command("export_register", "--register", "nl", str(tmp_path / "nl.txt"), stderr=err)

    line = "31612345678;2019-03-04;commercial,ideal,charity\n"
    assert out.getvalue() == line
    assert (tmp_path / "nl.txt").read_text() == line
    assert err.getvalue() == "Exported: 1\n"


def _canonical_by_definition(line: str, today: date, lists: list[str]) -> bool:
    """Whether a line is in the Dutch register's canonical shape, read field by field."""
    fields = line.removesuffix("\r").split(";")
    number, day, codes = [*fields, "", ""][:3]
    if len(fields) > 3 or not re.fullmatch(r"31[1-9][0-9]{0,12}", number, re.ASCII):
        return False
    if day:
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day, re.ASCII):
                return False
            if date.fromisoformat(day) > today:
                return False
        except ValueError:
            return False
    return not codes or codes in lists


@pytest.mark.parametrize(
    "today", [date(2024, 5, 1), date(2024, 2, 29), date(2024, 2, 28), date(2025, 1, 9)]
)
def test_the_canonical_shape_is_checked_for_every_byte_of_a_line(nl, today, tmp_path):
    """The vectorised check takes exactly the lines in canonical shape, and reads them as the
    one-by-one reading does."""
    rng = random.Random(today.toordinal())
    lists, _masks = category_lists(nl)

    def day() -> str:
        year = rng.choice([rng.randrange(10_000), today.year - 1, today.year, today.year + 1])
        month, day_of_month = rng.choice([(rng.randrange(14), rng.randrange(33)), (2, 29)])
        return f"{year:04d}-{month:02d}-{day_of_month:02d}"

    pieces = {
        "number": [
            lambda: f"316{rng.randrange(10**8):08d}",
            lambda: f"31{rng.randrange(10**13)}",
            lambda: rng.choice(["31", "310612345678", "32471234567", "+31612345678"]),
            lambda: rng.choice([" 31612345678", "31612345678 ", "3161234567\u0668", "", "x"]),
        ],
        "day": [
            day,
            lambda: "",
            lambda: rng.choice(["0000-02-29", "1900-02-29", "2000-02-29", "2023-02-29"]),
            lambda: rng.choice(["2019-3-04", "2019/03/04", " 2019-03-04", "2019-03-04 "]),
            lambda: rng.choice([today.isoformat(), "20190304xx", "\u0662019-03-04"]),
        ],
        "codes": [
            lambda: rng.choice(lists),
            lambda: "",
            lambda: rng.choice(["charity,commercial", "ideal,ideal", "politics", "commercial,"]),
            lambda: rng.choice(["Commercial", " charity", "commercial,ideal,charity,x", "idea"]),
        ],
    }
    lines = []
    for _ in range(20_000):
        fields = [rng.choice(pieces[name])() for name in ("number", "day", "codes")]
        line = ";".join(fields[: rng.choice([1, 2, 3, 3, 3])] + ["x"] * (rng.random() < 0.02))
        lines.append(line + "\r" * (rng.random() < 0.1))
    # All in one block, then in blocks whose numbers are all as long, whose lines all have a
    # date of ten characters or none do, and as many fields, as in most blocks of a register's
    # file.
    blocks = {"all": lines}
    for line in lines:
        number, *rest = line.removesuffix("\r").split(";")
        key = (len(number), len(rest[0]) == 10 if rest else False, len(rest))
        blocks.setdefault(key, []).append(line)
    expected = {}
    with tmp_path.joinpath("spool").open("w+") as spool:
        rows = Rows(nl, today, spool)
        for key, block in blocks.items():
            data = np.frombuffer(("\n".join(block) + "\n").encode(), dtype=np.uint8)
            ends = np.flatnonzero(data == ord("\n"))
            starts = np.concatenate([[0], ends[:-1] + 1])
            canonical, numbers, days, masks = rows.canonical(data, starts, ends)
            expected[key] = [_canonical_by_definition(line, today, lists) for line in block]

            assert canonical.tolist() == expected[key]
            good = [line for line, shaped in zip(block, expected[key], strict=True) if shaped]
            # Of them, those with a number the normaliser takes (the others: judged by range).
            taken, *read = rows.lines.rows(good, range(len(good)), [])
            values = [array[canonical][taken].tolist() for array in (numbers, days, masks)]
            assert values == read
    # Each kind of line is there.
    assert 2_000 < sum(expected["all"]) < 18_000
    assert sum(expected[11, True, 1]) > 100
    assert sum(expected[11, True, 2]) > 100


def test_a_leap_day_and_today_load_from_canonical_lines(nl):
    report = _import(nl, "31612345671;2024-02-29\n31612345672;2024-05-01\n")

    assert (report.loaded, report.skipped_total) == (2, 0)
    assert [day for _number, day, _mask in _stored(nl)] == [date(2024, 2, 29), TODAY]


def _history(register, number):
    with scopes_disabled():
        return list(
            RegisterEvent.objects.filter(register=register, number=number)
            .order_by("id")
            .values_list("action", "categories", "channel", "occurred_at")
        )


def test_an_imported_number_gets_its_block_event_written_before_a_staff_unblock(nl):
    _import(nl, "31612345678;2019-03-04;charity\n31612345679\n")
    with scopes_disabled():
        record = RegisterImport.objects.get()

        blocked_numbers_unblock_by_staff(register=nl, numbers=[31612345678])

    block, unblock = _history(nl, 31612345678)
    assert block == ("block", 0b100, "import", record.occurred_at)
    assert unblock[:3] == ("unblock", None, "admin")
    # The other number's block event stays with the import, written nowhere twice.
    assert _history(nl, 31612345679) == []
    assert _stored(nl) == [(31612345679, TODAY, ALL_CATEGORIES)]


def test_an_imported_number_gets_its_block_event_written_before_a_consumer_adds_categories(nl):
    _import(nl, "31612345678;2019-03-04;charity\n")
    token = make_request(nl, numbers=[31612345678], categories=["commercial"])

    with scopes_disabled():
        block_request_confirm(register=nl, token=token)
        blocked = BlockedNumber.objects.get(number=31612345678)

    assert [event[:3] for event in _history(nl, 31612345678)] == [
        ("block", 0b100, "import"),
        ("change", 0b101, "web"),
    ]
    assert (blocked.categories, blocked.imported_in) == (0b101, None)


def test_reblocking_an_imported_number_with_its_categories_leaves_its_event_with_the_import(nl):
    _import(nl, "31612345678\n")
    token = make_request(nl, numbers=[31612345678], categories=["charity"])

    with scopes_disabled():
        block_request_confirm(register=nl, token=token)
        blocked = BlockedNumber.objects.get(number=31612345678)

    assert _history(nl, 31612345678) == []
    assert blocked.imported_in is not None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_import_waiting_for_a_long_reader_holds_up_no_other_reader(nl, monkeypatch):
    """The import that takes the register's place must lock it whole. Behind a long reader (a
    scrub), a lock request waiting in the queue would hold up every check arriving after it;
    the import's tries give up at once instead, and it takes its place once the reader ends."""
    monkeypatch.setattr("register.bulk.load.REBUILD_RATIO", 1)
    monkeypatch.setattr("register.bulk.load.LOCK_PAUSE_SECONDS", 0.05)
    database = connection.settings_dict["NAME"]
    params = {"dbname": database, "host": "127.0.0.1", "autocommit": True}
    with psycopg.connect(**params) as scrub, psycopg.connect(**params) as check:
        scrub.autocommit = False
        scrub.execute("SELECT count(*) FROM register_blockednumber").fetchone()
        done: list = []

        def run_import():
            try:
                done.append(_import(nl, "31612340001\n31612340002\n"))
            finally:
                connection.close()

        importing = threading.Thread(target=run_import)
        importing.start()
        try:
            deadline = time.monotonic() + 30
            while not check.execute(
                "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database()"
                " AND query LIKE 'LOCK TABLE register_blockednumber%%')"
            ).fetchone()[0]:
                assert time.monotonic() < deadline and importing.is_alive()
                time.sleep(0.02)
            check.execute("SET statement_timeout = '2s'")
            for _n in range(20):
                check.execute("SELECT count(*) FROM register_blockednumber").fetchone()
                time.sleep(0.05)
            assert importing.is_alive() and not done
        finally:
            scrub.rollback()
            importing.join(timeout=30)
    assert done and done[0].loaded == 2
    assert [number for number, *_rest in _stored(nl)] == [31612340001, 31612340002]
