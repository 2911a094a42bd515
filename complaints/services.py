"""Writes for requests, complaints and disputes (SPEC §14, seed 003).

Every service owns its transaction, locks the case, checks the step against the state machine
(`STEPS`), writes an append-only `CaseEvent` with the actor, recomputes the stored due dates and,
where the step writes to the user, a `Letter`: rendered in the filer's language, mailed with its
PDF by a Celery task queued with `transaction.on_commit`. Callers set the register scope.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from complaints.deadlines import (
    DUE_FIELDS,
    Filing,
    Start,
    complaint_filing,
    dispute_filing,
    due_dates,
    next_deadline,
    pending_terms,
)
from complaints.models import (
    OPEN_STAGES,
    Admissibility,
    Case,
    CaseAttachment,
    CaseChannel,
    CaseEvent,
    CaseKind,
    DeadlineReminder,
    EventAction,
    Letter,
    LetterKind,
    ReminderKind,
    Stage,
)
from register.calendar import working_days_after
from register.errors import DomainError, NotFound
from register.models import Register
from register.tokens import token_hash

logger = logging.getLogger(__name__)

MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
STAFF_CHANNELS = {CaseChannel.POST, CaseChannel.EMAIL}
REFERS_TO_KIND = {CaseKind.COMPLAINT: CaseKind.REQUEST, CaseKind.DISPUTE: CaseKind.COMPLAINT}


# The state machine


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

# Which step each kind of case may take from which stage, and where it leads. The admin shows
# only the steps allowed now; a service called for another raises DomainError("wrong_step").
STEPS: dict[str, Step] = {
    "acknowledge": Step(
        _("Acknowledge"), frozenset({_C, _D}), frozenset({Stage.RECEIVED, Stage.FORWARDED}),
        Stage.ACKNOWLEDGED,
    ),
    "decide": Step(
        _("Decide"), frozenset({_R, _C}), _DIRECTOR_OPEN, Stage.DECIDED,
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
        _("Close"), frozenset({_R, _C, _D}), frozenset({Stage.DECIDED, Stage.INADMISSIBLE}),
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


# Dates


def register_date(register: Register, moment: datetime.datetime) -> datetime.date:
    """Terms are counted in calendar days of the register's own time zone."""
    return timezone.localtime(moment, ZoneInfo(register.time_zone)).date()


def register_today(register: Register) -> datetime.date:
    return register_date(register, timezone.now())


def _refresh_due(case: Case) -> None:
    """Recomputes the stored due dates and the next deadline from the case's events."""
    register = case.register
    events = list(case.events.order_by("at", "pk"))
    starts = {Start.RECEIVED: register_date(register, case.received_at)}
    overrides = {}
    for event in events:
        if event.action == EventAction.DIRECTOR_INFORMED:
            starts[Start.DIRECTOR_INFORMED] = register_date(register, event.at)
        elif event.action == EventAction.POSITION_SENT:
            starts[Start.POSITION_SENT] = register_date(register, event.at)
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
    return register_date(case.register, case.decided_at)


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


# Filing


def _event(case: Case, action: str, by=None, note: str = "", data: dict | None = None) -> CaseEvent:
    return CaseEvent.objects.create(
        register=case.register, case=case, actor=by, action=action, note=note, data=data or {}
    )


def _check_attachments(files) -> list:
    files = list(files)
    if len(files) > MAX_ATTACHMENTS:
        raise DomainError(
            _("At most %(count)d attachments per case.") % {"count": MAX_ATTACHMENTS},
            code="too_many_attachments",
        )
    for upload in files:
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise DomainError(
                _("%(name)s is larger than %(size)d MB.")
                % {"name": upload.name, "size": MAX_ATTACHMENT_BYTES // (1024 * 1024)},
                code="attachment_too_large",
                status=413,
            )
    return files


def _attach(case: Case, files: list, by) -> list[CaseAttachment]:
    attachments = []
    for upload in files:
        attachment = CaseAttachment(
            register=case.register,
            case=case,
            name=(upload.name or "attachment").rsplit("/", 1)[-1][:200],
            content_type=(getattr(upload, "content_type", "") or "")[:100],
            size=upload.size,
            uploaded_by=by,
        )
        attachment.file.save(attachment.name, upload, save=False)
        attachment.save()
        attachments.append(attachment)
    if attachments:
        _event(
            case,
            EventAction.ATTACHED,
            by,
            data={"attachments": [attachment.name for attachment in attachments]},
        )
    return attachments


def _letter_language(register: Register, language: str) -> str:
    for candidate in (language, translation.get_language()):
        if candidate and candidate.split("-")[0] in register.languages:
            return candidate.split("-")[0]
    return register.default_language


def case_file(
    *,
    register: Register,
    kind: str,
    subject: str,
    body: str,
    filer_email: str,
    filer_name: str = "",
    company=None,
    user=None,
    refers_to: Case | None = None,
    channel: str,
    received_at: datetime.datetime | None = None,
    attachments: Iterable = (),
    late_reason: str = "",
    language: str = "",
    recorded_by=None,
) -> Case:
    """Files a request, complaint or dispute, or records one received by post or e-mail.

    A complaint refers to its request, a dispute to its complaint. Filing before the regulation
    allows it raises `TooEarly` (code `too_early`, with the day from which it is allowed); a
    late one is filed and marked late: staff declare it inadmissible or admit it (arts 4.2, 5.4).
    Post and e-mail need `received_at`, the real moment of receipt. `language` is the filer's
    for the letters; by default the active language when the register offers it.
    """
    if kind not in CaseKind.values:
        raise DomainError(_("Unknown kind of case."), code="invalid_kind")
    if channel not in CaseChannel.values:
        raise DomainError(_("Unknown channel."), code="invalid_channel")
    if not subject.strip() or not body.strip():
        # Complaints and disputes are only handled when motivated (arts 3.1, 5.1).
        raise DomainError(_("Give a subject and explain the case."), code="motivation_required")
    if channel in STAFF_CHANNELS and received_at is None:
        raise DomainError(
            _("Give the date the post or e-mail was received."), code="received_at_required"
        )
    now = timezone.now()
    received_at = received_at or now
    if received_at > now:
        raise DomainError(_("The date of receipt lies in the future."), code="received_in_future")
    files = _check_attachments(attachments)

    filing = None
    if kind == CaseKind.REQUEST:
        refers_to = None
    elif refers_to is not None:
        # Judged on the earlier case as stored now, not as the caller last loaded it.
        refers_to = Case.objects.filter(pk=refers_to.pk, register=register).first()
        if refers_to is None or (company is not None and refers_to.company_id != company.pk):
            raise NotFound
        if refers_to.kind != REFERS_TO_KIND[kind]:
            raise DomainError(
                _("A complaint refers to a request, a dispute to a complaint."),
                code="invalid_refers_to",
            )
        filing = case_filing_check(
            kind=kind, refers_to=refers_to, filed_on=register_date(register, received_at)
        )

    with transaction.atomic():
        case = Case.objects.create(
            register=register,
            kind=kind,
            refers_to=refers_to,
            company=company,
            user=user,
            filer_name=filer_name.strip(),
            filer_email=filer_email.strip(),
            language=_letter_language(register, language),
            subject=subject.strip(),
            body=body.strip(),
            channel=channel,
            received_at=received_at,
            admissibility=filing.admissibility if filing else Admissibility.UNCHECKED,
            file_by=filing.file_by if filing else None,
            late_reason=late_reason.strip(),
        )
        _event(
            case,
            EventAction.RECORDED if channel in STAFF_CHANNELS else EventAction.FILED,
            recorded_by or user,
            data={
                "channel": channel,
                "received_at": received_at.isoformat(),
                **({"article": filing.article} if filing else {}),
            },
        )
        _attach(case, files, recorded_by or user)
        _refresh_due(case)
    return case


def case_attach(*, case: Case, files: Iterable, by) -> list[CaseAttachment]:
    """Adds documents to a case (the filer's later post, the director's position, …)."""
    files = _check_attachments(files)
    with transaction.atomic():
        case = _lock(case)
        return _attach(case, files, by)


def case_public_link(*, case: Case) -> str:
    """A new token for the consumer's follow link; only its hash is kept, so an earlier link
    stops working."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        case = _lock(case)
        case.public_token_hash = token_hash(token)
        case.save(update_fields=["public_token_hash"])
    return token


def case_public_link_send(*, case: Case, follow_url_for: Callable[[str], str]) -> None:
    """Makes a new follow link and mails it to the filer once the link is stored.

    `follow_url_for(token)` builds the absolute URL: only the caller knows the host the filer used.
    """
    with transaction.atomic():
        follow_url = follow_url_for(case_public_link(case=case))
        context = {"case": case, "register": case.register, "follow_url": follow_url}
        with translation.override(case.language or case.register.default_language):
            subject = render_to_string("complaints/email/follow_link_subject.txt", context)
            body = render_to_string("complaints/email/follow_link_body.txt", context)
        message = EmailMessage(
            subject.strip(), body, settings.DEFAULT_FROM_EMAIL, [case.filer_email]
        )
        transaction.on_commit(message.send)


# Steps


def _lock(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("register", "refers_to")
        .get(pk=case.pk)
    )


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
    if step.target is not None:
        case.stage = step.target
    case.save(update_fields=[*fields, "stage"])
    _event(case, action, by, note=note, data=data)
    _refresh_due(case)
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
        case = _lock(case)
        _advance(case, "acknowledge", by=by, action=EventAction.ACKNOWLEDGED)
        template = (
            "complaint_acknowledgement"
            if case.kind == CaseKind.COMPLAINT
            else "dispute_acknowledgement"
        )
        _letter(case, LetterKind.ACKNOWLEDGEMENT, template)
    return case


def case_decide(*, case: Case, motivation: str, by) -> Case:
    """The answer to a request (art. 2.1) or the director's motivated decision on a complaint
    (art. 4.1), mailed to the user."""
    motivation = _required(motivation, _("Write the motivation of the decision."))
    with transaction.atomic():
        case = _lock(case)
        _advance(
            case,
            "decide",
            by=by,
            action=EventAction.DECIDED,
            note=motivation,
            fields={"decision": motivation, "decided_at": timezone.now()},
        )
        if case.kind == CaseKind.REQUEST:
            _letter(case, LetterKind.ANSWER, "answer")
        else:
            _letter(case, LetterKind.DECISION, "complaint_decision")
    return case


def case_declare_inadmissible(*, case: Case, reason: str, by) -> Case:
    """Not admissible: late, not written or not motivated (arts 4.2, 5.4), with the reason."""
    reason = _required(reason, _("Give the reason the case is inadmissible."))
    with transaction.atomic():
        case = _lock(case)
        _advance(
            case,
            "declare_inadmissible",
            by=by,
            action=EventAction.DECLARED_INADMISSIBLE,
            note=reason,
            fields={"decision": reason, "decided_at": timezone.now()},
        )
        _letter(case, LetterKind.INADMISSIBLE, "inadmissible")
    return case


def case_excuse_lateness(*, case: Case, reason: str, by) -> Case:
    """Admits a late complaint or dispute because filing in time could not reasonably be
    expected of the user (arts 4.2, 5.4); the reason is recorded."""
    reason = _required(reason, _("Give the reason the late filing is admitted."))
    with transaction.atomic():
        case = _lock(case)
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
        case = _lock(case)
        _advance(case, "forward_to_board", by=by, action=EventAction.FORWARDED)
    return case


def case_inform_director(*, case: Case, by) -> Case:
    """The board informs the director, who has 2 weeks for a written position (art. 5.5)."""
    with transaction.atomic():
        case = _lock(case)
        _advance(case, "inform_director", by=by, action=EventAction.DIRECTOR_INFORMED)
    return case


def case_set_position_deadline(*, case: Case, position_by: datetime.date, by) -> Case:
    """The board gives the director until `position_by`; never less than the 2 weeks of art. 5.5
    (a longer term is the board's call under art. 6)."""
    with transaction.atomic():
        case = _lock(case)
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
    files = _check_attachments(attachments)
    with transaction.atomic():
        case = _lock(case)
        _advance(
            case,
            "record_position",
            by=by,
            action=EventAction.POSITION_RECORDED,
            note=position,
            fields={"position": position},
        )
        _attach(case, files, by)
    return case


def case_schedule_hearing(*, case: Case, place: str, at: datetime.datetime, by) -> Case:
    """The board hears both parties: place, day and hour, sent to the user (art. 5.6)."""
    place = _required(place, _("Give the place of the hearing."))
    if at <= timezone.now():
        raise DomainError(_("The hearing must lie in the future."), code="hearing_in_past")
    with transaction.atomic():
        case = _lock(case)
        _advance(
            case,
            "schedule_hearing",
            by=by,
            action=EventAction.HEARING_SCHEDULED,
            note=place,
            data={"place": place, "at": at.isoformat()},
            fields={"hearing_place": place, "hearing_at": at},
        )
        _letter(case, LetterKind.HEARING, "hearing")
    return case


def case_send_position_to_user(*, case: Case, by) -> Case:
    """Without a hearing, the director's position goes to the user, who has 2 weeks to react
    (art. 5.7)."""
    with transaction.atomic():
        case = _lock(case)
        _advance(case, "send_position", by=by, action=EventAction.POSITION_SENT)
        _letter(case, LetterKind.POSITION, "position")
    return case


def case_record_reaction(*, case: Case, reaction: str, by, attachments: Iterable = ()) -> Case:
    reaction = _required(reaction, _("Write the user's reaction."))
    files = _check_attachments(attachments)
    with transaction.atomic():
        case = _lock(case)
        _advance(
            case, "record_reaction", by=by, action=EventAction.REACTION_RECORDED, note=reaction
        )
        _attach(case, files, by)
    return case


def case_board_decide(*, case: Case, motivation: str, by) -> Case:
    """The board's decision (art. 5.8). After the position went to the user, only once the user
    reacted or the 2 weeks to react have passed (art. 5.7)."""
    motivation = _required(motivation, _("Write the motivation of the decision."))
    with transaction.atomic():
        case = _lock(case)
        if (
            case.stage == Stage.POSITION_SENT
            and case.reaction_by is not None
            and register_today(case.register) <= case.reaction_by
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
        _letter(case, LetterKind.BOARD_DECISION, "board_decision")
    return case


def case_close(*, case: Case, by) -> Case:
    with transaction.atomic():
        case = _lock(case)
        _advance(case, "close", by=by, action=EventAction.CLOSED)
    return case


# Letters


def _letter(case: Case, kind: str, template: str) -> Letter:
    """Writes the letter in the filer's language and queues its delivery after the commit."""
    context = {"case": case, "register": case.register}
    with translation.override(case.language):
        subject = render_to_string(f"complaints/letters/{template}_subject.txt", context).strip()
        body = render_to_string(f"complaints/letters/{template}_body.txt", context).strip()
    letter = Letter.objects.create(
        register=case.register,
        case=case,
        kind=kind,
        language=case.language,
        recipient=case.filer_email,
        subject=subject,
        body=body,
    )
    transaction.on_commit(lambda: _queue_letter(letter.pk))
    return letter


def _queue_letter(letter_id: int) -> None:
    from complaints.tasks import letter_deliver

    letter_deliver.delay(letter_id)


def letter_pdf_render(*, letter_id: int) -> Letter | None:
    """Renders and stores the PDF once; None if the letter is gone."""
    from weasyprint import HTML

    with transaction.atomic():
        letter = (
            Letter.objects.select_for_update(of=("self",))
            .select_related("case", "register")
            .filter(pk=letter_id)
            .first()
        )
        if letter is None or letter.pdf:
            return letter
        with translation.override(letter.language):
            html = render_to_string(
                "complaints/letters/letter_pdf.html",
                {"letter": letter, "case": letter.case, "register": letter.register},
            )
        pdf = HTML(string=html, base_url=str(settings.BASE_DIR / "templates")).write_pdf()
        letter.pdf.save("letter.pdf", ContentFile(pdf), save=False)
        letter.save(update_fields=["pdf"])
    return letter


def letter_mail(*, letter_id: int) -> bool:
    """Mails the letter with its PDF to the filer once; True if this call sent it.

    The row lock is held while sending, so a duplicate task waits and then finds it sent; a
    failed send rolls back `sent_at` and the task's retry sends it.
    """
    with transaction.atomic():
        letter = (
            Letter.objects.select_for_update(of=("self",))
            .select_related("case", "register")
            .filter(pk=letter_id)
            .first()
        )
        if letter is None or letter.sent_at is not None or not letter.pdf:
            return False
        message = EmailMessage(
            subject=letter.subject,
            body=letter.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[letter.recipient],
            reply_to=[letter.register.support_email],
        )
        with letter.pdf.open("rb") as pdf:
            message.attach(
                f"letter-{letter.case_id}-{letter.pk}.pdf", pdf.read(), "application/pdf"
            )
        message.send()
        letter.sent_at = timezone.now()
        letter.save(update_fields=["sent_at"])
        _event(
            letter.case,
            EventAction.LETTER_SENT,
            note=letter.subject,
            data={"letter": letter.pk, "to": letter.recipient},
        )
    return True


# Reminders (SPEC §13)

REMINDER_WORKING_DAYS = 2


def _case_pending_terms(case: Case):
    if case.stage in (Stage.DECIDED, Stage.INADMISSIBLE, Stage.CLOSED):
        return []
    due = {field: getattr(case, field) for field in DUE_FIELDS}
    done = set(case.events.values_list("action", flat=True))
    return pending_terms(kind=case.kind, due=due, done=done)


def _staff_emails(register: Register) -> list[str]:
    emails = sorted(
        {user.email for user in register.staff.filter(is_active=True, is_staff=True) if user.email}
    )
    return emails or [register.support_email]


def deadline_reminders_send(*, register: Register, today: datetime.date) -> int:
    """Mails the register's staff one list of the deadlines due within 2 working days and of
    those overdue, each (case, term, kind) once. Returns how many reminders were sent.

    The register row is locked while the list is made and mailed, so a second run at the same
    time waits and then finds them all recorded; a failed mail records none.
    """
    soon_until = working_days_after(register=register, start=today, days=REMINDER_WORKING_DAYS)
    with transaction.atomic():
        Register.objects.select_for_update().filter(pk=register.pk).first()
        cases = (
            Case.objects.filter(register=register, stage__in=OPEN_STAGES, next_due__lte=soon_until)
            .select_related("register")
            .order_by("next_due", "pk")
        )
        sent = {
            (case_id, term, kind)
            for case_id, term, kind in DeadlineReminder.objects.filter(
                register=register, case__in=cases
            ).values_list("case_id", "term", "kind")
        }
        reminders = []
        for case in cases:
            for term, due_on in _case_pending_terms(case):
                if due_on > soon_until:
                    continue
                kind = ReminderKind.OVERDUE if due_on < today else ReminderKind.DUE_SOON
                if (case.pk, term.name, kind) in sent:
                    continue
                reminders.append(
                    (
                        DeadlineReminder(
                            register=register,
                            case=case,
                            term=term.name,
                            kind=kind,
                            due_on=due_on,
                        ),
                        term,
                    )
                )
        if not reminders:
            return 0
        DeadlineReminder.objects.bulk_create([reminder for reminder, _term in reminders])
        base_url = settings.PORTAL_BASE_URL_TEMPLATE.format(host=register.hostnames[0])
        context = {
            "register": register,
            "today": today,
            "reminders": [
                {
                    "case": reminder.case,
                    "term": term,
                    "due_on": reminder.due_on,
                    "overdue": reminder.kind == ReminderKind.OVERDUE,
                    "url": f"{base_url.rstrip('/')}/admin/complaints/case/{reminder.case_id}/"
                    "change/",
                }
                for reminder, term in reminders
            ],
        }
        with translation.override(register.default_language):
            subject = render_to_string("complaints/mail/reminders_subject.txt", context).strip()
            body = render_to_string("complaints/mail/reminders_body.txt", context)
        EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=_staff_emails(register),
        ).send()
    return len(reminders)
