"""Registration file pages of the company portal (SPEC §11): upload, list, report."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from licences.middleware import STAFF, company_required
from register.errors import DomainError, LicenceRequired, NotFound
from register.forms import example_numbers
from uploads.access import upload_licence_require
from uploads.forms import RegistrationFileForm
from uploads.selectors import (
    registration_file_get,
    registration_file_rows,
    registration_files_for_company,
)
from uploads.services import (
    HEADER,
    LEGAL_TERM_WORKING_DAYS,
    MAX_FILE_BYTES,
    SEPARATOR,
    registration_file_upload,
)


def _layout(request) -> dict:
    register = request.register
    mobile, fixed = example_numbers(register.country)
    return {
        "header": SEPARATOR.join(HEADER),
        "mobile": mobile,
        "fixed": fixed,
        "categories": [
            (code, register.category_label(code, request.LANGUAGE_CODE))
            for code in register.categories
        ],
        "term_days": LEGAL_TERM_WORKING_DAYS,
        "max_bytes": MAX_FILE_BYTES,
    }


@require_http_methods(["GET"])
@company_required(STAFF)
def registration_file_list(request):
    return render(
        request,
        "uploads/list.html",
        {"files": registration_files_for_company(company=request.company)},
    )


@require_http_methods(["GET", "POST"])
@company_required(STAFF)
def registration_file_new(request):
    try:
        upload_licence_require(company=request.company)
    except LicenceRequired as error:
        return render(
            request, "uploads/no_licence.html", {"message": error.message}, status=error.status
        )
    form = RegistrationFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            registration_file = registration_file_upload(
                company=request.company, upload=form.cleaned_data["file"], uploaded_by=request.user
            )
        except DomainError as error:
            form.add_error("file", error.message)
        else:
            messages.success(
                request,
                _("“%(name)s” is uploaded; its report follows when the rows are processed.")
                % {"name": registration_file.filename},
            )
            return redirect("uploads:detail", file_id=registration_file.pk)
    return render(request, "uploads/form.html", {"form": form, **_layout(request)})


@require_http_methods(["GET"])
@company_required(STAFF)
def registration_file_detail(request, file_id: int):
    try:
        registration_file = registration_file_get(company=request.company, file_id=file_id)
    except NotFound:
        raise Http404 from None
    return render(
        request,
        "uploads/detail.html",
        {
            "file": registration_file,
            "rows": registration_file_rows(registration_file=registration_file),
            "term_days": LEGAL_TERM_WORKING_DAYS,
        },
    )
