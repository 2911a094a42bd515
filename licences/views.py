"""Company portal pages: account, company, members, licences, API keys (SPEC §3, §6, §7, §16).

Thin: forms read the input, services in `licences.services` and `licences.accounts` do the work.
Signing up, logging in and out and passwords are allauth's (`licences.accounts`).
"""

from allauth.account import views as allauth_views
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from licences.forms import ApiKeyForm, CompanyForm, MemberAddForm
from licences.middleware import OWNERS, STAFF, company_required, company_switch
from licences.models import ApiKey, Membership, Role
from licences.selectors import (
    cancellation_deadline,
    credit_balances,
    licences_for_company,
    products_on_offer,
    upload_licence_held,
    upload_licence_request_pending,
    upload_product,
)
from licences.services import (
    api_key_create,
    api_key_revoke,
    company_create,
    company_update,
    licence_cancel,
    membership_add_by_email,
    membership_remove,
    upload_licence_request,
)
from register.errors import DomainError


def _base_url(request) -> str:
    """Links in mails point at the host the user used, so each register mails its own."""
    return request.build_absolute_uri("/")


class LoginView(allauth_views.LoginView):
    """allauth's login; refused for too many failed attempts, it answers 429 (SPEC §17)."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if any(
            error.code == "too_many_login_attempts" for error in form.non_field_errors().as_data()
        ):
            response.status_code = 429
        return response


@require_http_methods(["GET"])
def for_companies(request):
    """What a company buys and must do, and how scrubbing works, before anyone logs in."""
    register = request.register
    products = [
        {"product": product, "name": product.name(request.LANGUAGE_CODE)}
        for product in products_on_offer(register=register)
    ]
    return render(
        request,
        "licences/for_companies.html",
        {"products": products, "vat_rate": register.vat_rate},
    )


@require_http_methods(["GET"])
def home(request):
    """Where logging in lands: the page each role starts from."""
    if not request.user.is_authenticated:
        return redirect("account_login")
    if request.membership is None:
        return redirect("licences:company_create")
    if request.membership.role == Role.ACCOUNTING:
        return redirect("billing:invoices")
    return redirect("licences:company")


@require_http_methods(["GET", "POST"])
@login_required(login_url=reverse_lazy("account_login"))
def company_new(request):
    form = CompanyForm(
        request.POST or None,
        initial={"country": request.register.country},
        register=request.register,
    )
    if request.method == "POST" and form.is_valid():
        company = company_create(
            register=request.register, owner=request.user, actor=request.user, **form.cleaned_data
        )
        company_switch(request, company_id=company.pk)
        messages.success(
            request,
            _("%(name)s is registered. You can now buy licences in the shop.")
            % {"name": company.name},
        )
        return redirect("licences:company")
    return render(request, "licences/company_form.html", {"form": form, "creating": True})


@require_http_methods(["GET"])
@company_required(STAFF)
def company_detail(request):
    return render(
        request,
        "licences/company.html",
        {"balances": credit_balances(company=request.company)},
    )


@require_http_methods(["GET", "POST"])
@company_required(OWNERS)
def company_edit(request):
    form = CompanyForm(request.POST or None, instance=request.company, register=request.register)
    if request.method == "POST" and form.is_valid():
        company_update(
            company=request.company,
            changes={name: form.cleaned_data[name] for name in form.changed_data},
            actor=request.user,
        )
        messages.success(request, _("The company details are saved."))
        return redirect("licences:company")
    return render(request, "licences/company_form.html", {"form": form, "creating": False})


@require_POST
@login_required(login_url=reverse_lazy("account_login"))
def switch(request):
    try:
        company_id = int(request.POST.get("company", ""))
    except ValueError:
        raise Http404 from None
    if not company_switch(request, company_id=company_id):
        raise Http404
    return redirect("licences:home")


@require_http_methods(["GET", "POST"])
@company_required(STAFF)
def members(request):
    company = request.company
    form = None
    if request.membership.role == Role.OWNER:
        form = MemberAddForm(request.POST or None, company=company)
    elif request.method == "POST":
        raise Http404
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        _membership, invited = membership_add_by_email(
            company=company,
            email=email,
            role=form.cleaned_data["role"],
            language=request.LANGUAGE_CODE,
            base_url=_base_url(request),
            actor=request.user,
        )
        if invited:
            message = _("%(email)s is now a member and is e-mailed a link to set a password.")
        else:
            message = _("%(email)s is now a member.")
        messages.success(request, message % {"email": email})
        return redirect("licences:members")
    company_members = (
        Membership.objects.filter(company=company).select_related("user").order_by("user__email")
    )
    return render(request, "licences/members.html", {"form": form, "members": company_members})


@require_POST
@company_required(OWNERS)
def member_remove(request, membership_id: int):
    membership = Membership.objects.filter(company=request.company, pk=membership_id).first()
    if membership is None:
        raise Http404
    try:
        membership_remove(membership=membership, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("%(email)s is no longer a member.") % {"email": membership.user.email}
        )
    if membership.user_id == request.user.pk:
        return redirect("licences:home")
    return redirect("licences:members")


@require_http_methods(["GET"])
@company_required(STAFF)
def licences(request):
    rows = [
        {
            "licence": licence,
            "name": licence.product.name(request.LANGUAGE_CODE),
            "cancel_until": cancellation_deadline(licence),
        }
        for licence in licences_for_company(company=request.company)
    ]
    company = request.company
    product = upload_product(register=request.register)
    upload = None
    if product is not None:
        upload = {
            "name": product.name(request.LANGUAGE_CODE),
            "held": upload_licence_held(company=company, on=request.register.today()),
            "pending": upload_licence_request_pending(company=company),
        }
    return render(
        request,
        "licences/licences.html",
        {"rows": rows, "balances": credit_balances(company=company), "upload": upload},
    )


@require_POST
@company_required(STAFF)
def upload_licence_request_view(request):
    """The upload licence is requested here and granted by register staff (SPEC §11)."""
    try:
        upload_licence_request(company=request.company, requested_by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _(
                "Your request for the upload licence is sent. The register's staff check it; "
                "the licence appears here once granted."
            ),
        )
    return redirect("licences:licences")


@require_POST
@company_required(OWNERS)
def licence_cancel_view(request, licence_id: int):
    licence = licences_for_company(company=request.company).filter(pk=licence_id).first()
    if licence is None:
        raise Http404
    try:
        licence_cancel(licence=licence, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The licence is cancelled: it does not renew and ends on %(date)s.")
            % {"date": date_format(licence.ends_on)},
        )
    return redirect("licences:licences")


# The session key holding a key just created, until the page that shows it once.
NEW_API_KEY = "licences.new_api_key"


@require_http_methods(["GET", "POST"])
@never_cache
@company_required(STAFF)
def api_keys(request):
    """A new key is shown once, on the page the creation redirects to: it is stored as a hash,
    and a reload of that page, or of the POST, never shows it again or makes a second key. Until
    then it waits in the (server-side) session, for this company only."""
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _api_key, new_key = api_key_create(
            company=request.company, name=form.cleaned_data["name"], created_by=request.user
        )
        request.session[NEW_API_KEY] = {"company": request.company.pk, "key": new_key}
        return redirect("licences:api_keys")
    shown = request.session.pop(NEW_API_KEY, None)
    new_key = shown["key"] if shown and shown["company"] == request.company.pk else None
    keys = ApiKey.objects.filter(company=request.company, revoked_at__isnull=True)
    return render(
        request,
        "licences/api_keys.html",
        {
            "form": form,
            "keys": keys,
            "new_key": new_key,
            "api_docs_url": reverse("api-docs"),
        },
    )


@require_POST
@company_required(STAFF)
def api_key_revoke_view(request, key_id: int):
    api_key = ApiKey.objects.filter(
        company=request.company, pk=key_id, revoked_at__isnull=True
    ).first()
    if api_key is None:
        raise Http404
    api_key_revoke(api_key=api_key, actor=request.user)
    messages.success(request, _("The key “%(name)s” is revoked.") % {"name": api_key.name})
    return redirect("licences:api_keys")
