"""The desk's own work on a case, never shown to the filer: who handles it, internal notes, and
the reply templates staff start a letter's text from."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from complaints.models import Case, EventAction, ReplyTemplate
from complaints.services.timeline import case_event, case_lock
from register.audit import log_action
from register.errors import DomainError


def case_assign(*, case: Case, assignee, by) -> Case:
    """Gives the case to `assignee`, one of the register's staff, or to nobody (None)."""
    if assignee is not None and not case.register.staff.filter(pk=assignee.pk).exists():
        raise DomainError(
            _("Only staff of this register can handle its cases."), code="not_register_staff"
        )
    with transaction.atomic():
        case = case_lock(case)
        if case.assignee_id == (assignee.pk if assignee else None):
            return case
        case.assignee = assignee
        case.save(update_fields=["assignee"])
        data = {"assignee": assignee.pk if assignee else None, "name": _staff_name(assignee)}
        case_event(case, EventAction.ASSIGNED, by, data=data)
        log_action(register=case.register, actor=by, action="case.assigned", target=case, data=data)
    return case


def case_note_add(*, case: Case, text: str, by) -> Case:
    """An internal note on the timeline: for staff only, never in a letter or to the filer."""
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write the note."), code="text_required")
    with transaction.atomic():
        case = case_lock(case)
        case_event(case, EventAction.NOTE, by, note=text)
    return case


def reply_templates_for(*, case: Case, step: str) -> list[ReplyTemplate]:
    """The register's templates for `step` and the case's kind, those in the case's language
    first."""
    templates = ReplyTemplate.objects.filter(register=case.register, step=step).filter(
        Q(kind="") | Q(kind=case.kind)
    )
    return sorted(templates, key=lambda t: (t.language != case.language, t.language, t.title))


def _staff_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.email or user.get_username()
