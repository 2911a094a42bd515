"""The number search page (SPEC §10): one number against the register and the opt-out list."""

import dataclasses
import datetime
import uuid

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from campaigns.checks.forms import NumberSearchForm
from campaigns.checks.selectors import checks_charge_credits
from campaigns.checks.services import CheckResult, NumbersChecked, RateLimited, numbers_check
from campaigns.selectors import campaign_get, campaigns_for_company
from campaigns.verdicts import CheckReason, CheckStatus
from licences.middleware import STAFF, company_required
from register.errors import DomainError
from register.phone import format_international

# The session key holding a search's answer until the page the POST redirects to shows it.
LAST_CHECK = "campaigns.last_number_check"


def _remember(request, checked: NumbersChecked) -> None:
    """The answer, kept for the GET after the redirect: reloading that page shows it again
    without checking (and, in nl, charging) a second time."""
    result = dataclasses.asdict(checked.results[0])
    if result["registered_on"]:
        result["registered_on"] = result["registered_on"].isoformat()
    request.session[LAST_CHECK] = {
        "company": request.company.pk,
        "result": result,
        "purpose": checked.purpose,
        "credits_charged": checked.credits_charged,
    }


def _remembered(request) -> NumbersChecked | None:
    kept = request.session.pop(LAST_CHECK, None)
    if not kept or kept["company"] != request.company.pk:
        return None
    result = kept["result"]
    result["status"] = CheckStatus(result["status"])
    result["reason"] = CheckReason(result["reason"]) if result["reason"] else ""
    if result["registered_on"]:
        result["registered_on"] = datetime.date.fromisoformat(result["registered_on"])
    return NumbersChecked(
        results=[CheckResult(**result)],
        purpose=kept["purpose"],
        credits_charged=kept["credits_charged"],
    )


@require_http_methods(["GET", "POST"])
@company_required(STAFF)
def number_search(request):
    """A POST, never a GET: in nl each check costs a credit. The POST redirects to the page that
    shows its answer once, so a reload never checks again."""
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
        else:
            _remember(request, checked)
            url = reverse("campaigns:number_search")
            return redirect(f"{url}?campaign={campaign_id}" if campaign_id else url)
    if request.method == "GET":
        checked = _remembered(request)
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
