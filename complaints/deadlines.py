"""The terms of the complaints regulation as one table, and the admissibility of filings.

Every term of seed 003 (SPEC §14) is one `Term`: the case field it fills, its article, the
event it runs from, its length and unit, and the events that meet it. `due_dates` computes a
case's due dates from the days its events happened; `complaint_filing` and `dispute_filing`
judge when a complaint or dispute may be filed and whether it was filed in time. Pure functions
of dates: the services feed them from the case's events.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from complaints.models import Admissibility, CaseKind, EventAction
from register.calendar import months_after, weeks_after, working_days_after
from register.errors import DomainError
from register.models import Register

DAY = datetime.timedelta(days=1)


class Unit(StrEnum):
    WORKING_DAYS = "working_days"
    WEEKS = "weeks"
    MONTHS = "months"


class Start(StrEnum):
    """The events a term runs from; the services give the day each happened."""

    RECEIVED = "received"
    DIRECTOR_INFORMED = "director_informed"
    POSITION_SENT = "position_sent"


class Party(StrEnum):
    OPERATOR = "operator"  # the service desk, the director, the board: staff are reminded
    USER = "user"  # the user's own term: when it ends, the board may go on


@dataclass(frozen=True)
class Term:
    name: str
    article: str
    kind: CaseKind
    starts: Start
    length: int
    unit: Unit
    met_by: frozenset[EventAction]
    party: Party
    label: str


_ANSWERED = frozenset({EventAction.DECIDED, EventAction.DECLARED_INADMISSIBLE})

TERMS: tuple[Term, ...] = (
    Term(
        "handle_by", "2.1", CaseKind.REQUEST, Start.RECEIVED, 5, Unit.WORKING_DAYS,
        frozenset({EventAction.DECIDED}), Party.OPERATOR, _("handle the request"),
    ),
    # A violation report is a request to the service desk (art. 2.1).
    Term(
        "handle_by", "2.1", CaseKind.REPORT, Start.RECEIVED, 5, Unit.WORKING_DAYS,
        frozenset({EventAction.DECIDED}), Party.OPERATOR, _("handle the report"),
    ),
    # The decision itself also acknowledges the complaint.
    Term(
        "acknowledge_by", "3.2", CaseKind.COMPLAINT, Start.RECEIVED, 1, Unit.WEEKS,
        _ANSWERED | {EventAction.ACKNOWLEDGED}, Party.OPERATOR, _("acknowledge the complaint"),
    ),
    Term(
        "decide_by", "4.1", CaseKind.COMPLAINT, Start.RECEIVED, 2, Unit.WEEKS,
        _ANSWERED, Party.OPERATOR, _("decide on the complaint"),
    ),
    Term(
        "acknowledge_by", "5.2", CaseKind.DISPUTE, Start.RECEIVED, 2, Unit.WEEKS,
        frozenset({
            EventAction.ACKNOWLEDGED, EventAction.DECLARED_INADMISSIBLE,
            EventAction.BOARD_DECIDED,
        }),
        Party.OPERATOR, _("acknowledge the dispute"),
    ),
    Term(
        "position_by", "5.5", CaseKind.DISPUTE, Start.DIRECTOR_INFORMED, 2, Unit.WEEKS,
        frozenset({EventAction.POSITION_RECORDED, EventAction.DECLARED_INADMISSIBLE}),
        Party.OPERATOR, _("the director's position"),
    ),
    Term(
        "reaction_by", "5.7", CaseKind.DISPUTE, Start.POSITION_SENT, 2, Unit.WEEKS,
        frozenset({EventAction.REACTION_RECORDED}), Party.USER, _("the user's reaction"),
    ),
    Term(
        "decide_by", "5.8", CaseKind.DISPUTE, Start.RECEIVED, 3, Unit.MONTHS,
        frozenset({EventAction.BOARD_DECIDED, EventAction.DECLARED_INADMISSIBLE}),
        Party.OPERATOR, _("the board's decision"),
    ),
)  # fmt: skip

DUE_FIELDS = ("handle_by", "acknowledge_by", "decide_by", "position_by", "reaction_by")


def terms_for(kind: str) -> tuple[Term, ...]:
    return tuple(term for term in TERMS if term.kind == kind)


def term_for(kind: str, name: str) -> Term:
    return next(term for term in TERMS if term.kind == kind and term.name == name)


def term_end(*, register: Register, start: datetime.date, length: int, unit: Unit) -> datetime.date:
    """The last day of a term that starts on the day after `start`."""
    if unit == Unit.WORKING_DAYS:
        return working_days_after(register=register, start=start, days=length)
    if unit == Unit.WEEKS:
        return weeks_after(start, length)
    return months_after(start, length)


def due_dates(
    *,
    register: Register,
    kind: str,
    starts: Mapping[Start, datetime.date],
    overrides: Mapping[str, datetime.date] | None = None,
) -> dict[str, datetime.date | None]:
    """The due date of every term of `kind`; None for a term whose event has not happened.

    `overrides` holds dates staff set instead of a term's own (the board giving the director
    longer for a position, art. 6).
    """
    overrides = overrides or {}
    due = {}
    for term in terms_for(kind):
        start = starts.get(term.starts)
        if term.name in overrides:
            due[term.name] = overrides[term.name]
        elif start is None:
            due[term.name] = None
        else:
            due[term.name] = term_end(
                register=register, start=start, length=term.length, unit=term.unit
            )
    return due


def pending_terms(
    *, kind: str, due: Mapping[str, datetime.date | None], done: set[str]
) -> list[tuple[Term, datetime.date]]:
    """The operator's terms that have started and are not yet met by one of the events in
    `done`, earliest first."""
    pending = [
        (term, due[term.name])
        for term in terms_for(kind)
        if term.party == Party.OPERATOR
        and due.get(term.name) is not None
        and not (term.met_by & done)
    ]
    return sorted(pending, key=lambda item: item[1])


def next_deadline(
    *, kind: str, due: Mapping[str, datetime.date | None], done: set[str]
) -> tuple[Term, datetime.date] | None:
    pending = pending_terms(kind=kind, due=due, done=done)
    return pending[0] if pending else None


# Admissibility of complaints and disputes


class TooEarly(DomainError):
    """Filed before the regulation allows it; `allowed_from` says from which day it may be."""

    code = "too_early"
    status = 400

    def __init__(self, *, allowed_from: datetime.date, message):
        self.allowed_from = allowed_from
        super().__init__(message)


@dataclass(frozen=True)
class Filing:
    admissibility: Admissibility
    allowed_from: datetime.date
    file_by: datetime.date
    article: str


def complaint_filing(
    *,
    filed_on: datetime.date,
    request_handle_by: datetime.date,
    request_answered_on: datetime.date | None,
) -> Filing:
    """A complaint about a request (arts 2.2 and 3.1).

    Allowed once the request was answered (the user may be dissatisfied with the answer) or its
    5-working-day term passed unanswered; in time within 2 months after that term.
    """
    allowed_from = request_handle_by + DAY
    if request_answered_on is not None:
        allowed_from = min(allowed_from, request_answered_on)
    if filed_on < allowed_from:
        raise TooEarly(
            allowed_from=allowed_from,
            message=_(
                "A complaint about this request may be filed from %(date)s: once the request "
                "is answered or its term of 5 working days has passed (art. 2.2)."
            )
            % {"date": date_format(allowed_from)},
        )
    file_by = months_after(request_handle_by, 2)
    timely = Admissibility.TIMELY if filed_on <= file_by else Admissibility.LATE
    return Filing(timely, allowed_from, file_by, "3.1")


def dispute_filing(
    *,
    filed_on: datetime.date,
    complaint_decide_by: datetime.date,
    complaint_decided_on: datetime.date | None,
) -> Filing:
    """A dispute about a complaint (arts 4.3 and 4.4).

    Within 1 month after the date of the director's decision (4.3); or, when no decision came
    within the 2 weeks of art. 4.1, within 2 months after that term expired (4.4). A decision
    that came late leaves both open, and the later end counts.
    """
    windows = []
    if complaint_decided_on is not None:
        windows.append(("4.3", complaint_decided_on, months_after(complaint_decided_on, 1)))
    if complaint_decided_on is None or complaint_decided_on > complaint_decide_by:
        windows.append(("4.4", complaint_decide_by + DAY, months_after(complaint_decide_by, 2)))
    allowed_from = min(start for _article, start, _end in windows)
    if filed_on < allowed_from:
        raise TooEarly(
            allowed_from=allowed_from,
            message=_(
                "A dispute about this complaint may be filed from %(date)s: once the director "
                "has decided or the term of 2 weeks for the decision has passed (arts 4.3, 4.4)."
            )
            % {"date": date_format(allowed_from)},
        )
    for article, start, end in windows:
        if start <= filed_on <= end:
            return Filing(Admissibility.TIMELY, allowed_from, end, article)
    article, _start, end = max(windows, key=lambda window: window[2])
    return Filing(Admissibility.LATE, allowed_from, end, article)
