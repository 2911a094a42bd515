"""Processing a registration file (SPEC §11, seed 000): one row per outcome of a row.

Lateness follows seed 000: registrations reach the register "uiterlijk binnen 10 werkdagen" after
the consumer asked; working days skip weekends and nl public holidays (register.calendar).
"""

import datetime

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from register.models import ALL_CATEGORIES, BlockedNumber, Channel, RegisterEvent
from tests.uploads.conftest import AMSTERDAM, deliver
from uploads.models import FileStatus, RegistrationRow
from uploads.services import registration_file_process

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2026, 3, 2)
# The 10th working day after Monday 2 March 2026: two weekends later, Monday 16 March.
MONDAY_DEADLINE = datetime.date(2026, 3, 16)
# Friday 17 April 2026: the term spans two weekends and King's Day (Monday 27 April), so it ends
# on Monday 4 May; without the holiday it would end on Friday 1 May.
FRIDAY = datetime.date(2026, 4, 17)
FRIDAY_DEADLINE = datetime.date(2026, 5, 4)


def outcome(registration_file) -> dict:
    with scopes_disabled():
        rows = list(
            RegistrationRow.objects.filter(file=registration_file)
            .order_by("line")
            .values_list("line", "reason")
        )
    return {
        "registered": registration_file.registered,
        "already": registration_file.already_registered,
        "invalid": registration_file.invalid,
        "late": registration_file.late,
        "rows": rows,
    }


def counts(registered=0, already=0, invalid=0, late=0, rows=()):
    return {
        "registered": registered,
        "already": already,
        "invalid": invalid,
        "late": late,
        "rows": list(rows),
    }


ON_TIME = MONDAY_DEADLINE

OUTCOMES = [
    ("registered, national", ["0612345678|ALL|2026-03-02"], ON_TIME, counts(registered=1)),
    ("registered, international", ["+31 6 12345678|ALL|2026-03-02"], ON_TIME, counts(1)),
    (
        "registered, some categories",
        ["0612345678|commercial,charity|2026-03-02"],
        ON_TIME,
        counts(1),
    ),
    (
        "codes are read in any case",
        ["0612345678| Commercial , IDEAL |2026-03-02"],
        ON_TIME,
        counts(1),
    ),
    ("all is read in any case", ["0612345678|all|2026-03-02"], ON_TIME, counts(1)),
    (
        "repeated in the file: the first line registers it",
        ["0612345678|ALL|2026-03-02", "06-12345678|commercial|2026-03-02"],
        ON_TIME,
        counts(registered=1, already=1),
    ),
    ("invalid number", ["12345|ALL|2026-03-02"], ON_TIME, counts(invalid=1, rows=[(2, "invalid")])),
    (
        "foreign number",
        ["+32 471 12 34 56|ALL|2026-03-02"],
        ON_TIME,
        counts(invalid=1, rows=[(2, "foreign")]),
    ),
    (
        "service number",
        ["0800 1234567|ALL|2026-03-02"],
        ON_TIME,
        counts(invalid=1, rows=[(2, "service")]),
    ),
    (
        "unknown category",
        ["0612345678|sales|2026-03-02"],
        ON_TIME,
        counts(invalid=1, rows=[(2, "bad_categories")]),
    ),
    (
        "no categories",
        ["0612345678||2026-03-02"],
        ON_TIME,
        counts(invalid=1, rows=[(2, "bad_categories")]),
    ),
    (
        "ALL mixed with codes",
        ["0612345678|ALL,commercial|2026-03-02"],
        ON_TIME,
        counts(invalid=1, rows=[(2, "bad_categories")]),
    ),
    (
        "date not YYYY-MM-DD",
        ["0612345678|ALL|02-03-2026"],
        ON_TIME,
        counts(invalid=1, rows=[(2, "bad_date")]),
    ),
    (
        "no such date",
        ["0612345678|ALL|2026-02-30"],
        ON_TIME,
        counts(invalid=1, rows=[(2, "bad_date")]),
    ),
    (
        "request after the delivery",
        ["0612345678|ALL|2026-03-17"],
        ON_TIME,
        counts(invalid=1, rows=[(2, "bad_date")]),
    ),
    (
        "too few columns",
        ["0612345678|ALL"],
        ON_TIME,
        counts(invalid=1, rows=[(2, "wrong_columns")]),
    ),
    (
        "too many columns",
        ["0612345678|ALL|2026-03-02|extra"],
        ON_TIME,
        counts(invalid=1, rows=[(2, "wrong_columns")]),
    ),
    (
        "semicolons instead of pipes",
        ["0612345678;ALL;2026-03-02"],
        ON_TIME,
        counts(invalid=1, rows=[(2, "wrong_columns")]),
    ),
    (
        "blank lines are not rows; line numbers stay the file's",
        ["", "12345|ALL|2026-03-02", "   ", "0612345678|ALL|2026-03-02"],
        ON_TIME,
        counts(registered=1, invalid=1, rows=[(3, "invalid")]),
    ),
    (
        "exactly 10 working days: on time",
        ["0612345678|ALL|2026-03-02"],
        MONDAY_DEADLINE,
        counts(registered=1),
    ),
    (
        "11 working days: registered, late",
        ["0612345678|ALL|2026-03-02"],
        MONDAY_DEADLINE + datetime.timedelta(days=1),
        counts(registered=1, late=1, rows=[(2, "late")]),
    ),
    (
        "across weekends and King's Day: the 10th working day is on time",
        ["0612345678|ALL|2026-04-17"],
        FRIDAY_DEADLINE,
        counts(registered=1),
    ),
    (
        "across weekends and King's Day: the next day is late",
        ["0612345678|ALL|2026-04-17"],
        FRIDAY_DEADLINE + datetime.timedelta(days=1),
        counts(registered=1, late=1, rows=[(2, "late")]),
    ),
    (
        "a delivery on a Saturday after a Friday deadline is late",
        ["0612345678|ALL|2026-03-02"],
        datetime.date(2026, 3, 21),
        counts(registered=1, late=1, rows=[(2, "late")]),
    ),
    (
        "a repeated number delivered late counts late on each line",
        ["0612345678|ALL|2026-03-02", "0612345678|ALL|2026-03-02"],
        datetime.date(2026, 3, 17),
        counts(registered=1, already=1, late=2, rows=[(2, "late"), (3, "late")]),
    ),
]


@pytest.mark.parametrize(
    ("lines", "delivered_on", "expected"),
    [row[1:] for row in OUTCOMES],
    ids=[row[0] for row in OUTCOMES],
)
def test_each_row_is_registered_already_registered_or_refused(
    licensed, lines, delivered_on, expected
):
    registration_file = deliver(licensed, lines, on=delivered_on)
    assert registration_file.status == FileStatus.DONE
    assert registration_file.rows_total == sum(1 for line in lines if line.strip())
    assert outcome(registration_file) == expected


def test_a_number_already_in_the_register_is_reported_and_gets_the_rows_categories_added(
    nl, licensed
):
    # The register's one rule for a number already registered (SPEC §5, register.services.
    # numbers_block): the categories are added, the date, channel and e-mail address kept.
    # Until the file flow called the register's service it left such a number as it was.
    with scopes_disabled():
        BlockedNumber.objects.create(
            number=31612345678,
            register=nl,
            categories=1,
            registered_on=datetime.date(2020, 1, 1),
            channel=Channel.WEB,
        )
    registration_file = deliver(licensed, ["0612345678|ALL|2026-03-02"], on=ON_TIME)
    assert outcome(registration_file) == counts(already=1)
    with scopes_disabled():
        blocked = BlockedNumber.objects.get(number=31612345678)
        assert (blocked.categories, blocked.channel, blocked.registered_on) == (
            ALL_CATEGORIES,
            Channel.WEB,
            datetime.date(2020, 1, 1),
        )
        events = RegisterEvent.objects.filter(number=31612345678)
        assert [(e.action, e.channel, e.categories) for e in events] == [
            ("change", "company", ALL_CATEGORIES)
        ]


def test_a_number_already_registered_with_the_rows_categories_is_left_as_it_is(nl, licensed):
    with scopes_disabled():
        BlockedNumber.objects.create(
            number=31612345678,
            register=nl,
            categories=ALL_CATEGORIES,
            registered_on=datetime.date(2020, 1, 1),
            channel=Channel.WEB,
        )
    registration_file = deliver(licensed, ["0612345678|commercial|2026-03-02"], on=ON_TIME)
    assert outcome(registration_file) == counts(already=1)
    with scopes_disabled():
        assert BlockedNumber.objects.get(number=31612345678).categories == ALL_CATEGORIES
        assert not RegisterEvent.objects.filter(number=31612345678).exists()


def test_a_number_repeated_in_a_file_is_blocked_with_the_categories_of_all_its_rows(nl, licensed):
    registration_file = deliver(
        licensed,
        ["0612345678|commercial|2026-03-02", "06-12345678|charity|2026-03-02"],
        on=ON_TIME,
    )
    assert outcome(registration_file) == counts(registered=1, already=1)
    with scopes_disabled():
        blocked = BlockedNumber.objects.get(number=31612345678)
        assert blocked.category_codes == ["commercial", "charity"]
        events = RegisterEvent.objects.filter(number=31612345678)
        assert [(e.action, e.categories) for e in events] == [
            ("block", nl.category_mask({"commercial", "charity"}))
        ]


def test_registered_rows_carry_channel_company_the_processing_date_and_one_event(nl, licensed):
    deliver(
        licensed,
        ["0612345678|ALL|2026-03-02", "0201234567|commercial,charity|2026-03-02"],
        on=ON_TIME,
    )
    today = timezone.localtime(timezone.now(), AMSTERDAM).date()
    with scopes_disabled():
        blocked = {b.number: b for b in BlockedNumber.objects.filter(register=nl)}
        events = list(RegisterEvent.objects.filter(register=nl).order_by("number"))
    assert set(blocked) == {31201234567, 31612345678}
    assert blocked[31612345678].categories == ALL_CATEGORIES
    assert blocked[31201234567].category_codes == ["commercial", "charity"]
    assert {b.channel for b in blocked.values()} == {Channel.COMPANY}
    assert {b.registered_on for b in blocked.values()} == {today}
    assert [(e.number, e.action, e.channel, e.categories) for e in events] == [
        (31201234567, "block", "company", nl.category_mask({"commercial", "charity"})),
        (31612345678, "block", "company", ALL_CATEGORIES),
    ]


def test_the_report_keeps_the_number_as_the_file_gives_it(licensed):
    registration_file = deliver(
        licensed, ["+32 471 12 34 56|ALL|2026-03-02", "06 1234 5678|ALL|2026-03-02"], on=ON_TIME
    )
    registration_file_late = deliver(licensed, ["06 8765 4321|ALL|2026-01-05"], on=ON_TIME)
    with scopes_disabled():
        assert list(registration_file.rows.values_list("line", "number", "requested_on")) == [
            (2, "+32 471 12 34 56", None)
        ]
        assert list(registration_file_late.rows.values_list("number", "requested_on")) == [
            ("06 8765 4321", datetime.date(2026, 1, 5))
        ]


def test_a_be_file_takes_only_all(be):
    from tests.factories import CompanyFactory, LicenceFactory, get_product

    company = CompanyFactory(register=be)
    # be sells no upload licence; a register that adds one uses the same path.
    with scopes_disabled():
        product = get_product(be, "advertiser-small")
        product.kind = "upload"
        product.save(update_fields=["kind"])
    LicenceFactory(company=company, product=product)
    registration_file = deliver(
        company,
        ["0471 12 34 56|ALL|2026-03-02", "0471 12 34 57|commercial|2026-03-02"],
        on=ON_TIME,
    )
    assert outcome(registration_file) == counts(
        registered=1, invalid=1, rows=[(3, "bad_categories")]
    )


def test_processing_twice_registers_once(licensed):
    registration_file = deliver(licensed, ["0612345678|ALL|2026-03-02"], on=ON_TIME)
    with scopes_disabled():
        assert registration_file_process(file_id=registration_file.pk) is None
        assert RegisterEvent.objects.count() == 1
        assert RegistrationRow.objects.filter(file=registration_file).count() == 0
