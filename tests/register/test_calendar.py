"""Working days and calendar terms per register (SPEC §14, register.calendar)."""

import datetime

import pytest

from register.calendar import (
    is_working_day,
    months_after,
    public_holidays,
    weeks_after,
    working_days_after,
)
from register.models import LiberationDay, Register

D = datetime.date

# Unsaved registers: the calendar needs only the country and the two day-off settings.
NL = Register(slug="nl", country="NL", liberation_day_off=LiberationDay.LUSTRUM)
NL_ATW = Register(
    slug="nl-atw", country="NL", good_friday_off=True, liberation_day_off=LiberationDay.YEARLY
)
NL_NEVER = Register(slug="nl-never", country="NL", liberation_day_off=LiberationDay.NEVER)
BE = Register(slug="be", country="BE")


@pytest.mark.parametrize(
    ("register", "start", "days", "end"),
    [
        (NL, D(2024, 7, 1), 5, D(2024, 7, 8)),  # Monday: the next Monday
        (NL, D(2024, 7, 5), 1, D(2024, 7, 8)),  # Friday: the weekend does not count
        (NL, D(2024, 7, 6), 5, D(2024, 7, 12)),  # received on a Saturday
        (NL, D(2024, 7, 7), 5, D(2024, 7, 12)),  # received on a Sunday
        (NL, D(2024, 12, 20), 5, D(2024, 12, 31)),  # both Christmas days skipped
        (NL, D(2024, 12, 31), 1, D(2025, 1, 2)),  # New Year's Day
        (NL, D(2024, 3, 28), 1, D(2024, 3, 29)),  # Good Friday is a working day in nl
        (NL, D(2024, 3, 28), 2, D(2024, 4, 2)),  # Easter Monday is not
        (NL_ATW, D(2024, 3, 28), 1, D(2024, 4, 2)),  # Good Friday off by the register setting
        (NL, D(2026, 4, 24), 1, D(2026, 4, 28)),  # King's Day on Monday 27 April 2026
        (NL, D(2025, 4, 25), 1, D(2025, 4, 28)),  # 27 April 2025 a Sunday: not moved to Monday
        (NL, D(2025, 5, 2), 1, D(2025, 5, 6)),  # 5 May 2025: a lustrum year
        (NL, D(2026, 5, 4), 1, D(2026, 5, 5)),  # 5 May 2026 is a working day
        (NL_ATW, D(2026, 5, 4), 1, D(2026, 5, 6)),  # …unless the register takes it off yearly
        (NL, D(2024, 5, 8), 1, D(2024, 5, 10)),  # Ascension Day
        (NL, D(2024, 5, 17), 1, D(2024, 5, 21)),  # Whit Monday
        (BE, D(2025, 7, 18), 1, D(2025, 7, 22)),  # Belgian National Day
        (BE, D(2025, 5, 2), 1, D(2025, 5, 5)),  # 5 May is no Belgian holiday
    ],
)
def test_working_days_after(register, start, days, end):
    assert working_days_after(register=register, start=start, days=days) == end


@pytest.mark.parametrize(
    ("register", "day", "working"),
    [
        (NL, D(2025, 4, 26), False),  # King's Day 2025 is Saturday 26 April
        (NL, D(2025, 4, 28), True),
        (NL, D(2025, 12, 25), False),
        (NL, D(2025, 12, 26), False),
        (NL, D(2025, 12, 24), True),
        (NL_NEVER, D(2025, 5, 5), True),
        (NL_NEVER, D(2005, 5, 5), False),  # Ascension Day fell on 5 May 2005
        (NL, D(2025, 4, 18), True),  # Good Friday
        (NL_ATW, D(2025, 4, 18), False),
    ],
)
def test_is_working_day(register, day, working):
    assert is_working_day(register=register, day=day) is working


def test_kings_day_on_a_sunday_is_celebrated_the_saturday_before():
    days = public_holidays(register=NL, year=2025)
    assert days[D(2025, 4, 26)] == "King's Day"
    assert D(2025, 4, 27) not in days


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (D(2025, 1, 31), 1, D(2025, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),  # leap year
        (D(2024, 12, 31), 2, D(2025, 2, 28)),  # across the year end
        (D(2024, 3, 31), 3, D(2024, 6, 30)),
        (D(2024, 11, 15), 3, D(2025, 2, 15)),
        (D(2025, 2, 28), 1, D(2025, 3, 28)),
    ],
)
def test_months_are_calendar_months_clamped_to_the_month_end(start, months, end):
    assert months_after(start, months) == end


def test_weeks_are_seven_calendar_days_holidays_included():
    assert weeks_after(D(2024, 12, 20), 2) == D(2025, 1, 3)
