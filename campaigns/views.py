"""Campaign pages (SPEC §6): list, create, detail, and the call centre's invitations."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from campaigns.forms import CampaignForm
from campaigns.models import Campaign, ProviderStatus
from campaigns.selectors import campaign_get, campaigns_for_company
from campaigns.services import campaign_create, campaign_provider_respond
from licences.middleware import STAFF, company_required
from licences.selectors import credit_balance, licences_for_company
from register.calling import calling_window
from register.errors import DomainError, NotFound


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
