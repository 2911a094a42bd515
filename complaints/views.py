"""Requests, complaints and disputes from the user's side (SPEC §14): the consumer's public form
and follow page, and the company portal's cases. Thin: forms read, services and selectors work.
"""

from datetime import date

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from complaints.deadlines import terms_for
from complaints.forms import PortalCaseForm, PublicCaseForm, ReportForm
from complaints.models import Admissibility, Case, CaseChannel, CaseKind
from complaints.selectors import (
    case_due,
    case_for_company,
    case_for_public_token,
    case_timeline,
    cases_for_company,
)
from complaints.services import (
    case_file,
    case_filing_check,
    case_public_link_send,
    report_file,
)
from licences.middleware import STAFF, company_required
from register.errors import DomainError, NotFound

# The dates of `case_due`, in the order they fall, as the filer reads them.
DUE_LABELS = {
    "handle_by": _("Handled by"),
    "acknowledge_by": _("Acknowledged by"),
    "position_by": _("Director's position by"),
    "reaction_by": _("Your reaction by"),
    "decide_by": _("Decision by"),
}
# After which kind of case its filer may take the next step of the regulation (art. 2.2, 4.3).
NEXT_KIND = {CaseKind.REQUEST: CaseKind.COMPLAINT, CaseKind.COMPLAINT: CaseKind.DISPUTE}


def public_file_rate(group, request) -> str:
    return settings.COMPLAINTS_PUBLIC_RATE


# Where a refusal of `case_file` belongs on the form; the others are about the whole filing.
ERROR_FIELDS = {
    "too_many_attachments": "attachments",
    "attachment_too_large": "attachments",
    "invalid_refers_to": "refers_to",
    "not_found": "refers_to",
    "motivation_required": "body",
}


def _late_unexplained(request, form) -> bool:
    """A late complaint or dispute without a reason is shown once more with the reason's field
    opened: the director or board may admit it when filing sooner could not reasonably be
    expected (arts 4.2, 5.4), so the filer should be asked before it is filed as it is."""
    data = form.cleaned_data
    if data["kind"] == CaseKind.REQUEST or not data["refers_to"] or data["late_reason"]:
        return False
    if request.POST.get("late_seen"):
        return False
    filing = case_filing_check(
        kind=data["kind"],
        refers_to=data["refers_to"],
        filed_on=request.register.today(),
    )
    if filing is None or filing.admissibility != Admissibility.LATE:
        return False
    form.add_error(
        "late_reason",
        _(
            "The term for this ended on %(date)s. If you could not reasonably file sooner, say "
            "why here; otherwise send it as it is."
        )
        % {"date": date_format(filing.file_by)},
    )
    return True


def _file(request, form, **filer):
    """Files the form's case; a refusal (too early, a wrong chain, too many files) becomes the
    form's error."""
    data = form.cleaned_data
    try:
        if _late_unexplained(request, form):
            return None
        return case_file(
            register=request.register,
            kind=data["kind"],
            subject=data["subject"],
            body=form.filing_body(),
            refers_to=data["refers_to"] or None,
            attachments=data["attachments"],
            late_reason=data["late_reason"],
            language=request.LANGUAGE_CODE,
            **filer,
        )
    except DomainError as error:
        form.add_error(ERROR_FIELDS.get(error.code), error.message)
        return None


def _follow_up_initial(request) -> dict:
    """`?kind=complaint&refers_to=12`: the case page's "not satisfied?" link fills both in."""
    return {"kind": request.GET.get("kind", ""), "refers_to": request.GET.get("refers_to", "")}


def _due_rows(case, events) -> list[dict]:
    """The dates still ahead: those of terms that have started and whose step has not come."""
    due, done = case_due(case=case), {event.action for event in events}
    rows = [
        {"label": DUE_LABELS[term.name], "date": date.fromisoformat(due[term.name])}
        for term in terms_for(case.kind)
        if due.get(term.name) and not term.met_by & done
    ]
    return sorted(rows, key=lambda row: row["date"])


def _case_page_context(case) -> dict:
    events = list(case_timeline(case=case))
    return {
        "case": case,
        "due_rows": _due_rows(case, events),
        # Every step, without staff's notes: the letters tell the user what the steps mean.
        "events": events,
        "letters": case.letters.filter(sent_at__isnull=False).order_by("sent_at"),
        "attachments": case.attachments.order_by("at", "pk"),
    }


def _download(file_field, *, filename: str, content_type: str):
    """Files of a case are never shown inline: the browser saves them (SPEC §17)."""
    if not file_field:
        raise Http404
    response = FileResponse(
        file_field.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _letter_download(case, letter_id: int):
    letter = case.letters.filter(pk=letter_id, sent_at__isnull=False).first()
    if letter is None:
        raise Http404
    return _download(
        letter.pdf,
        filename=f"{case.pk}-{letter.kind}-{letter.pk}.pdf",
        content_type="application/pdf",
    )


def _attachment_download(case, attachment_id: int):
    attachment = case.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    # Whatever the uploader claimed the type to be: a browser must not render it.
    return _download(
        attachment.file, filename=attachment.name, content_type="application/octet-stream"
    )


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=public_file_rate, method="POST", block=False, group="complaints.file")
def public_new(request):
    form = PublicCaseForm(
        request.POST or None,
        request.FILES or None,
        register=request.register,
        initial=_follow_up_initial(request),
    )
    if request.method == "POST":
        if request.limited:
            return render(request, "register/rate_limited.html", status=429)
        if form.is_valid():
            case = _file(
                request,
                form,
                filer_name=form.cleaned_data["name"],
                filer_email=form.cleaned_data["email"],
                filer_phone=form.cleaned_data["phone"],
                channel=CaseChannel.PUBLIC,
            )
            if case is not None:
                case_public_link_send(
                    case=case,
                    follow_url_for=lambda token: request.build_absolute_uri(
                        reverse("complaints:follow", args=[token])
                    ),
                )
                return render(
                    request,
                    "complaints/public_filed.html",
                    {"case": case, "due_rows": _due_rows(case, case_timeline(case=case))},
                )
    return render(request, "complaints/public_form.html", {"form": form})


def _public_case(request, token: str):
    try:
        return case_for_public_token(register=request.register, token=token)
    except NotFound:
        raise Http404 from None


@require_http_methods(["GET"])
@never_cache
def public_follow(request, token: str):
    case = _public_case(request, token)
    return render(
        request,
        "complaints/public_follow.html",
        {**_case_page_context(case), "token": token, "next_kind": NEXT_KIND.get(case.kind)},
    )


@require_http_methods(["GET"])
def public_letter(request, token: str, letter_id: int):
    case = _public_case(request, token)
    return _letter_download(case, letter_id)


@require_http_methods(["GET"])
def public_attachment(request, token: str, attachment_id: int):
    case = _public_case(request, token)
    return _attachment_download(case, attachment_id)


def _company_case(request, case_id: int):
    try:
        return case_for_company(company=request.company, case_id=case_id)
    except NotFound:
        raise Http404 from None


@require_http_methods(["GET"])
@company_required(STAFF)
def portal_list(request):
    return render(
        request,
        "complaints/portal_list.html",
        {"cases": cases_for_company(company=request.company), "due_labels": DUE_LABELS},
    )


@require_http_methods(["GET", "POST"])
@company_required(STAFF)
def portal_new(request):
    cases = cases_for_company(company=request.company)
    form = PortalCaseForm(
        request.POST or None,
        request.FILES or None,
        cases=cases,
        initial={**_follow_up_initial(request), "phone": request.company.phone},
    )
    if request.method == "POST" and form.is_valid():
        case = _file(
            request,
            form,
            company=request.company,
            user=request.user,
            filer_name=request.user.get_full_name() or request.user.email,
            filer_email=request.user.email,
            filer_phone=form.cleaned_data["phone"],
            channel=CaseChannel.PORTAL,
        )
        if case is not None:
            return redirect("complaints:detail", case.pk)
    return render(request, "complaints/portal_form.html", {"form": form})


@require_http_methods(["GET"])
@company_required(STAFF)
def portal_detail(request, case_id: int):
    case = _company_case(request, case_id)
    return render(
        request,
        "complaints/portal_detail.html",
        {**_case_page_context(case), "next_kind": NEXT_KIND.get(case.kind)},
    )


@require_http_methods(["GET"])
@company_required(STAFF)
def portal_letter(request, case_id: int, letter_id: int):
    case = _company_case(request, case_id)
    return _letter_download(case, letter_id)


@require_http_methods(["GET"])
@company_required(STAFF)
def portal_attachment(request, case_id: int, attachment_id: int):
    case = _company_case(request, case_id)
    return _attachment_download(case, attachment_id)


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=public_file_rate, method="POST", block=False, group="complaints.report")
def report_new(request):
    """ "I was called despite my registration" (issue #14): filed as a case of kind `report`."""
    form = ReportForm(request.POST or None, register=request.register)
    if request.method == "POST":
        if request.limited:
            return render(request, "register/rate_limited.html", status=429)
        if form.is_valid():
            data = form.cleaned_data
            try:
                report = report_file(
                    register=request.register,
                    number=data["number"],
                    called_at=data["called_at"],
                    company_named=data["company_named"],
                    caller_name=data["caller_name"],
                    caller_number=data["caller_number"],
                    offered=data["offered"],
                    body=data["body"],
                    filer_name=data["name"],
                    filer_email=data["email"],
                    language=request.LANGUAGE_CODE,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                case = report.case
                case_public_link_send(
                    case=case,
                    follow_url_for=lambda token: request.build_absolute_uri(
                        reverse("complaints:follow", args=[token])
                    ),
                )
                # The answer page names the case; a reload must not file it again.
                request.session["report_filed"] = case.pk
                return redirect("complaints:report_filed")
    return render(request, "complaints/report_form.html", {"form": form})


@require_http_methods(["GET"])
def report_filed(request):
    case_id = request.session.get("report_filed")
    if case_id is None:
        return redirect("complaints:report")
    try:
        case = Case.objects.get(register=request.register, pk=case_id)
    except Case.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "complaints/public_filed.html",
        {"case": case, "due_rows": _due_rows(case, case_timeline(case=case))},
    )
