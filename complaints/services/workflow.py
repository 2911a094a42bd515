"""The steps of a case (SPEC §14, seed 003): the state machine (`STEPS`) and one service per
step. Each locks the case, checks the step, writes its `CaseEvent`, recomputes the due dates and,
where the step writes to the user, a `Letter`."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Admissibility, Case, CaseKind, EventAction, LetterKind, Stage
from complaints.services.filing import attachments_check, attachments_save
from complaints.services.letters import letter_write
from complaints.services.timeline import case_event, case_lock, due_refresh
from register.audit import log_action
from register.errors import DomainError


@dataclass(frozen=True)
class Step:
    label: str
    kinds: frozenset[str]
    sources: frozenset[str]
    target: str | None  # None: the stage stays


_BOARD_OPEN = frozenset({
    Stage.RECEIVED, Stage.FORWARDED, Stage.ACKNOWLEDGED, Stage.DIRECTOR_INFORMED,
    Stage.POSITION_RECEIVED, Stage.HEARING_SCHEDULED, Stage.POSITION_SENT,
    Stage.REACTION_RECEIVED,
})  # fmt: skip
_DIRECTOR_OPEN = frozenset({Stage.RECEIVED, Stage.ACKNOWLEDGED})
_C, _D, _R = CaseKind.COMPLAINT, CaseKind.DISPUTE, CaseKind.REQUEST
# A violation report takes a request's steps: the service desk answers it, then closes it.
_V = CaseKind.REPORT

# Which step each kind of case may take from which stage, and where it leads. The admin shows
# only the steps allowed now; a service called for another raises DomainError("wrong_step").
STEPS: dict[str, Step] = {
    "acknowledge": Step(
        _("Acknowledge"), frozenset({_C, _D}), frozenset({Stage.RECEIVED, Stage.FORWARDED}),
        Stage.ACKNOWLEDGED,
    ),
    "decide": Step(
        _("Decide"), frozenset({_R, _V, _C}), _DIRECTOR_OPEN, Stage.DECIDED,
    ),
    "declare_inadmissible": Step(
        _("Declare inadmissible"), frozenset({_C, _D}), _DIRECTOR_OPEN | _BOARD_OPEN,
        Stage.INADMISSIBLE,
    ),
    "excuse_lateness": Step(
        _("Admit the late filing"), frozenset({_C, _D}), _DIRECTOR_OPEN | _BOARD_OPEN, None,
    ),
    "forward_to_board": Step(
        _("Forward to the board"), frozenset({_D}), frozenset({Stage.RECEIVED}), Stage.FORWARDED,
    ),
    "inform_director": Step(
        _("Inform the director"), frozenset({_D}),
        frozenset({Stage.RECEIVED, Stage.FORWARDED, Stage.ACKNOWLEDGED}),
        Stage.DIRECTOR_INFORMED,
    ),
    "set_position_deadline": Step(
        _("Set the director's position deadline"), frozenset({_D}),
        frozenset({Stage.DIRECTOR_INFORMED}), None,
    ),
    "record_position": Step(
        _("Record the director's position"), frozenset({_D}),
        frozenset({Stage.DIRECTOR_INFORMED}), Stage.POSITION_RECEIVED,
    ),
    "schedule_hearing": Step(
        _("Schedule a hearing"), frozenset({_D}),
        frozenset({
            Stage.POSITION_RECEIVED, Stage.HEARING_SCHEDULED, Stage.POSITION_SENT,
            Stage.REACTION_RECEIVED,
        }),
        Stage.HEARING_SCHEDULED,
    ),
    "send_position": Step(
        _("Send the position to the user"), frozenset({_D}),
        frozenset({Stage.POSITION_RECEIVED}), Stage.POSITION_SENT,
    ),
    "record_reaction": Step(
        _("Record the user's reaction"), frozenset({_D}), frozenset({Stage.POSITION_SENT}),
        Stage.REACTION_RECEIVED,
    ),
    "board_decide": Step(
        _("Board decides"), frozenset({_D}),
        frozenset({Stage.HEARING_SCHEDULED, Stage.POSITION_SENT, Stage.REACTION_RECEIVED}),
        Stage.DECIDED,
    ),
    "close": Step(
        _("Close"), frozenset({_R, _V, _C, _D}), frozenset({Stage.DECIDED, Stage.INADMISSIBLE}),
        Stage.CLOSED,
    ),
}  # fmt: skip


def case_steps(*, case: Case) -> list[str]:
    """The steps staff may take on `case` now, in the order of the workflow."""
    return [
        name
        for name, step in STEPS.items()
        if case.kind in step.kinds
        and case.stage in step.sources
        and (name != "excuse_lateness" or case.admissibility == Admissibility.LATE)
    ]


def _check_step(case: Case, name: str) -> Step:
    step = STEPS[name]
    if name not in case_steps(case=case):
        raise DomainError(
            _("“%(step)s” is not a step a %(kind)s can take at the stage “%(stage)s”.")
            % {
                "step": step.label,
                "kind": case.get_kind_display(),
                "stage": case.get_stage_display(),
            },
            code="wrong_step",
        )
    return step


# The steps


def _advance(
    case: Case,
    name: str,
    *,
    by,
    action: str,
    note: str = "",
    data: dict | None = None,
    fields: dict | None = None,
) -> Case:
    """Checks and takes one step on a locked case: new stage, fields, event, due dates."""
    step = _check_step(case, name)
    fields = fields or {}
    for field, value in fields.items():
        setattr(case, field, value)
    stage_before = case.stage
    if step.target is not None:
        case.stage = step.target
    case.save(update_fields=[*fields, "stage"])
    case_event(case, action, by, note=note, data=data)
    log_action(
        register=case.register,
        actor=by,
        action="case.step",
        target=case,
        data={"step": name, "from": stage_before, "to": case.stage, "details": data or {}},
    )
    due_refresh(case)
    return case


def _required(text: str, message) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError(message, code="text_required")
    return text


def case_acknowledge(*, case: Case, by) -> Case:
    """The director's acknowledgement of a complaint (art. 3.2) or the board's of a dispute
    (art. 5.2), with a letter to the user."""
    with transaction.atomic():
        case = case_lock(case)
        _advance(case, "acknowledge", by=by, action=EventAction.ACKNOWLEDGED)
        template = (
            "complaint_acknowledgement"
            if case.kind == CaseKind.COMPLAINT
            else "dispute_acknowledgement"
        )
        letter_write(case, LetterKind.ACKNOWLEDGEMENT, template)
    return case


def case_decide(*, case: Case, motivation: str, by) -> Case:
    """The answer to a request (art. 2.1) or the director's motivated decision on a complaint
    (art. 4.1), mailed to the user."""
    motivation = _required(motivation, _("Write the motivation of the decision."))
    with transaction.atomic():
        case = case_lock(case)
        _advance(
            case,
            "decide",
            by=by,
            action=EventAction.DECIDED,
            note=motivation,
            fields={"decision": motivation, "decided_at": timezone.now()},
        )
        if case.kind in (CaseKind.REQUEST, CaseKind.REPORT):
            letter_write(case, LetterKind.ANSWER, "answer")
        else:
            letter_write(case, LetterKind.DECISION, "complaint_decision")
    return case


def case_declare_inadmissible(*, case: Case, reason: str, by) -> Case:
    """Not admissible: late, not written or not motivated (arts 4.2, 5.4), with the reason."""
    reason = _required(reason, _("Give the reason the case is inadmissible."))
    with transaction.atomic():
        case = case_lock(case)
        _advance(
            case,
            "declare_inadmissible",
            by=by,
            action=EventAction.DECLARED_INADMISSIBLE,
            note=reason,
            fields={"decision": reason, "decided_at": timezone.now()},
        )
        letter_write(case, LetterKind.INADMISSIBLE, "inadmissible")
    return case


def case_excuse_lateness(*, case: Case, reason: str, by) -> Case:
    """Admits a late complaint or dispute because filing in time could not reasonably be
    expected of the user (arts 4.2, 5.4); the reason is recorded."""
    reason = _required(reason, _("Give the reason the late filing is admitted."))
    with transaction.atomic():
        case = case_lock(case)
        _advance(
            case,
            "excuse_lateness",
            by=by,
            action=EventAction.LATENESS_EXCUSED,
            note=reason,
            fields={"admissibility": Admissibility.EXCUSED, "excuse_reason": reason},
        )
    return case


def case_forward_to_board(*, case: Case, by) -> Case:
    with transaction.atomic():
        case = case_lock(case)
        _advance(case, "forward_to_board", by=by, action=EventAction.FORWARDED)
    return case


def case_inform_director(*, case: Case, by) -> Case:
    """The board informs the director, who has 2 weeks for a written position (art. 5.5)."""
    with transaction.atomic():
        case = case_lock(case)
        _advance(case, "inform_director", by=by, action=EventAction.DIRECTOR_INFORMED)
    return case


def case_set_position_deadline(*, case: Case, position_by: datetime.date, by) -> Case:
    """The board gives the director until `position_by`; never less than the 2 weeks of art. 5.5
    (a longer term is the board's call under art. 6)."""
    with transaction.atomic():
        case = case_lock(case)
        _check_step(case, "set_position_deadline")
        if case.position_by is not None and position_by < case.position_by:
            raise DomainError(
                _("The director has at least 2 weeks: not before %(date)s.")
                % {"date": case.position_by.isoformat()},
                code="position_deadline_too_early",
            )
        _advance(
            case,
            "set_position_deadline",
            by=by,
            action=EventAction.POSITION_DEADLINE_SET,
            data={"position_by": position_by.isoformat()},
        )
    return case


def case_record_position(*, case: Case, position: str, by, attachments: Iterable = ()) -> Case:
    position = _required(position, _("Write the director's position."))
    files = attachments_check(attachments)
    with transaction.atomic():
        case = case_lock(case)
        _advance(
            case,
            "record_position",
            by=by,
            action=EventAction.POSITION_RECORDED,
            note=position,
            fields={"position": position},
        )
        attachments_save(case, files, by)
    return case


def case_schedule_hearing(*, case: Case, place: str, at: datetime.datetime, by) -> Case:
    """The board hears both parties: place, day and hour, sent to the user (art. 5.6)."""
    place = _required(place, _("Give the place of the hearing."))
    if at <= timezone.now():
        raise DomainError(_("The hearing must lie in the future."), code="hearing_in_past")
    with transaction.atomic():
        case = case_lock(case)
        _advance(
            case,
            "schedule_hearing",
            by=by,
            action=EventAction.HEARING_SCHEDULED,
            note=place,
            data={"place": place, "at": at.isoformat()},
            fields={"hearing_place": place, "hearing_at": at},
        )
        letter_write(case, LetterKind.HEARING, "hearing")
    return case


def case_send_position_to_user(*, case: Case, by) -> Case:
    """Without a hearing, the director's position goes to the user, who has 2 weeks to react
    (art. 5.7)."""
    with transaction.atomic():
        case = case_lock(case)
        _advance(case, "send_position", by=by, action=EventAction.POSITION_SENT)
        letter_write(case, LetterKind.POSITION, "position")
    return case


def case_record_reaction(*, case: Case, reaction: str, by, attachments: Iterable = ()) -> Case:
    reaction = _required(reaction, _("Write the user's reaction."))
    files = attachments_check(attachments)
    with transaction.atomic():
        case = case_lock(case)
        _advance(
            case, "record_reaction", by=by, action=EventAction.REACTION_RECORDED, note=reaction
        )
        attachments_save(case, files, by)
    return case


def case_board_decide(*, case: Case, motivation: str, by) -> Case:
    """The board's decision (art. 5.8). After the position went to the user, only once the user
    reacted or the 2 weeks to react have passed (art. 5.7)."""
    motivation = _required(motivation, _("Write the motivation of the decision."))
    with transaction.atomic():
        case = case_lock(case)
        if (
            case.stage == Stage.POSITION_SENT
            and case.reaction_by is not None
            and case.register.today() <= case.reaction_by
        ):
            raise DomainError(
                _("The user may react until %(date)s: record the reaction or wait until then.")
                % {"date": case.reaction_by.isoformat()},
                code="reaction_term_running",
            )
        _advance(
            case,
            "board_decide",
            by=by,
            action=EventAction.BOARD_DECIDED,
            note=motivation,
            fields={"decision": motivation, "decided_at": timezone.now()},
        )
        letter_write(case, LetterKind.BOARD_DECISION, "board_decision")
    return case


def case_close(*, case: Case, by) -> Case:
    with transaction.atomic():
        case = case_lock(case)
        _advance(case, "close", by=by, action=EventAction.CLOSED)
    return case
