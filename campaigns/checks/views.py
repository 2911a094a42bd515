"""The number search page (SPEC §10): one number against the register and the opt-out list."""

import uuid

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from campaigns.checks.forms import NumberSearchForm
from campaigns.checks.selectors import checks_charge_credits
from campaigns.checks.services import RateLimited, numbers_check
from campaigns.selectors import campaign_get, campaigns_for_company
from licences.middleware import STAFF, company_required
from register.errors import DomainError
from register.phone import format_international


@require_http_methods(["GET", "POST"])
@company_required(STAFF)
def number_search(request):
    """A POST, never a GET: in nl each check costs a credit."""
    company, register = request.company, request.register
    campaigns = list(campaigns_for_company(company=company))
    charges_credits = checks_charge_credits(register)
    form = NumberSearchForm(
        request.POST or None,
        company=company,
        campaigns=campaigns,
        charges_credits=charges_credits,
        language=request.LANGUAGE_CODE,
        initial={"campaign": request.GET.get("campaign")},
    )
    checked, status, retry_after = None, 200, None
    if request.method == "POST" and form.is_valid():
        campaign_id = form.cleaned_data["campaign"]
        try:
            checked = numbers_check(
                company=company,
                numbers=[form.cleaned_data["number"].as_e164],
                purpose=form.cleaned_data["purpose"] or None,
                campaign=campaign_get(company=company, campaign_id=campaign_id)
                if campaign_id
                else None,
                reference=f"check:{uuid.uuid4().hex}",
            )
        except RateLimited as error:
            form.add_error(None, error.message)
            status, retry_after = 429, error.retry_after
        except DomainError as error:
            form.add_error(None, error.message)
            status = error.status
    result = checked.results[0] if checked else None
    response = render(
        request,
        "campaigns/number_search.html",
        {
            "form": form,
            "charges_credits": charges_credits,
            "checked": checked,
            "result": result,
            "formatted": format_international(result.number) if result and result.number else "",
            "categories": [
                register.category_label(code, request.LANGUAGE_CODE)
                for code in (result.categories if result else [])
            ],
            "purpose": checked and register.category_label(checked.purpose, request.LANGUAGE_CODE),
        },
        status=status,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
