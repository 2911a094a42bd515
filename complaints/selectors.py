"""Reads of cases for the company portal, the API and the consumer's follow link (SPEC §14)."""

from django.db.models import QuerySet

from complaints.deadlines import terms_for
from complaints.models import INTERNAL_ACTIONS, Case, CaseEvent
from register.errors import NotFound
from register.models import Register
from register.tokens import token_hash


def cases_for_company(*, company) -> QuerySet[Case]:
    return Case.objects.filter(register=company.register, company=company).select_related(
        "refers_to"
    )


def case_for_company(*, company, case_id) -> Case:
    """A case of `company`; another company's case is NotFound, never a 403 (SPEC §16)."""
    try:
        case_id = int(case_id)
    except (TypeError, ValueError):
        raise NotFound from None
    case = cases_for_company(company=company).filter(pk=case_id).first()
    if case is None:
        raise NotFound
    return case


def case_for_public_token(*, register: Register, token: str) -> Case:
    if not token:
        raise NotFound
    case = Case.objects.filter(register=register, public_token_hash=token_hash(token)).first()
    if case is None:
        raise NotFound
    return case


def case_due(*, case: Case) -> dict[str, str | None]:
    """The dates the operator (and, for `reaction_by`, the user) must meet, as ISO dates; None
    for a term that has not started (SPEC §16 `due`)."""
    due = {}
    for term in terms_for(case.kind):
        day = getattr(case, term.name)
        due[term.name] = day.isoformat() if day else None
    return due


def case_timeline(*, case: Case) -> QuerySet[CaseEvent]:
    """The timeline the filer sees: without the desk's own work (assignments, internal notes)."""
    return (
        case.events.exclude(action__in=INTERNAL_ACTIONS)
        .select_related("actor")
        .order_by("at", "pk")
    )
