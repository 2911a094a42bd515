"""Call-file pages (SPEC §8): upload on a campaign, check and correct the detected settings,
follow the marking, fetch the result and the certificate. Thin views over campaigns.marking."""

import csv
import datetime
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import phonenumbers
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from campaigns.checks.selectors import checks_charge_credits
from campaigns.marking.forms import (
    DELIMITERS,
    ENCODINGS,
    NO,
    SETTINGS_FORM_ID,
    YES,
    CallFileSettingsForm,
    CallFileUploadForm,
    column_label,
    dialect_key,
)
from campaigns.marking.selectors import (
    call_file_get,
    call_file_preview,
    call_file_progress,
    call_file_result_filename,
    call_file_rows_done,
)
from campaigns.marking.services import (
    call_file_confirm,
    call_file_draft_validation,
    call_file_upload,
)
from campaigns.marking.validation import ProblemReason, call_file_problems
from campaigns.models import CallFile, CallFileStatus, FileKind
from campaigns.selectors import campaign_get
from campaigns.verdicts import Facts, verdict
from licences.middleware import STAFF, company_required
from licences.selectors import access_licence_in_force, credit_balance
from register.errors import DomainError, InsufficientStorage, NotFound
from register.forms import example_numbers
from register.phone import normalise
from register.spreadsheets import spreadsheet_safe
from uploads.intake import FileSettings, IntakeCounts, IntakeError, intake_detect

UNFINISHED = (CallFileStatus.QUEUED, CallFileStatus.RUNNING)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The charset a browser or spreadsheet knows each of the intake's encodings by.
CHARSETS = {
    "utf-8-sig": "utf-8",
    "utf-8": "utf-8",
    "cp1252": "windows-1252",
    "latin-1": "iso-8859-1",
}


def _licence(request, campaign) -> dict:
    """What pays for marking this campaign's files: its credits (nl) or the company's access
    licence (be)."""
    register = request.register
    if checks_charge_credits(register):
        return {"charges_credits": True, "balance": credit_balance(campaign=campaign)}
    return {
        "charges_credits": False,
        "access_licence": access_licence_in_force(company=request.company, today=register.today()),
    }


def _get(request, call_file_id: int) -> CallFile:
    try:
        return call_file_get(company=request.company, call_file_id=call_file_id)
    except NotFound:
        raise Http404 from None


@require_http_methods(["GET", "POST"])
@company_required(STAFF)
def call_file_new(request, campaign_id: int):
    try:
        campaign = campaign_get(company=request.company, campaign_id=campaign_id)
    except NotFound:
        raise Http404 from None
    form = CallFileUploadForm(request.POST or None, request.FILES or None)
    mobile, fixed = example_numbers(request.register.country)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                call_file = call_file_upload(
                    company=request.company,
                    campaign=campaign,
                    uploaded_by=request.user,
                    upload=upload,
                    filename=upload.name,
                    confirm=False,
                )
            except (IntakeError, InsufficientStorage) as error:
                form.add_error("file", error.message)
                status = error.status
            else:
                return redirect("call_files:preview", call_file_id=call_file.pk)
    return render(
        request,
        "campaigns/call_files/new.html",
        {
            "campaign": campaign,
            "form": form,
            "max_megabytes": settings.CALL_FILE_MAX_BYTES // (1024 * 1024),
            "max_rows": settings.CALL_FILE_MAX_ROWS,
            "mobile": mobile,
            "fixed": fixed,
            "example": _marked_example(request.register),
            **_licence(request, campaign),
        },
        status=status,
    )


def _example_number(region: str, kind, fmt, step: int = 0) -> str:
    """The number plan's example of `kind`, its last digit moved by `step` so rows differ."""
    number = phonenumbers.example_number_for_type(region, kind)
    number.national_number = number.national_number - number.national_number % 10 + step % 10
    return phonenumbers.format_number(number, fmt)


def _marked_example(register) -> list[dict]:
    """The upload page's example file and what marking makes of it: each row's marks are given
    by campaigns.verdicts from the facts the row stands for, so the example follows the rules."""
    region = register.country
    mobile, fixed = PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE
    national, international = PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL
    abroad = "BE" if region != "BE" else "NL"
    day, opt_in = datetime.date(2021, 5, 17), datetime.date(2026, 3, 2)
    # (name, as typed, opt-in, registered on, registered for the purpose)
    rows = [
        ("Jansen", _example_number(region, mobile, national, 1), None, day, True),
        ("De Vries", _example_number(region, fixed, international, 2), opt_in, day, True),
        ("Visser", _example_number(region, mobile, national, 3), None, None, False),
        ("Bakker", _example_number(region, PhoneNumberType.TOLL_FREE, national), None, None, False),
        ("Dupont", _example_number(abroad, mobile, international), None, None, False),
        ("Smit", "n/a", None, None, False),
    ]
    if register.has_categories:
        rows.insert(2, ("Peters", _example_number(region, mobile, national, 4), None, day, False))
    example = []
    for name, phone, opt_in_day, registered_on, covered in rows:
        number, problem = normalise(phone, region)
        registered_on = registered_on if problem is None else None
        status, reason = verdict(
            Facts(
                opted_out=False,
                problem=problem,
                covered=covered and registered_on is not None,
                registered_on=registered_on,
                opt_in=opt_in_day,
            )
        )
        example.append(
            {
                "name": name,
                "phone": phone,
                "opt_in": opt_in_day.isoformat() if opt_in_day else "",
                "status": status,
                "reason": reason,
                "number": "" if number is None else f"+{number}",
                "registered_on": registered_on.isoformat() if registered_on else "",
            }
        )
    return example


def _detect(call_file: CallFile, overrides: dict):
    """The upload read with the settings the user chose, for the preview."""
    return intake_detect(
        Path(call_file.file.path), filename=call_file.filename, overrides=overrides
    )


@require_http_methods(["GET", "POST"])
@company_required(STAFF)
def call_file_preview_view(request, call_file_id: int):
    """The detected settings as a form, and the first rows read with them. "Show preview" reads
    the file again with the chosen settings; "Mark this file" queues the marking with them."""
    call_file = _get(request, call_file_id)
    if call_file.status != CallFileStatus.DRAFT:
        return redirect("call_files:detail", call_file_id=call_file.pk)
    detected = call_file_preview(call_file=call_file)
    form = CallFileSettingsForm(request.POST or None, detected=detected)
    status, notice = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            overrides = form.overrides()
            same_columns = form.columns_listed_for_posted_dialect()
            if not same_columns:
                # Another delimiter or header gives other columns: find them again rather than
                # keep numbers chosen from a list that no longer holds.
                del overrides["phone_column"], overrides["opt_in_column"]
            try:
                if same_columns and request.POST.get("action") == "mark":
                    call_file_confirm(
                        call_file=call_file,
                        overrides=overrides,
                        leave_out_duplicates=form.cleaned_data["leave_out_duplicates"],
                    )
                    messages.success(
                        request, _("“%(name)s” is being marked.") % {"name": call_file.filename}
                    )
                    return redirect("call_files:detail", call_file_id=call_file.pk)
                detected = _detect(call_file, overrides)
            except DomainError as error:
                if error.code == "not_a_draft":
                    # Sent for marking by an earlier click (or another tab): follow that.
                    return redirect("call_files:detail", call_file_id=call_file.pk)
                # The message names the setting and the line; the form keeps what was chosen.
                form.add_error(None, error.message)
                status = error.status
            else:
                status = 200
                form = CallFileSettingsForm(
                    _rebound(request.POST, detected, same_columns), detected=detected
                )
                if not same_columns:
                    notice = _(
                        "The columns were detected again for the new settings. Check them in the "
                        "preview below, then mark the file."
                    )
    validation = validation_error = None
    if status == 200:
        try:
            validation = call_file_draft_validation(
                call_file=call_file,
                file_settings=detected.settings,
                leave_out_duplicates=bool(form.is_bound and form["leave_out_duplicates"].data),
            )
        except IntakeError as error:
            # Further down than the preview reads: the scrub would refuse the file there.
            validation_error = error.message
    return render(
        request,
        "campaigns/call_files/preview.html",
        {
            "call_file": call_file,
            "campaign": call_file.campaign,
            "form": form,
            "detected": detected,
            "table": _preview_table(detected) if status == 200 else None,
            "notice": notice,
            "validation": validation,
            "validation_error": validation_error,
            "problems_query": _settings_query(detected.settings) if validation else "",
            "settings_form_id": SETTINGS_FORM_ID,
            **_licence(request, call_file.campaign),
        },
        status=status,
    )


def _settings_query(file_settings: FileSettings) -> str:
    """The settings as the settings form posts them, for the link to the problem rows' CSV."""
    query = {
        "has_header": YES if file_settings.has_header else NO,
        "phone_column": file_settings.phone_column,
        "opt_in_column": file_settings.opt_in_column or "",
        "dialect": dialect_key(
            encoding=file_settings.encoding,
            delimiter=file_settings.delimiter,
            has_header=file_settings.has_header,
        ),
    }
    if file_settings.kind != FileKind.XLSX:
        query["encoding"] = file_settings.encoding
        query["delimiter"] = next(
            code for code, char in DELIMITERS.items() if char == file_settings.delimiter
        )
    return urlencode(query)


@require_http_methods(["GET"])
@company_required(STAFF)
def call_file_problems_csv(request, call_file_id: int):
    """Every problem row of a draft (line, input, reason) as CSV, read with the settings in the
    query (the preview's), streamed: the page lists only the first rows."""
    call_file = _get(request, call_file_id)
    if call_file.status != CallFileStatus.DRAFT or not call_file.file:
        raise Http404
    form = CallFileSettingsForm(request.GET, detected=call_file_preview(call_file=call_file))
    if not form.is_valid() or not form.columns_listed_for_posted_dialect():
        return HttpResponse(
            _("These settings cannot be read; show the preview again."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    try:
        file_settings = _detect(call_file, form.overrides()).settings
    except IntakeError as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    path, region = Path(call_file.file.path), request.register.country
    writer = csv.writer(_Echo(), delimiter=";")
    reasons = dict(ProblemReason.choices)

    def lines():
        yield "\ufeff" + writer.writerow(["line", "input", "reason", "explanation"])
        rows = call_file_problems(path, file_settings, region, Counter(), IntakeCounts())
        try:
            for row in rows:
                yield writer.writerow(
                    [row.line, spreadsheet_safe(row.input), row.reason, reasons[row.reason]]
                )
        except IntakeError as error:
            # Past the first bytes a status cannot change: the file says where it stopped.
            yield writer.writerow(["", "", "unreadable", error.message])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stem = Path(call_file.filename).stem or "call-file"
    name = _("%(name)s-problems.csv") % {"name": stem}
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


class _Echo:
    """csv.writer writes into it and gets each line back, for a streamed response."""

    def write(self, value: str) -> str:
        return value


def _rebound(data, detected, same_columns: bool) -> dict:
    """The posted settings, with the columns and the dialect key of a new detection when the
    dialect changed, so the form lists the columns the file now has."""
    settings = detected.settings
    bound = {
        "leave_out_duplicates": data.get("leave_out_duplicates"),
        "has_header": YES if settings.has_header else NO,
        "phone_column": data.get("phone_column") if same_columns else settings.phone_column,
        "opt_in_column": data.get("opt_in_column")
        if same_columns
        else (settings.opt_in_column or ""),
        "dialect": dialect_key(
            encoding=settings.encoding,
            delimiter=settings.delimiter,
            has_header=settings.has_header,
        ),
    }
    if settings.kind != FileKind.XLSX:
        bound["encoding"] = settings.encoding
        bound["delimiter"] = next(
            code for code, char in DELIMITERS.items() if char == settings.delimiter
        )
    return bound


def _preview_table(detected) -> dict:
    settings = detected.settings
    columns = range(1, detected.columns + 1)
    return {
        "columns": [
            {
                "label": column_label(detected, index),
                "phone": index == settings.phone_column,
                "opt_in": index == settings.opt_in_column,
            }
            for index in columns
        ],
        "rows": [
            [
                {
                    "value": row[index - 1] if index <= len(row) else "",
                    "phone": index == settings.phone_column,
                }
                for index in columns
            ]
            for row in detected.preview
        ],
    }


@require_http_methods(["GET"])
@company_required(STAFF)
def call_file_detail(request, call_file_id: int):
    call_file = _get(request, call_file_id)
    if call_file.status == CallFileStatus.DRAFT:
        return redirect("call_files:preview", call_file_id=call_file.pk)
    return render(
        request,
        "campaigns/call_files/detail.html",
        {
            "call_file": call_file,
            "campaign": call_file.campaign,
            "progress": call_file_progress(call_file=call_file),
            "rows": call_file_rows_done(call_file=call_file, now=timezone.now()),
            "polling": _polling(call_file),
            "result_available": _result_available(call_file),
            "delimiter_name": _delimiter_name(call_file.delimiter),
            "encoding_name": dict(ENCODINGS).get(call_file.encoding, call_file.encoding),
        },
    )


def _delimiter_name(delimiter: str) -> str:
    names = {";": _("semicolon (;)"), ",": _("comma (,)"), "|": _("pipe (|)"), "\t": _("tab")}
    return names.get(delimiter, "")


def _polling(call_file: CallFile) -> bool:
    """Whether the page has more to show soon: the marking, or the certificate that follows."""
    return call_file.status in UNFINISHED or (
        call_file.status == CallFileStatus.DONE and not call_file.certificate
    )


def _result_available(call_file: CallFile) -> bool:
    return (
        call_file.status == CallFileStatus.DONE
        and bool(call_file.result)
        and call_file.files_deleted_at is None
    )


@require_http_methods(["GET"])
@company_required(STAFF)
def call_file_status(request, call_file_id: int):
    """The marking's state as JSON for the status page's progress bar."""
    call_file = _get(request, call_file_id)
    return JsonResponse(
        {
            "status": call_file.status,
            "progress": call_file_progress(call_file=call_file),
            **call_file_rows_done(call_file=call_file, now=timezone.now()),
            "final": not _polling(call_file),
        }
    )


def result_response(call_file: CallFile) -> FileResponse:
    """The marked file as an attachment, never shown inline: its cells are third-party text."""
    if call_file.kind == FileKind.XLSX:
        content_type = XLSX_TYPE
    else:
        content_type = f"text/csv; charset={CHARSETS.get(call_file.encoding, 'utf-8')}"
    response = FileResponse(
        call_file.result.open("rb"),
        as_attachment=True,
        filename=call_file_result_filename(call_file),
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def certificate_response(call_file: CallFile) -> FileResponse:
    return FileResponse(
        call_file.certificate.open("rb"),
        as_attachment=True,
        filename=f"{_('certificate')}-{call_file.pk}.pdf",
        content_type="application/pdf",
    )


@require_http_methods(["GET"])
@company_required(STAFF)
def call_file_result(request, call_file_id: int):
    call_file = _get(request, call_file_id)
    if not _result_available(call_file):
        raise Http404
    return result_response(call_file)


@require_http_methods(["GET"])
@company_required(STAFF)
def call_file_certificate(request, call_file_id: int):
    call_file = _get(request, call_file_id)
    if not call_file.certificate:
        raise Http404
    return certificate_response(call_file)
