"""Download pages (SPEC §9): request a full or delta download, follow it, fetch the file."""

from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from campaigns.downloads.forms import DownloadForm
from campaigns.downloads.selectors import (
    download_file_available,
    download_filename,
    download_get,
    download_layout,
    download_licence_model,
    download_progress,
    download_since,
    downloads_for_company,
)
from campaigns.downloads.services import download_extend, download_request
from campaigns.models import DownloadKind, DownloadStatus, ProviderStatus
from licences.middleware import STAFF, company_required
from licences.models import ProductKind
from register.errors import DomainError, NotFound


def _rows(request, downloads):
    return [
        {
            "download": download,
            "progress": download_progress(download=download),
            "extendable": (
                download.status == DownloadStatus.DONE
                and download.extended_until is None
                and download.campaign is not None
                and download.campaign.service_provider_id == request.company.pk
                and download.campaign.provider_status == ProviderStatus.ACCEPTED
            ),
        }
        for download in downloads
    ]


@require_http_methods(["GET", "POST"])
@company_required(STAFF)
def download_list(request):
    register, company = request.register, request.company
    uses_licences = download_licence_model(register) == ProductKind.DOWNLOAD
    form = DownloadForm(request.POST or None, company=company, uses_licences=uses_licences)
    if request.method == "POST" and form.is_valid():
        since = form.cleaned_data["since"]
        try:
            download_request(
                company=company,
                kind=form.cleaned_data["kind"],
                since=download_since(register=register, value=since) if since else None,
                campaign=form.cleaned_data.get("campaign"),
                user=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Your download is being prepared."))
            return redirect("downloads:list")
    downloads = list(downloads_for_company(company=company)[:50])
    return render(
        request,
        "campaigns/downloads/list.html",
        {
            "form": form,
            "rows": _rows(request, downloads),
            "uses_licences": uses_licences,
            "layouts": [
                (_("Full list"), download_layout(register, DownloadKind.FULL)),
                (_("Changes"), download_layout(register, DownloadKind.DELTA)),
            ],
            "polling": any(d.status in _UNFINISHED for d in downloads),
        },
    )


_UNFINISHED = (DownloadStatus.QUEUED, DownloadStatus.RUNNING)


def _get(request, download_id: int):
    try:
        return download_get(company=request.company, download_id=download_id)
    except NotFound:
        raise Http404 from None


@require_http_methods(["GET"])
@company_required(STAFF)
def download_status(request, download_id: int):
    """The download's status as JSON for the list page's progress bar."""
    download = _get(request, download_id)
    return JsonResponse(
        {
            "status": download.status,
            "progress": download_progress(download=download),
            "final": download.status not in _UNFINISHED,
        }
    )


@require_http_methods(["GET"])
@company_required(STAFF)
def download_file(request, download_id: int):
    download = _get(request, download_id)
    if not download_file_available(download):
        raise Http404
    return FileResponse(
        download.file.open("rb"),
        as_attachment=True,
        filename=download_filename(download),
        content_type="text/plain; charset=utf-8",
    )


@require_POST
@company_required(STAFF)
def download_extend_view(request, download_id: int):
    download = _get(request, download_id)
    try:
        download = download_extend(download=download, provider_company=request.company)
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The download may now be used until %(day)s.")
            % {"day": download.extended_until.isoformat()},
        )
    return redirect("downloads:list")
