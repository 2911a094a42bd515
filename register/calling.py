"""When a telemarketing call is allowed (SPEC §15, seed 004: art. 9 CTM 2012).

The hours are the register's own (`Register.calling_*`): a window on working days, one on
Saturdays, and short days on which a working day's window ends early. Sundays and the register's
public holidays (register.calendar) have no window. Windows are wall-clock times in the register's
time zone, so 09:00 is 09:00+01:00 in winter and 09:00+02:00 in summer; European clocks change
in a Sunday night, when there are no calls, so every window's times exist exactly once.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from register.calendar import public_holidays
from register.models import Register

# The longest run of days without a window is a long weekend around Christmas or Easter; a
# register whose hours leave none for two weeks is misconfigured, not closed.
SEARCH_DAYS = 14


class Exemption(models.TextChoices):
    """Calls that may be made at any time (seed 004: "Van deze tijdstippen mag alleen worden
    afgeweken bij een concrete terugbelafspraak of een door de consument gevraagde oproep")."""

    CALLBACK = "callback", _("a concrete callback appointment")
    REQUESTED = "requested", _("a call the consumer asked for")


@dataclass(frozen=True)
class Window:
    start: datetime.datetime
    end: datetime.datetime


@dataclass(frozen=True)
class CallingWindow:
    """The answer for one moment, every datetime in the register's time zone.

    `window` is the window the moment lies in (None outside one, and for an exempt call, which
    needs none); `next_allowed_at` is the moment itself when the call is allowed.
    """

    allowed: bool
    window: Window | None
    next_allowed_at: datetime.datetime


def calling_hours(
    *, register: Register, day: datetime.date
) -> tuple[datetime.time, datetime.time] | None:
    """The wall-clock (from, until) of calls on `day`, or None when no call is allowed."""
    weekday = day.weekday()
    if weekday == calendar.SUNDAY or day in public_holidays(register=register, year=day.year):
        return None
    if weekday == calendar.SATURDAY:
        if register.calling_saturday_from is None:
            return None
        return register.calling_saturday_from, register.calling_saturday_until
    if f"{day:%m-%d}" in register.calling_short_days:
        return register.calling_weekday_from, register.calling_short_day_until
    return register.calling_weekday_from, register.calling_weekday_until


def calling_window(
    *, register: Register, at: datetime.datetime, exemption: Exemption | None = None
) -> CallingWindow:
    """Whether a telemarketing call is allowed at `at`, its window, and the next allowed moment."""
    if timezone.is_naive(at):
        raise ValueError("a calling window is asked for a moment with its time zone")
    zone = register.zone
    at = at.astimezone(zone)
    if exemption is not None:
        return CallingWindow(allowed=True, window=None, next_allowed_at=at)
    for offset in range(SEARCH_DAYS + 1):
        day = at.date() + datetime.timedelta(days=offset)
        hours = calling_hours(register=register, day=day)
        if hours is None:
            continue
        window = Window(
            start=datetime.datetime.combine(day, hours[0], tzinfo=zone),
            end=datetime.datetime.combine(day, hours[1], tzinfo=zone),
        )
        if at < window.start:
            return CallingWindow(allowed=False, window=None, next_allowed_at=window.start)
        if at < window.end:
            return CallingWindow(allowed=True, window=window, next_allowed_at=at)
    raise ValueError(f"{register.slug} allows no call in the {SEARCH_DAYS} days after {at}")
