"""Campaign pages (SPEC §6): list, create, detail, and the call centre's invitations; the number
company opt-out list (SPEC §6)."""

import csv

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST
from django_scopes import scope

from campaigns.forms import CampaignForm, OptOutForm, OptOutUploadForm
from campaigns.marking.selectors import call_files_for_company
from campaigns.models import Campaign, ProviderStatus
from campaigns.selectors import (
    campaign_get,
    campaigns_for_company,
    opt_outs_export_rows,
    opt_outs_for_company,
)
from campaigns.services import (
    OPT_OUT_FILE_MAX_BYTES,
    campaign_create,
    campaign_provider_respond,
    opt_out_add,
    opt_out_remove,
    opt_outs_upload,
)
from licences.middleware import STAFF, company_required
from licences.selectors import credit_balance, licences_for_company
from register.calling import calling_window
from register.errors import DomainError, NotFound

# The campaign page shows its latest scrubs; older ones stay in the records (and the admin).
CALL_FILE_HISTORY = 50


def _invitations(company):
    return Campaign.objects.filter(
        service_provider=company, provider_status=ProviderStatus.INVITED
    ).select_related("company")


@require_http_methods(["GET"])
@company_required(STAFF)
def campaign_list(request):
    register, language = request.register, request.LANGUAGE_CODE
    rows = [
        {"campaign": campaign, "purpose": register.category_label(campaign.purpose, language)}
        for campaign in campaigns_for_company(company=request.company)
    ]
    return render(
        request,
        "campaigns/list.html",
        {"rows": rows, "invitations": _invitations(request.company)},
    )


@require_http_methods(["GET", "POST"])
@company_required(STAFF)
def campaign_new(request):
    form = CampaignForm(
        request.POST or None, company=request.company, language=request.LANGUAGE_CODE
    )
    if request.method == "POST" and form.is_valid():
        try:
            campaign = campaign_create(
                company=request.company,
                name=form.cleaned_data["name"],
                purpose=form.cleaned_data["purpose"],
                service_provider=form.cleaned_data["call_centre"],
                created_by=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The campaign “%(name)s” is created.") % {"name": campaign})
            return redirect("campaigns:detail", campaign_id=campaign.pk)
    return render(request, "campaigns/form.html", {"form": form})


@require_http_methods(["GET"])
@company_required(STAFF)
def campaign_detail(request, campaign_id: int):
    try:
        campaign = campaign_get(company=request.company, campaign_id=campaign_id)
    except NotFound:
        raise Http404 from None
    own = campaign.company_id == request.company.pk
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "own": own,
            "purpose": request.register.category_label(campaign.purpose, request.LANGUAGE_CODE),
            "licences": [
                {"licence": licence, "name": licence.product.name(request.LANGUAGE_CODE)}
                for licence in licences_for_company(company=request.company).filter(
                    campaign=campaign
                )
            ],
            "balance": credit_balance(campaign=campaign),
            "calling": calling_window(register=request.register, at=timezone.now()),
            "call_files": call_files_for_company(company=request.company).filter(campaign=campaign)[
                :CALL_FILE_HISTORY
            ],
        },
    )


@require_POST
@company_required(STAFF)
def invitation_respond(request, campaign_id: int):
    campaign = _invitations(request.company).filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404
    accept = request.POST.get("answer") == "accept"
    campaign_provider_respond(campaign=campaign, provider=request.company, accept=accept)
    if accept:
        messages.success(
            request, _("You now run the campaign “%(name)s”.") % {"name": campaign.name}
        )
        return redirect("campaigns:detail", campaign_id=campaign.pk)
    messages.success(request, _("You declined the campaign “%(name)s”.") % {"name": campaign.name})
    return redirect("campaigns:list")


# Number search and the opt-out list (SPEC §6, §10)


OPT_OUTS_PER_PAGE = 100


@require_http_methods(["GET", "POST"])
@company_required(STAFF)
def opt_outs(request):
    """The list, a page at a time, with the forms to add one number and to upload a file."""
    company = request.company
    form = OptOutForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            opt_out, created = opt_out_add(
                company=company, number=form.cleaned_data["number"].as_e164
            )
        except DomainError as error:
            form.add_error("number", error.message)
        else:
            message = (
                _("%(number)s is on your opt-out list now.")
                if created
                else _("%(number)s was on your opt-out list already.")
            )
            messages.success(request, message % {"number": opt_out})
            return redirect("campaigns:opt_outs")
    page = Paginator(
        opt_outs_for_company(company=company).order_by("-created_at", "-id"), OPT_OUTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/opt_outs.html",
        {"form": form, "upload_form": OptOutUploadForm(), "page": page},
        status=400 if form.errors else 200,
    )


@require_POST
@company_required(STAFF)
def opt_out_remove_view(request):
    try:
        opt_out_remove(company=request.company, number=request.POST.get("number", ""))
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The number is off your opt-out list."))
    return redirect("campaigns:opt_outs")


@require_POST
@company_required(STAFF)
def opt_outs_upload_view(request):
    form = OptOutUploadForm(request.POST, request.FILES)
    report = None
    if form.is_valid():
        try:
            report = opt_outs_upload(
                company=request.company,
                data=form.cleaned_data["file"].read(OPT_OUT_FILE_MAX_BYTES + 1),
            )
        except DomainError as error:
            form.add_error("file", error.message)
    return render(
        request,
        "campaigns/opt_outs_upload.html",
        {"upload_form": form, "report": report, "filename": request.FILES.get("file")},
        status=200 if report else 400,
    )


class _Echo:
    """csv.writer writes into it and gets each line back, for a streamed response."""

    def write(self, value: str) -> str:
        return value


@require_http_methods(["GET"])
@company_required(STAFF)
def opt_outs_export(request):
    writer = csv.writer(_Echo(), delimiter=";")
    company, register = request.company, request.register

    def lines():
        # The response is read after the middleware's scope has closed: open it again here.
        with scope(register=register):
            for row in opt_outs_export_rows(company=company):
                yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="opt-outs.csv"'
    return response
