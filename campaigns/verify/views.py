"""/verify/ (SPEC §8.7, §16): anyone, without logging in, checks whether this register issued a
certificate of consultation. Thin: forms and the selectors."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from campaigns.verify.forms import CertificateLookupForm, CertificatePdfForm
from campaigns.verify.selectors import (
    certificate_facts,
    certificate_find,
    certificate_find_by_pdf,
)
from register.views import rate_limited


def verify_rate(group, request) -> str:
    return settings.CERTIFICATE_VERIFY_RATE


def _limited(request) -> bool:
    """Each lookup counts, by page, JSON or PDF alike: the empty form does not."""
    return is_ratelimited(
        request, group="campaigns.verify", key="ip", rate=verify_rate, increment=True
    )


@require_http_methods(["GET", "POST"])
def verify(request):
    register = request.register
    as_json = request.GET.get("format") == "json"
    if request.method == "POST":
        pdf_form = CertificatePdfForm(request.POST, request.FILES)
        if _limited(request):
            return rate_limited(request)
        if pdf_form.is_valid():
            call_file = certificate_find_by_pdf(
                register=register, content=pdf_form.cleaned_data["pdf"].read()
            )
            if call_file is None:
                return redirect(f"{reverse('verify')}?pdf=refused")
            query = {"reference": call_file.certificate_reference, "sha256": call_file.sha256}
            return redirect(f"{reverse('verify')}?{urlencode(query)}")
        return render(
            request,
            "campaigns/verify.html",
            {"form": CertificateLookupForm(), "pdf_form": pdf_form},
            status=400,
        )

    looked_up = "reference" in request.GET or "sha256" in request.GET
    form = CertificateLookupForm(request.GET if looked_up else None)
    call_file = None
    if looked_up:
        if _limited(request):
            if as_json:
                return JsonResponse(
                    {"detail": _("Too many requests."), "code": "rate_limited"}, status=429
                )
            return rate_limited(request)
        if form.is_valid():
            call_file = certificate_find(
                register=register,
                reference=form.cleaned_data["reference"],
                sha256=form.cleaned_data["sha256"],
            )
    if as_json:
        return JsonResponse(certificate_facts(call_file) if call_file else {"valid": False})
    return render(
        request,
        "campaigns/verify.html",
        {
            "form": form,
            "pdf_form": CertificatePdfForm(),
            "looked_up": looked_up and form.is_valid(),
            "pdf_refused": request.GET.get("pdf") == "refused",
            "facts": certificate_facts(call_file) if call_file else None,
            "call_file": call_file,
        },
    )
