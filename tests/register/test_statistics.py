"""The register's statistics (issue 14): registrations and unblocks per day, week or month, by
channel and category, and the register's size, the same whether a day is read from the rollup
or from the history; and the public /statistics/ page with its CSV."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client
from django_scopes import scope, scopes_disabled

from register.models import (
    ALL_CATEGORIES,
    BlockedNumber,
    Channel,
    DailyCount,
    EventAction,
    RegisterEvent,
    RegisterImport,
)
from register.statistics import (
    Granularity,
    Period,
    RegisterCounts,
    daily_counts_roll_up,
    events_by_category,
    events_by_channel,
    public_statistics,
    register_size,
)

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
COMMERCIAL, IDEAL, CHARITY = 1, 2, 4
NOVEMBER = Period(
    start=datetime.date(2026, 11, 1), end=datetime.date(2026, 11, 30), by=Granularity.WEEK
)


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=AMSTERDAM)


def event(register, number, action, channel, when, categories=None, reference=""):
    RegisterEvent.objects.create(
        register=register,
        number=number,
        action=action,
        channel=channel,
        categories=categories,
        occurred_at=when,
        reference=reference,
    )


def blocked(register, number, categories, when, channel, imported_in=None):
    BlockedNumber.objects.create(
        register=register,
        number=number,
        categories=categories,
        registered_on=when.date(),
        channel=channel,
        imported_in=imported_in,
    )


@pytest.fixture
def history(nl):
    """November 2026 in nl: four registrations in the first week (one just after midnight in
    Amsterdam, still 2 November in UTC), an unblock and an import of three in the second (one
    of them since written to the history), a company's file in the third."""
    with scope(register=nl):
        for number, mask, channel, when in [
            (31610000001, ALL_CATEGORIES, Channel.WEB, at(2, 10)),
            (31610000002, COMMERCIAL, Channel.WEB, at(2, 11)),
            (31610000003, ALL_CATEGORIES, Channel.PHONE, at(2, 12)),
            (31610000004, IDEAL, Channel.WEB, at(3, 0, 30)),
            (31610000020, ALL_CATEGORIES, Channel.COMPANY, at(20, 9)),
        ]:
            blocked(nl, number, mask, when, channel)
            event(nl, number, EventAction.BLOCK, channel, when, mask)
        event(nl, 31610000004, EventAction.CHANGE, Channel.WEB, at(4, 9), ALL_CATEGORIES)
        BlockedNumber.objects.filter(number=31610000002).delete()
        event(nl, 31610000002, EventAction.UNBLOCK, Channel.WEB, at(10, 12))
        imported = RegisterImport.objects.create(register=nl, occurred_at=at(10, 9), sha256="0")
        blocked(nl, 31610000010, ALL_CATEGORIES, at(10, 9), Channel.IMPORT, imported)
        blocked(nl, 31610000011, CHARITY, at(10, 9), Channel.IMPORT, imported)
        blocked(nl, 31610000012, ALL_CATEGORIES, at(10, 9), Channel.IMPORT)
        event(nl, 31610000012, EventAction.BLOCK, Channel.IMPORT, at(10, 9), ALL_CATEGORIES)
    return nl


def figures_of(register):
    with scope(register=register):
        return _figures(RegisterCounts(register=register))


def _figures(counts):
    return {
        "registrations": events_by_channel(
            counts=counts, period=NOVEMBER, action=EventAction.BLOCK
        ),
        "unblocks": events_by_channel(counts=counts, period=NOVEMBER, action=EventAction.UNBLOCK),
        "by category": events_by_category(
            counts=counts, period=NOVEMBER, action=EventAction.BLOCK, language="en"
        ),
        "unblocks by category": events_by_category(
            counts=counts, period=NOVEMBER, action=EventAction.UNBLOCK, language="en"
        ),
        "size": register_size(counts=counts, period=NOVEMBER),
    }


# Columns: web, phone, company, import, admin (Channel's order).
EXPECTED = {
    "registrations": [
        [0, 0, 0, 0, 0],  # the week of 26 October: 1 November only
        [3, 1, 0, 0, 0],
        [0, 0, 0, 3, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],  # the week of 30 November: that day only
    ],
    "unblocks": [[0] * 5, [0] * 5, [1, 0, 0, 0, 0], [0] * 5, [0] * 5, [0] * 5],
    # commercial, ideal, charity: a number counts in every category it blocks.
    "by category": [[0, 0, 0], [3, 3, 2], [2, 2, 3], [1, 1, 1], [0, 0, 0], [0, 0, 0]],
    "unblocks by category": [[0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]],
    "size": [[0], [4], [6], [7], [7], [7]],
}


def cells(figures):
    return {name: figure.cells for name, figure in figures.items()}


def test_the_figures_count_each_channel_category_and_the_size_per_week(history):
    figures = figures_of(history)
    assert figures["registrations"].rows == [
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
        "2026-11-30",
    ]
    assert figures["by category"].columns == [
        history.category_label(code, "en") for code in ["commercial", "ideal", "charity"]
    ]
    assert cells(figures) == EXPECTED


def test_the_rollup_gives_the_figures_the_history_gives(history):
    before = cells(figures_of(history))
    with scope(register=history):
        # Up to 14 November into the rollup; the days since are read from the history.
        assert daily_counts_roll_up(register=history, now=at(15, 12)) > 0
        assert DailyCount.objects.filter(register=history, day__gt="2026-11-14").count() == 0
        assert cells(figures_of(history)) == before
        # A number of the import written to the history after its day was rolled up counts
        # once: the rollup of that day stays as it was.
        BlockedNumber.objects.filter(number=31610000010).update(imported_in=None)
        event(history, 31610000010, EventAction.BLOCK, Channel.IMPORT, at(10, 9), -1)
        assert cells(figures_of(history)) == before
        daily_counts_roll_up(register=history)
        rows = DailyCount.objects.count()
        assert cells(figures_of(history)) == before
        # Again: nothing more to do.
        assert daily_counts_roll_up(register=history) == 0
        assert DailyCount.objects.count() == rows


def test_a_day_is_rolled_up_only_some_time_after_it_ended(history):
    with scope(register=history):
        daily_counts_roll_up(register=history, now=at(21, 0, 10))
        through = history.dailycountsthrough.day
    assert through == datetime.date(2026, 11, 19)


def test_the_size_counts_every_registration_before_the_period(history):
    december = Period(
        start=datetime.date(2026, 12, 1), end=datetime.date(2026, 12, 2), by=Granularity.DAY
    )
    with scope(register=history):
        size = register_size(counts=RegisterCounts(register=history), period=december)
        assert size.cells == [[7], [7]]
        assert BlockedNumber.objects.filter(register=history).count() == 7


def test_months_and_days_are_counted_in_the_registers_time_zone(history):
    by_day = Period(
        start=datetime.date(2026, 11, 2), end=datetime.date(2026, 11, 3), by=Granularity.DAY
    )
    by_month = Period(
        start=datetime.date(2026, 10, 15), end=datetime.date(2026, 11, 30), by=Granularity.MONTH
    )
    with scope(register=history):
        counts = RegisterCounts(register=history)
        days = events_by_channel(counts=counts, period=by_day, action=EventAction.BLOCK)
        months = events_by_channel(counts=counts, period=by_month, action=EventAction.BLOCK)
    assert days.cells == [[2, 1, 0, 0, 0], [1, 0, 0, 0, 0]]
    assert months.rows == ["2026-10", "2026-11"]
    assert months.cells == [[0] * 5, [3, 1, 1, 3, 0]]


def test_the_public_figures_are_per_month_with_todays_size(history):
    with scope(register=history):
        figures = public_statistics(register=history, year=2026)
    assert figures.registered == 7
    november = figures.size.rows.index("2026-11")
    assert figures.registrations.cells[november] == [3, 1, 1, 3, 0]
    assert figures.table().cells[november] == [7, 3, 1, 1, 3, 0, 1, 0, 0, 0, 0]


def test_the_public_page_and_its_csv_need_no_login(history):
    cache.clear()
    client = Client(HTTP_HOST="nl.localhost")
    page = client.get("/statistics/?year=2026")
    assert page.status_code == 200
    assert b"<svg" in page.content and b"<script" not in page.content
    text = page.content.decode()
    assert "7 numbers are registered today" in text or "7 nummers" in text
    assert 'href="/statistics/"' in client.get("/check/").content.decode()
    csv = client.get("/statistics/csv/?year=2026")
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0].split(",")[:2] == ["Month", "numbers registered at the end"] or len(lines) > 1
    assert "2026-11,7,3,1,1,3,0,1,0,0,0,0" in lines
    cache.clear()


def test_the_public_page_answers_a_year_it_has_no_figures_for_with_404(history):
    cache.clear()
    client = Client(HTTP_HOST="nl.localhost")
    assert client.get("/statistics/?year=1999").status_code == 404
    assert client.get("/statistics/?year=next").status_code == 200


def test_the_public_page_shows_only_its_registers_numbers(history, be):
    cache.clear()
    with scopes_disabled():
        event(be, 3212345678, EventAction.BLOCK, Channel.WEB, at(2, 10), ALL_CATEGORIES)
    csv = Client(HTTP_HOST="be.localhost").get("/statistics/csv/?year=2026")
    lines = csv.content.decode().splitlines()
    november = next(line for line in lines if line.startswith("2026-11"))
    assert november.split(",")[1:3] == ["1", "1"]
    cache.clear()
