"""Working days and calendar terms of a register (SPEC §14).

A working day is Monday to Friday except the register country's public holidays, taken from the
`holidays` package, with the two days Dutch practice disputes set per register (see
`Register.good_friday_off` and `Register.liberation_day_off`). Weeks are 7 calendar days and
months are calendar months, clamped to the month's end: 31 January + 1 month is 28 (or 29)
February.
"""

from __future__ import annotations

import calendar
import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

import holidays
from dateutil.easter import easter

if TYPE_CHECKING:
    from register.models import Register

# English names, so the two disputed days can be found by name whatever the country's language.
HOLIDAY_LANGUAGE = "en_US"
GOOD_FRIDAY = "Good Friday"
LIBERATION_DAY = "Liberation Day"
LUSTRUM = 5


@lru_cache(maxsize=64)
def _holidays(
    country: str, year: int, good_friday_off: bool, liberation_day_off: str
) -> dict[datetime.date, str]:
    from register.models import LiberationDay

    days = holidays.country_holidays(country, years=year, language=HOLIDAY_LANGUAGE)
    # The package's own choice for these two days changes between versions and by country
    # (nl: Good Friday listed, 5 May in lustrum years only); the register's setting decides.
    # `pop_named` keeps another holiday on the same date (Ascension Day fell on 5 May 2005).
    for name in (GOOD_FRIDAY, LIBERATION_DAY):
        if days.get_named(name, lookup="exact"):
            days.pop_named(name)
    if good_friday_off:
        days[easter(year) - datetime.timedelta(days=2)] = GOOD_FRIDAY
    if liberation_day_off == LiberationDay.YEARLY or (
        liberation_day_off == LiberationDay.LUSTRUM and year % LUSTRUM == 0
    ):
        days[datetime.date(year, 5, 5)] = LIBERATION_DAY
    return dict(days.items())


def public_holidays(*, register: Register, year: int) -> dict[datetime.date, str]:
    """The days off of `year` in the register's country, by date, with their English names."""
    return _holidays(
        register.country.upper(), year, register.good_friday_off, register.liberation_day_off
    )


def is_working_day(*, register: Register, day: datetime.date) -> bool:
    if day.weekday() >= calendar.SATURDAY:
        return False
    return day not in public_holidays(register=register, year=day.year)


def working_days_after(*, register: Register, start: datetime.date, days: int) -> datetime.date:
    """The last day of a term of `days` working days counted from the day after `start`.

    "Within 5 working days of receipt": received on Monday 1 July, the fifth working day after
    it is Monday 8 July; received on a Saturday, it is the Friday after.
    """
    if days < 1:
        raise ValueError("a term of working days is at least one day long")
    day = start
    counted = 0
    while counted < days:
        day += datetime.timedelta(days=1)
        if is_working_day(register=register, day=day):
            counted += 1
    return day


def weeks_after(start: datetime.date, weeks: int) -> datetime.date:
    return start + datetime.timedelta(weeks=weeks)


def months_after(start: datetime.date, months: int) -> datetime.date:
    """The same day `months` calendar months later, clamped to the end of a shorter month."""
    month_index = start.year * 12 + start.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    return start.replace(
        year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1])
    )


# Seed 000: registrations reach the register within 10 working days of the consumer's request
# (company deliveries, SPEC §11); the privacy statement and the retention job count from it.
REGISTRATION_TERM_WORKING_DAYS = 10
