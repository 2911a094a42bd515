"""The record every case service writes through: the case locked for the step, its
append-only events, and the due dates recomputed from them in the register's own days; and
each event told in words for the staff's timeline (`timeline_entries`)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from complaints.deadlines import (
    DUE_FIELDS,
    Filing,
    Start,
    complaint_filing,
    dispute_filing,
    due_dates,
    next_deadline,
)
from complaints.models import Case, CaseChannel, CaseEvent, CaseKind, EventAction, Stage


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


# One sentence per action; %(who)s is the actor (or who the action's default says).
_SENTENCES = {
    EventAction.FILED: _("%(who)s filed the case through the %(channel)s."),
    EventAction.RECORDED: _("%(who)s recorded the case, received by %(channel)s on %(day)s."),
    EventAction.ATTACHED: _("%(who)s added documents: %(files)s."),
    EventAction.ACKNOWLEDGED: _("%(who)s acknowledged the case; a letter goes to the filer."),
    EventAction.DECIDED: _("%(who)s decided; a letter goes to the filer."),
    EventAction.DECLARED_INADMISSIBLE: _(
        "%(who)s declared the case inadmissible; a letter goes to the filer."
    ),
    EventAction.LATENESS_EXCUSED: _("%(who)s admitted the late filing."),
    EventAction.FORWARDED: _("%(who)s forwarded the dispute to the board."),
    EventAction.DIRECTOR_INFORMED: _("%(who)s informed the director, who has 2 weeks."),
    EventAction.POSITION_DEADLINE_SET: _("%(who)s gave the director until %(day)s."),
    EventAction.POSITION_RECORDED: _("%(who)s recorded the director's position."),
    EventAction.HEARING_SCHEDULED: _("%(who)s scheduled a hearing in %(place)s on %(when)s."),
    EventAction.POSITION_SENT: _("%(who)s sent the director's position to the filer."),
    EventAction.REACTION_RECORDED: _("%(who)s recorded the filer's reaction."),
    EventAction.BOARD_DECIDED: _("%(who)s recorded the board's decision; a letter goes out."),
    EventAction.CLOSED: _("%(who)s closed the case."),
    EventAction.LETTER_SENT: _("The letter “%(subject)s” was mailed to %(to)s."),
    EventAction.ASSIGNED: _("%(who)s assigned the case to %(name)s."),
    EventAction.NOTE: _("%(who)s wrote an internal note."),
}
_UNASSIGNED = _("%(who)s took the case off its assignee.")


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    action: str
    sentence: str
    text: str  # the step's own text (a motivation, a note), shown beneath the sentence


def _who(event: CaseEvent) -> str:
    if event.actor is not None:
        return event.actor.get_full_name() or event.actor.email or event.actor.get_username()
    if event.action == EventAction.FILED:
        return gettext("The filer")
    return gettext("The system")


def _moment(case: Case, value: str | None, *, with_time: bool) -> str:
    if not value:
        return "?"
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(case.register.zone)
    return date_format(moment, "DATETIME_FORMAT") if with_time else date_format(moment.date())


def event_sentence(case: Case, event: CaseEvent) -> str:
    """`event` told in words in the current language, from its action and data."""
    data = event.data or {}
    channel = data.get("channel", "")
    values = {
        "who": _who(event),
        "channel": CaseChannel(channel).label if channel in CaseChannel.values else channel,
        "day": _moment(case, data.get("received_at") or data.get("position_by"), with_time=False),
        "files": ", ".join(data.get("attachments", [])),
        "place": data.get("place", ""),
        "when": _moment(case, data.get("at"), with_time=True),
        "subject": event.note,
        "to": data.get("to", ""),
        "name": data.get("name", ""),
    }
    if event.action == EventAction.ASSIGNED and not data.get("assignee"):
        return _UNASSIGNED % values
    sentence = _SENTENCES.get(event.action)
    if sentence is None:
        return event.get_action_display()
    return sentence % values


def timeline_entries(*, case: Case) -> list[TimelineEntry]:
    """The staff's timeline of `case`, oldest first, every event in words."""
    events = case.events.select_related("actor").order_by("at", "pk")
    return [
        TimelineEntry(
            at=event.at,
            action=event.action,
            sentence=event_sentence(case, event),
            # A letter's subject and a hearing's place are in their sentence already.
            text=""
            if event.action in (EventAction.LETTER_SENT, EventAction.HEARING_SCHEDULED)
            else event.note,
        )
        for event in events
    ]
