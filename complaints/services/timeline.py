"""The record every case service writes through: the case locked for the step, its
append-only events, and the due dates recomputed from them in the register's own days."""

from __future__ import annotations

import datetime

from complaints.deadlines import (
    DUE_FIELDS,
    Filing,
    Start,
    complaint_filing,
    dispute_filing,
    due_dates,
    next_deadline,
)
from complaints.models import Case, CaseEvent, CaseKind, EventAction, Stage


def case_lock(case: Case) -> Case:
    """The case reloaded and locked until the caller's transaction ends."""
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("register", "refers_to")
        .get(pk=case.pk)
    )


def case_event(
    case: Case, action: str, by=None, note: str = "", data: dict | None = None
) -> CaseEvent:
    return CaseEvent.objects.create(
        register=case.register, case=case, actor=by, action=action, note=note, data=data or {}
    )


def due_refresh(case: Case) -> None:
    """Recomputes the stored due dates and the next deadline from the case's events."""
    register = case.register
    events = list(case.events.order_by("at", "pk"))
    starts = {Start.RECEIVED: register.date_of(case.received_at)}
    overrides = {}
    for event in events:
        if event.action == EventAction.DIRECTOR_INFORMED:
            starts[Start.DIRECTOR_INFORMED] = register.date_of(event.at)
        elif event.action == EventAction.POSITION_SENT:
            starts[Start.POSITION_SENT] = register.date_of(event.at)
        elif event.action == EventAction.POSITION_DEADLINE_SET:
            overrides["position_by"] = datetime.date.fromisoformat(event.data["position_by"])
    due = due_dates(register=register, kind=case.kind, starts=starts, overrides=overrides)
    for field in DUE_FIELDS:
        setattr(case, field, due.get(field))
    upcoming = None
    if case.stage not in (Stage.DECIDED, Stage.INADMISSIBLE, Stage.CLOSED):
        upcoming = next_deadline(kind=case.kind, due=due, done={event.action for event in events})
    case.next_due = upcoming[1] if upcoming else None
    case.next_due_term = upcoming[0].name if upcoming else ""
    case.save(update_fields=[*DUE_FIELDS, "next_due", "next_due_term"])


def _decided_on(case: Case) -> datetime.date | None:
    if case.decided_at is None:
        return None
    return case.register.date_of(case.decided_at)


def case_filing_check(
    *, kind: str, refers_to: Case | None, filed_on: datetime.date
) -> Filing | None:
    """When a complaint or dispute may be filed and whether it is in time (arts 2.2, 3.1, 4.3,
    4.4); None when there is no earlier case to measure it against. Raises TooEarly."""
    if refers_to is None:
        return None
    if kind == CaseKind.COMPLAINT:
        return complaint_filing(
            filed_on=filed_on,
            request_handle_by=refers_to.handle_by,
            request_answered_on=_decided_on(refers_to),
        )
    return dispute_filing(
        filed_on=filed_on,
        complaint_decide_by=refers_to.decide_by,
        complaint_decided_on=_decided_on(refers_to),
    )
