"""The terms and admissibility rules of the complaints regulation, one row per rule (seed 003,
arts 2–5), on the nl calendar: weekends, Christmas, Easter, King's Day, 5 May, month ends."""

import datetime

import pytest
from django.utils import translation

from complaints.deadlines import (
    TERMS,
    Start,
    TooEarly,
    complaint_filing,
    dispute_filing,
    due_dates,
    next_deadline,
)
from complaints.models import Admissibility, CaseKind, EventAction
from register.models import LiberationDay, Register

D = datetime.date
NL = Register(slug="nl", country="NL", liberation_day_off=LiberationDay.LUSTRUM)
R, C, X = Start.RECEIVED, Start.DIRECTOR_INFORMED, Start.POSITION_SENT

TERM_ROWS = [
    # art. 2.1: a request is handled within 5 working days of receipt
    ("2.1", CaseKind.REQUEST, "handle_by", {R: D(2024, 7, 1)}, D(2024, 7, 8)),
    ("2.1 weekend", CaseKind.REQUEST, "handle_by", {R: D(2024, 7, 6)}, D(2024, 7, 12)),
    ("2.1 Christmas", CaseKind.REQUEST, "handle_by", {R: D(2024, 12, 20)}, D(2024, 12, 31)),
    ("2.1 Easter", CaseKind.REQUEST, "handle_by", {R: D(2024, 3, 28)}, D(2024, 4, 5)),
    ("2.1 King's Day", CaseKind.REQUEST, "handle_by", {R: D(2026, 4, 24)}, D(2026, 5, 4)),
    # 27 April 2025 is a Sunday: King's Day is Saturday 26 April, Monday 28 April is worked.
    ("2.1 King's Day Sunday", CaseKind.REQUEST, "handle_by", {R: D(2025, 4, 25)}, D(2025, 5, 2)),
    ("2.1 5 May lustrum", CaseKind.REQUEST, "handle_by", {R: D(2025, 4, 29)}, D(2025, 5, 7)),
    # a violation report is a request to the service desk (issue #14)
    ("2.1 report", CaseKind.REPORT, "handle_by", {R: D(2024, 7, 1)}, D(2024, 7, 8)),
    # art. 3.2: the director acknowledges a complaint within 1 week of receipt
    ("3.2", CaseKind.COMPLAINT, "acknowledge_by", {R: D(2024, 12, 20)}, D(2024, 12, 27)),
    # art. 4.1: the director decides within 2 weeks of receipt
    ("4.1", CaseKind.COMPLAINT, "decide_by", {R: D(2024, 12, 20)}, D(2025, 1, 3)),
    # art. 5.2: the board acknowledges a dispute within 2 weeks of receipt
    ("5.2", CaseKind.DISPUTE, "acknowledge_by", {R: D(2025, 1, 31)}, D(2025, 2, 14)),
    # art. 5.5: the director has 2 weeks for a position once informed
    ("5.5", CaseKind.DISPUTE, "position_by", {R: D(2025, 3, 1), C: D(2025, 4, 14)}, D(2025, 4, 28)),
    # art. 5.7: the user has 2 weeks to react from the date of the copy
    (
        "5.7",
        CaseKind.DISPUTE,
        "reaction_by",
        {R: D(2024, 12, 2), X: D(2024, 12, 24)},
        D(2025, 1, 7),
    ),
    # art. 5.8: the board decides within 3 months of the filing
    ("5.8", CaseKind.DISPUTE, "decide_by", {R: D(2024, 11, 30)}, D(2025, 2, 28)),
    ("5.8 month end", CaseKind.DISPUTE, "decide_by", {R: D(2025, 1, 31)}, D(2025, 4, 30)),
    ("5.8 leap year", CaseKind.DISPUTE, "decide_by", {R: D(2023, 11, 30)}, D(2024, 2, 29)),
]


@pytest.mark.parametrize(
    ("rule", "kind", "term", "starts", "due"), TERM_ROWS, ids=[row[0] for row in TERM_ROWS]
)
def test_term(rule, kind, term, starts, due):
    assert due_dates(register=NL, kind=kind, starts=starts)[term] == due


def test_every_term_of_the_regulation_has_a_row():
    covered = {(kind, term) for _rule, kind, term, _starts, _due in TERM_ROWS}
    assert covered == {(term.kind, term.name) for term in TERMS}


def test_a_term_whose_event_has_not_happened_has_no_date():
    due = due_dates(register=NL, kind=CaseKind.DISPUTE, starts={R: D(2025, 3, 3)})
    assert due["position_by"] is None
    assert due["reaction_by"] is None


def test_the_board_may_give_the_director_longer():  # art. 6
    due = due_dates(
        register=NL,
        kind=CaseKind.DISPUTE,
        starts={R: D(2025, 3, 3), C: D(2025, 3, 10)},
        overrides={"position_by": D(2025, 4, 1)},
    )
    assert due["position_by"] == D(2025, 4, 1)


def test_a_complaint_decision_also_meets_the_acknowledgement_term():  # art. 3.2
    due = due_dates(register=NL, kind=CaseKind.COMPLAINT, starts={R: D(2024, 12, 20)})
    assert next_deadline(kind=CaseKind.COMPLAINT, due=due, done=set())[1] == D(2024, 12, 27)
    assert next_deadline(kind=CaseKind.COMPLAINT, due=due, done={EventAction.DECIDED}) is None


def test_the_users_reaction_term_is_not_a_deadline_of_the_operator():  # art. 5.7
    due = due_dates(
        register=NL, kind=CaseKind.DISPUTE, starts={R: D(2025, 3, 3), X: D(2025, 3, 20)}
    )
    done = {EventAction.ACKNOWLEDGED, EventAction.POSITION_RECORDED}
    term, day = next_deadline(kind=CaseKind.DISPUTE, due=due, done=done)
    assert (term.name, day) == ("decide_by", D(2025, 6, 3))


TIMELY, LATE = Admissibility.TIMELY, Admissibility.LATE
# A request received Friday 20 December 2024 is due Tuesday 31 December (art. 2.1); a complaint
# on it is allowed from 1 January and in time until 28 February 2025 (31 Dec + 2 months).
REQUEST_DUE = D(2024, 12, 31)
# A complaint received 20 December 2024 is decided by 3 January 2025 (art. 4.1).
COMPLAINT_DUE = D(2025, 1, 3)

COMPLAINT_ROWS = [
    # art. 2.2: too early while the request is unanswered and within its term
    ("2.2 too early", D(2024, 12, 31), None, D(2025, 1, 1)),
    # art. 2.2: allowed once the 5 working days have passed unanswered
    ("2.2 term passed", D(2025, 1, 1), None, TIMELY),
    # art. 2.2: allowed earlier when the request was answered and the user is dissatisfied
    ("2.2 answered", D(2024, 12, 23), D(2024, 12, 23), TIMELY),
    ("2.2 answered, filed before", D(2024, 12, 22), D(2024, 12, 23), D(2024, 12, 23)),
    # art. 3.1: within 2 months after the term of art. 2.2, month end clamped
    ("3.1 last day", D(2025, 2, 28), D(2024, 12, 23), TIMELY),
    ("3.1 a day late", D(2025, 3, 1), None, LATE),
]


@pytest.mark.parametrize(
    ("rule", "filed_on", "answered_on", "expected"),
    COMPLAINT_ROWS,
    ids=[row[0] for row in COMPLAINT_ROWS],
)
def test_complaint_filing(rule, filed_on, answered_on, expected):
    kwargs = {
        "filed_on": filed_on,
        "request_handle_by": REQUEST_DUE,
        "request_answered_on": answered_on,
    }
    if isinstance(expected, datetime.date):
        with pytest.raises(TooEarly) as refused:
            complaint_filing(**kwargs)
        assert refused.value.allowed_from == expected
        assert refused.value.code == "too_early"
        return
    filing = complaint_filing(**kwargs)
    assert filing.admissibility == expected
    assert (filing.file_by, filing.article) == (D(2025, 2, 28), "3.1")


DISPUTE_ROWS = [
    # arts 4.3, 4.4: too early while undecided and the 2 weeks of art. 4.1 run
    ("4.3/4.4 too early", D(2025, 1, 3), None, D(2025, 1, 4), None),
    # art. 4.4: no decision in 2 weeks: within 2 months after that term
    ("4.4 in time", D(2025, 1, 4), None, TIMELY, ("4.4", D(2025, 3, 3))),
    ("4.4 last day", D(2025, 3, 3), None, TIMELY, ("4.4", D(2025, 3, 3))),
    ("4.4 late", D(2025, 3, 4), None, LATE, ("4.4", D(2025, 3, 3))),
    # art. 4.3: within 1 month after the date of the decision
    ("4.3 in time", D(2025, 1, 2), D(2025, 1, 2), TIMELY, ("4.3", D(2025, 2, 2))),
    ("4.3 late", D(2025, 2, 3), D(2025, 1, 2), LATE, ("4.3", D(2025, 2, 2))),
    # art. 4.3 across a month end: 31 January + 1 month is 28 February (decided late: 4.4 too)
    ("4.3 month end", D(2025, 2, 28), D(2025, 1, 31), TIMELY, ("4.3", D(2025, 2, 28))),
    ("4.3 month end, late", D(2025, 3, 4), D(2025, 1, 31), LATE, ("4.4", D(2025, 3, 3))),
    # arts 4.3 and 4.4: a late decision leaves both open, the later end counts
    ("4.3 after a late decision", D(2025, 3, 15), D(2025, 2, 20), TIMELY, ("4.3", D(2025, 3, 20))),
]


@pytest.mark.parametrize(
    ("rule", "filed_on", "decided_on", "expected", "window"),
    DISPUTE_ROWS,
    ids=[row[0] for row in DISPUTE_ROWS],
)
def test_dispute_filing(rule, filed_on, decided_on, expected, window):
    kwargs = {
        "filed_on": filed_on,
        "complaint_decide_by": COMPLAINT_DUE,
        "complaint_decided_on": decided_on,
    }
    if isinstance(expected, datetime.date):
        with pytest.raises(TooEarly) as refused:
            dispute_filing(**kwargs)
        assert refused.value.allowed_from == expected
        return
    filing = dispute_filing(**kwargs)
    assert filing.admissibility == expected
    assert (filing.article, filing.file_by) == window


def test_too_early_says_from_when_in_the_message():
    with translation.override("en"), pytest.raises(TooEarly) as refused:
        dispute_filing(
            filed_on=D(2025, 1, 2), complaint_decide_by=COMPLAINT_DUE, complaint_decided_on=None
        )
    assert "from 4 January 2025" in str(refused.value.message)
