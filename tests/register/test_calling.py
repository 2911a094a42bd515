"""Calling hours, one row per rule of seed 004 "Toegestane tijdstippen" (art. 9 CTM 2012):

    Telemarketinggesprekken zijn alleen toegestaan:
     • op werkdagen van 09.00 tot 22.00 uur
     • op zaterdagen van 10.00 tot 16.00 uur
     • op 5 december, 24 december en 4 mei (indien deze data op een werkdag vallen) tot 18.30 uur.
    Van deze tijdstippen mag alleen worden afgeweken bij een concrete terugbelafspraak of een door
    de consument gevraagde oproep.

Every moment is written with the offset the register's clock shows, and so is every answer:
the rows check the offsets as well as the wall-clock times.
"""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from register.calling import Exemption, calling_window
from tests.factories import CampaignFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def allowed(start: str, end: str, at: str | None = None) -> tuple:
    """Inside the window start–end; the next allowed moment is the moment itself (`at` when the
    moment was written in another offset than the register's)."""
    return True, (start, end), at


def closed(next_allowed_at: str) -> tuple:
    return False, None, next_allowed_at


EXEMPT = (True, None, None)


def row(rule: str, at: str, expect: tuple, *, register: str = "nl", exemption=None, **rules):
    return pytest.param(register, rules, at, exemption, expect, id=rule)


RULES = [
    # "op werkdagen van 09.00 tot 22.00 uur": the window includes 09:00 and ends before 22:00.
    row("working day 08:59:59", "2025-06-11T08:59:59+02:00", closed("2025-06-11T09:00:00+02:00")),
    row(
        "working day 09:00",
        "2025-06-11T09:00:00+02:00",
        allowed("2025-06-11T09:00:00+02:00", "2025-06-11T22:00:00+02:00"),
    ),
    row(
        "working day 21:59:59",
        "2025-06-11T21:59:59+02:00",
        allowed("2025-06-11T09:00:00+02:00", "2025-06-11T22:00:00+02:00"),
    ),
    row("working day 22:00", "2025-06-11T22:00:00+02:00", closed("2025-06-12T09:00:00+02:00")),
    row(
        "working day asked in UTC",
        "2025-06-11T07:00:00Z",
        allowed(
            "2025-06-11T09:00:00+02:00", "2025-06-11T22:00:00+02:00", "2025-06-11T09:00:00+02:00"
        ),
    ),
    row(
        "Friday 22:00 to Saturday", "2025-06-13T22:00:00+02:00", closed("2025-06-14T10:00:00+02:00")
    ),
    # "op zaterdagen van 10.00 tot 16.00 uur".
    row("Saturday 09:59:59", "2025-06-14T09:59:59+02:00", closed("2025-06-14T10:00:00+02:00")),
    row(
        "Saturday 10:00",
        "2025-06-14T10:00:00+02:00",
        allowed("2025-06-14T10:00:00+02:00", "2025-06-14T16:00:00+02:00"),
    ),
    row(
        "Saturday 15:59:59",
        "2025-06-14T15:59:59+02:00",
        allowed("2025-06-14T10:00:00+02:00", "2025-06-14T16:00:00+02:00"),
    ),
    row("Saturday 16:00", "2025-06-14T16:00:00+02:00", closed("2025-06-16T09:00:00+02:00")),
    # "alleen toegestaan" on working days and Saturdays: never on a Sunday.
    row("Sunday", "2025-06-15T12:00:00+02:00", closed("2025-06-16T09:00:00+02:00")),
    # Nor on public holidays, which are no working days: one row per kind the calendar has.
    row("Christmas Day", "2025-12-25T12:00:00+01:00", closed("2025-12-27T10:00:00+01:00")),
    row("Easter Monday", "2025-04-21T12:00:00+02:00", closed("2025-04-22T09:00:00+02:00")),
    row("King's Day", "2026-04-27T12:00:00+02:00", closed("2026-04-28T09:00:00+02:00")),
    row(
        "King's Day on a Saturday", "2025-04-26T12:00:00+02:00", closed("2025-04-28T09:00:00+02:00")
    ),
    row("Ascension Day", "2025-05-29T12:00:00+02:00", closed("2025-05-30T09:00:00+02:00")),
    row("Whit Monday", "2025-06-09T12:00:00+02:00", closed("2025-06-10T09:00:00+02:00")),
    row("New Year's Day", "2026-01-01T12:00:00+01:00", closed("2026-01-02T09:00:00+01:00")),
    # Good Friday and 5 May are days off as the register's settings say (nl: Good Friday not,
    # 5 May in lustrum years).
    row(
        "Good Friday, not a day off",
        "2025-04-18T12:00:00+02:00",
        allowed("2025-04-18T09:00:00+02:00", "2025-04-18T22:00:00+02:00"),
    ),
    row(
        "Good Friday, a day off",
        "2025-04-18T12:00:00+02:00",
        closed("2025-04-19T10:00:00+02:00"),
        good_friday_off=True,
    ),
    row(
        "5 May in a lustrum year", "2025-05-05T12:00:00+02:00", closed("2025-05-06T09:00:00+02:00")
    ),
    row(
        "5 May in another year",
        "2026-05-05T12:00:00+02:00",
        allowed("2026-05-05T09:00:00+02:00", "2026-05-05T22:00:00+02:00"),
    ),
    row(
        "5 May off every year",
        "2026-05-05T12:00:00+02:00",
        closed("2026-05-06T09:00:00+02:00"),
        liberation_day_off="yearly",
    ),
    # "op 5 december, 24 december en 4 mei (indien deze data op een werkdag vallen) tot 18.30 uur".
    row(
        "5 December on a working day 18:29:59",
        "2025-12-05T18:29:59+01:00",
        allowed("2025-12-05T09:00:00+01:00", "2025-12-05T18:30:00+01:00"),
    ),
    row(
        "5 December on a working day 18:30",
        "2025-12-05T18:30:00+01:00",
        closed("2025-12-06T10:00:00+01:00"),
    ),
    row(
        "24 December on a working day 18:29:59",
        "2024-12-24T18:29:59+01:00",
        allowed("2024-12-24T09:00:00+01:00", "2024-12-24T18:30:00+01:00"),
    ),
    row(
        "24 December on a working day 18:30",
        "2025-12-24T18:30:00+01:00",
        closed("2025-12-27T10:00:00+01:00"),
    ),
    row(
        "4 May on a working day 18:29:59",
        "2026-05-04T18:29:59+02:00",
        allowed("2026-05-04T09:00:00+02:00", "2026-05-04T18:30:00+02:00"),
    ),
    row(
        "4 May on a working day 18:30",
        "2026-05-04T18:30:00+02:00",
        closed("2026-05-05T09:00:00+02:00"),
    ),
    # On a Saturday these dates are no working day: the Saturday hours apply, not 09:00–18:30.
    row(
        "5 December on a Saturday 09:30",
        "2026-12-05T09:30:00+01:00",
        closed("2026-12-05T10:00:00+01:00"),
    ),
    row(
        "5 December on a Saturday 15:00",
        "2026-12-05T15:00:00+01:00",
        allowed("2026-12-05T10:00:00+01:00", "2026-12-05T16:00:00+01:00"),
    ),
    row(
        "24 December on a Saturday",
        "2022-12-24T12:00:00+01:00",
        allowed("2022-12-24T10:00:00+01:00", "2022-12-24T16:00:00+01:00"),
    ),
    row(
        "4 May on a Saturday",
        "2024-05-04T12:00:00+02:00",
        allowed("2024-05-04T10:00:00+02:00", "2024-05-04T16:00:00+02:00"),
    ),
    # On a Sunday they are closed like any Sunday (and the days after may be holidays).
    row("5 December on a Sunday", "2027-12-05T12:00:00+01:00", closed("2027-12-06T09:00:00+01:00")),
    row(
        "24 December on a Sunday", "2023-12-24T12:00:00+01:00", closed("2023-12-27T09:00:00+01:00")
    ),
    row("4 May on a Sunday", "2025-05-04T12:00:00+02:00", closed("2025-05-06T09:00:00+02:00")),
    # Windows are wall-clock times: across the spring-forward night (last Sunday of March) the
    # next window opens at 09:00 summer time, across the fall-back night (last Sunday of
    # October) at 09:00 winter time.
    row(
        "Friday before spring forward",
        "2025-03-28T22:00:00+01:00",
        closed("2025-03-29T10:00:00+01:00"),
    ),
    row(
        "Saturday before spring forward, inside",
        "2025-03-29T15:00:00+01:00",
        allowed("2025-03-29T10:00:00+01:00", "2025-03-29T16:00:00+01:00"),
    ),
    row(
        "Saturday 22:00 before spring forward",
        "2025-03-29T22:00:00+01:00",
        closed("2025-03-31T09:00:00+02:00"),
    ),
    row(
        "in the hour spring forward skips",
        "2025-03-30T01:30:00Z",
        closed("2025-03-31T09:00:00+02:00"),
    ),
    row(
        "Saturday 16:00 before fall back",
        "2025-10-25T16:00:00+02:00",
        closed("2025-10-27T09:00:00+01:00"),
    ),
    row(
        "fall back, first 02:30",
        "2025-10-26T02:30:00+02:00",
        closed("2025-10-27T09:00:00+01:00"),
    ),
    row(
        "fall back, second 02:30",
        "2025-10-26T02:30:00+01:00",
        closed("2025-10-27T09:00:00+01:00"),
    ),
    # "Van deze tijdstippen mag alleen worden afgeweken bij een concrete terugbelafspraak of een
    # door de consument gevraagde oproep": exempt at any time, no window needed.
    row("callback on a Sunday night", "2025-06-15T03:00:00+02:00", EXEMPT, exemption="callback"),
    row(
        "requested call on Christmas night",
        "2025-12-25T23:00:00+01:00",
        EXEMPT,
        exemption=Exemption.REQUESTED,
    ),
    # be (SPEC §15 "be: a setting"): the same hours until its operator sets others, in its own
    # time zone, with Belgium's public holidays.
    row(
        "be National Day",
        "2025-07-21T12:00:00+02:00",
        closed("2025-07-22T09:00:00+02:00"),
        register="be",
    ),
    row(
        "nl on be's National Day",
        "2025-07-21T12:00:00+02:00",
        allowed("2025-07-21T09:00:00+02:00", "2025-07-21T22:00:00+02:00"),
    ),
    row(
        "be working day 22:00",
        "2025-06-11T22:00:00+02:00",
        closed("2025-06-12T09:00:00+02:00"),
        register="be",
    ),
    # Another register sets its own hours: no Saturday calls, 08:00–21:00, no short days.
    row(
        "own hours, Friday 21:00",
        "2025-06-13T21:00:00+02:00",
        closed("2025-06-16T08:00:00+02:00"),
        calling_weekday_from=datetime.time(8),
        calling_weekday_until=datetime.time(21),
        calling_saturday_from=None,
        calling_saturday_until=None,
        calling_short_days=[],
    ),
    row(
        "own hours, 24 December 20:00",
        "2025-12-24T20:00:00+01:00",
        allowed("2025-12-24T08:00:00+01:00", "2025-12-24T21:00:00+01:00"),
        calling_weekday_from=datetime.time(8),
        calling_weekday_until=datetime.time(21),
        calling_short_days=[],
    ),
]


@pytest.mark.parametrize(("register", "rules", "at", "exemption", "expect"), RULES)
def test_calling_window_follows_seed_004(request, register, rules, at, exemption, expect):
    register = request.getfixturevalue(register)
    for name, value in rules.items():
        setattr(register, name, value)
    allowed_now, window, next_allowed_at = expect

    answer = calling_window(
        register=register, at=datetime.datetime.fromisoformat(at), exemption=exemption
    )

    span = answer.window and (answer.window.start.isoformat(), answer.window.end.isoformat())
    assert (answer.allowed, span, answer.next_allowed_at.isoformat()) == (
        allowed_now,
        window,
        next_allowed_at or at,
    )


def test_calling_window_needs_a_moment_with_its_time_zone(nl):
    with pytest.raises(ValueError, match="time zone"):
        calling_window(register=nl, at=datetime.datetime(2025, 6, 11, 12))


@pytest.fixture
def campaign_page(nl, monkeypatch):
    """The campaign page as its owner sees it at a moment the test sets."""
    campaign = CampaignFactory(company__register=nl)
    client = Client(HTTP_HOST="nl.localhost", HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(MembershipFactory(company=campaign.company).user)

    def at(moment: str) -> str:
        monkeypatch.setattr(timezone, "now", lambda: datetime.datetime.fromisoformat(moment))
        response = client.get(f"/campaigns/{campaign.pk}/")
        assert response.status_code == 200
        return response.content.decode()

    return at


def test_campaign_page_says_until_when_calling_is_allowed(campaign_page):
    html = campaign_page("2025-06-11T10:00:00+02:00")
    assert "Calling now: allowed until 22:00" in html


def test_campaign_page_says_when_calling_is_next_allowed(campaign_page):
    html = campaign_page("2025-03-29T22:00:00+01:00")
    assert "Not allowed now; next: Monday 09:00" in html
