"""Consumer pages (SPEC §5): block, confirm, check, change or unblock. Thin: forms and services."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from register.calendar import REGISTRATION_TERM_WORKING_DAYS
from register.forms import BlockForm, ChangeCategoriesForm, ManageRequestForm, NumberForm
from register.phone import format_international
from register.selectors import block_request_pending, blocked_number_get, manage_registration_get
from register.services import (
    LinkError,
    block_request_confirm,
    block_request_create,
    blocked_number_change,
    blocked_number_unblock,
    category_labels,
    manage_link_send,
)


# Callables, so the rates are read per request and a test can override the settings.
def block_rate(group, request) -> str:
    return settings.REGISTER_BLOCK_RATE


def check_rate(group, request) -> str:
    return settings.REGISTER_CHECK_RATE


def rate_limited(request):
    return render(request, "register/rate_limited.html", status=429)


def link_problem(request, error: LinkError, *, again_url: str):
    return render(
        request,
        "register/link_problem.html",
        {"error": error, "again_url": again_url},
        status=error.status,
    )


def _base_url(request) -> str:
    """Links in mails point at the host the visitor used, so each register mails its own."""
    return request.build_absolute_uri("/")


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=block_rate, method="POST", block=False, group="register.block")
def block(request):
    register = request.register
    form = BlockForm(request.POST or None, register=register, language=request.LANGUAGE_CODE)
    if request.method == "POST":
        if request.limited:
            return rate_limited(request)
        if form.is_valid():
            block_request = block_request_create(
                register=register,
                numbers=form.cleaned_data["numbers"],
                categories=form.chosen_categories(),
                email=form.cleaned_data["email"],
                language=request.LANGUAGE_CODE,
                base_url=_base_url(request),
            )
            return render(
                request,
                "register/block_sent.html",
                {
                    "block_request": block_request,
                    "numbers": [format_international(n) for n in block_request.numbers],
                    "merged": form.merged,
                },
            )
    return render(
        request,
        "register/block.html",
        {"form": form, "intro": register.text("intro", request.LANGUAGE_CODE)},
    )


@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    """GET shows what will be blocked; only the button's POST confirms.

    Mail scanners fetch links in mails: a GET that confirmed would block for them.
    """
    register = request.register
    try:
        if request.method == "POST":
            confirmation = block_request_confirm(register=register, token=token)
            return render(
                request,
                "register/confirm_done.html",
                {
                    "numbers": [format_international(n) for n in confirmation.numbers],
                    "categories": category_labels(
                        register, confirmation.categories, request.LANGUAGE_CODE
                    ),
                    "registered_on": confirmation.registered_on,
                },
            )
        block_request = block_request_pending(register=register, token=token)
    except LinkError as error:
        return link_problem(request, error, again_url="register:block")
    return render(
        request,
        "register/confirm.html",
        {
            "numbers": [format_international(n) for n in block_request.numbers],
            "categories": category_labels(
                register, block_request.categories, request.LANGUAGE_CODE
            ),
            "email": block_request.email,
        },
    )


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=check_rate, method="POST", block=False, group="register.check")
def check(request):
    register = request.register
    form = NumberForm(request.POST or None, register=register)
    result = None
    if request.method == "POST":
        if request.limited:
            return rate_limited(request)
        if form.is_valid():
            number = form.cleaned_data["number"]
            blocked = blocked_number_get(register=register, number=number)
            result = {
                "number": format_international(number),
                "blocked": blocked,
                "categories": blocked
                and category_labels(register, blocked.categories, request.LANGUAGE_CODE),
            }
            form = NumberForm(register=register)
    return render(request, "register/check.html", {"form": form, "result": result})


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=block_rate, method="POST", block=False, group="register.manage")
def manage(request):
    register = request.register
    form = ManageRequestForm(request.POST or None, register=register)
    if request.method == "POST":
        if request.limited:
            return rate_limited(request)
        if form.is_valid():
            manage_link_send(
                register=register,
                number=form.cleaned_data["number"],
                email=form.cleaned_data["email"],
                language=request.LANGUAGE_CODE,
                base_url=_base_url(request),
            )
            return render(
                request,
                "register/manage_sent.html",
                {"number": format_international(form.cleaned_data["number"])},
            )
    return render(request, "register/manage.html", {"form": form})


@require_http_methods(["GET", "POST"])
def manage_edit(request, token: str):
    register = request.register
    try:
        blocked = manage_registration_get(register=register, token=token)
    except LinkError as error:
        return link_problem(request, error, again_url="register:manage")
    number = format_international(blocked.number)
    form = ChangeCategoriesForm(
        request.POST if request.POST.get("action") == "change" else None,
        register=register,
        language=request.LANGUAGE_CODE,
        current=blocked.category_codes,
    )
    try:
        if request.POST.get("action") == "unblock":
            blocked_number_unblock(register=register, token=token)
            return render(request, "register/manage_done.html", {"number": number})
        if form.is_valid():
            mask = blocked_number_change(
                register=register, token=token, categories=form.chosen_categories()
            )
            return render(
                request,
                "register/manage_done.html",
                {
                    "number": number,
                    "categories": category_labels(register, mask, request.LANGUAGE_CODE),
                },
            )
    except LinkError as error:
        return link_problem(request, error, again_url="register:manage")
    return render(
        request,
        "register/manage_edit.html",
        {
            "form": form,
            "number": number,
            "blocked": blocked,
            "categories": category_labels(register, blocked.categories, request.LANGUAGE_CODE),
        },
    )


@require_http_methods(["GET"])
def privacy(request):
    """The privacy statement: what is kept, why, and for how long (SPEC §5, §17, issue #14). The
    periods come from the settings and constants the retention job uses."""
    register = request.register
    return render(
        request,
        "register/privacy.html",
        {
            "confirmation_hours": register.confirmation_hours,
            "use_period_days": register.use_period_days,
            "registration_file_term": REGISTRATION_TERM_WORKING_DAYS,
            "registration_file_kept_days": settings.REGISTRATION_FILE_KEPT_DAYS,
            "attachment_days": settings.CASE_ATTACHMENT_RETENTION_DAYS,
        },
    )


@require_http_methods(["GET"])
def accessibility(request):
    """The accessibility statement, with the route to the register's regulator for consumers
    still being called (from the register's texts: a register is data, not code)."""
    register = request.register
    language = request.LANGUAGE_CODE
    return render(
        request,
        "register/accessibility.html",
        {
            "regulator_name": register.text("regulator.name", language),
            "regulator_url": register.text("regulator.url", language),
        },
    )
