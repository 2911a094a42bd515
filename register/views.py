"""Consumer pages (SPEC §5): block, confirm, check, change or unblock. Thin: forms and services."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from register.calendar import REGISTRATION_TERM_WORKING_DAYS
from register.forms import BlockForm, ChangeCategoriesForm, ManageRequestForm, NumberForm
from register.phone import format_international
from register.selectors import (
    block_request_pending,
    blocked_number_get,
    manage_link_get,
    manage_link_registrations,
)
from register.services import (
    LinkError,
    NotRegistered,
    block_request_confirm,
    block_request_create,
    blocked_number_change,
    blocked_number_unblock,
    calls_stop_on,
    category_labels,
    manage_link_send,
)
from register.statistics import public_statistics, statistics_years


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
            confirmation = block_request_confirm(
                register=register, token=token, base_url=_base_url(request)
            )
            return render(
                request,
                "register/confirm_done.html",
                {
                    "numbers": [format_international(n) for n in confirmation.numbers],
                    "categories": category_labels(
                        register, confirmation.categories, request.LANGUAGE_CODE
                    ),
                    "registered_on": confirmation.registered_on,
                    "calls_stop_on": confirmation.calls_stop_on,
                    "weeks": register.use_period_days // 7,
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
            stop_on = blocked and calls_stop_on(
                register=register, registered_on=blocked.registered_on
            )
            result = {
                "number": format_international(number),
                "blocked": blocked,
                "categories": blocked
                and category_labels(register, blocked.categories, request.LANGUAGE_CODE),
                "calls_stop_on": stop_on,
                "calls_until": stop_on and stop_on - timedelta(days=1),
                "today": register.today(),
                "weeks": register.use_period_days // 7,
            }
            form = NumberForm(register=register)
    return render(request, "register/check.html", {"form": form, "result": result})


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=block_rate, method="POST", block=False, group="register.manage")
def manage(request):
    register = request.register
    form = ManageRequestForm(request.POST or None)
    if request.method == "POST":
        if request.limited:
            return rate_limited(request)
        if form.is_valid():
            manage_link_send(
                register=register,
                email=form.cleaned_data["email"],
                language=request.LANGUAGE_CODE,
                base_url=_base_url(request),
            )
            return redirect("register:manage_sent")
    return render(request, "register/manage.html", {"form": form})


def manage_sent(request):
    return render(request, "register/manage_sent.html")


def _registration_rows(request, registrations, *, posted=None):
    """Each number the link manages with its form; `posted` is the form that was sent."""
    rows = []
    for blocked in registrations:
        if posted is not None and posted.prefix == f"n{blocked.number}":
            form = posted
        else:
            form = ChangeCategoriesForm(
                register=request.register,
                language=request.LANGUAGE_CODE,
                current=blocked.category_codes,
                prefix=f"n{blocked.number}",
            )
        rows.append({
            "blocked": blocked,
            "number": format_international(blocked.number),
            "categories": category_labels(
                request.register, blocked.categories, request.LANGUAGE_CODE
            ),
            "form": form,
        })  # fmt: skip
    return rows


@require_http_methods(["GET", "POST"])
def manage_edit(request, token: str):
    """Every number registered with the link's address, each changed or unblocked on its own;
    the link serves the whole visit (ManageLink)."""
    register = request.register
    try:
        link = manage_link_get(register=register, token=token)
        registrations = manage_link_registrations(link=link)
        posted = None
        if request.method == "POST":
            blocked = next(
                (b for b in registrations if str(b.number) == request.POST.get("number")), None
            )
            if blocked is None:
                raise NotRegistered
            posted = ChangeCategoriesForm(
                request.POST,
                register=register,
                language=request.LANGUAGE_CODE,
                current=blocked.category_codes,
                prefix=f"n{blocked.number}",
            )
            if posted.is_valid():
                mask = blocked_number_change(
                    register=register,
                    token=token,
                    number=blocked.number,
                    categories=posted.chosen_categories(),
                )
                messages.success(
                    request,
                    _("Saved: calls blocked to %(number)s from now on: %(categories)s.")
                    % {
                        "number": format_international(blocked.number),
                        "categories": ", ".join(
                            category_labels(register, mask, request.LANGUAGE_CODE)
                        ),
                    },
                )
                return redirect("register:manage_edit", token=token)
    except LinkError as error:
        return link_problem(request, error, again_url="register:manage")
    return render(
        request,
        "register/manage_edit.html",
        {
            "link": link,
            "rows": _registration_rows(request, registrations, posted=posted),
            "error_form": posted if posted is not None and posted.errors else None,
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


# The public statistics change once a day in substance; a visitor's page is at most this old.
STATISTICS_CACHE_SECONDS = 600


def _public_statistics(request):
    """The year asked for (`?year=`, else this one) and its statistics, from the cache."""
    register = request.register
    years = statistics_years(register=register)
    try:
        year = int(request.GET.get("year", years[-1]))
    except ValueError:
        year = years[-1]
    if year not in years:
        raise Http404("No statistics for that year.")
    key = f"statistics:{register.pk}:{year}:{request.LANGUAGE_CODE}"
    figures = cache.get(key)
    if figures is None:
        figures = public_statistics(register=register, year=year)
        cache.set(key, figures, STATISTICS_CACHE_SECONDS)
    return years, figures


@require_http_methods(["GET"])
def statistics(request):
    years, figures = _public_statistics(request)
    csv_url = f"{reverse('register:statistics_csv')}?year={figures.year}"
    return render(
        request,
        "register/statistics.html",
        {"years": years, "statistics": figures, "csv_url": csv_url},
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


@require_http_methods(["GET"])
def statistics_csv(request):
    _years, figures = _public_statistics(request)
    response = HttpResponse(figures.table().csv(), content_type="text/csv; charset=utf-8")
    name = f"{request.register.slug}-statistics-{figures.year}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_http_methods(["GET", "POST"])
def manage_unblock(request, token: str, number: int):
    """Asks to confirm; only the button's POST unblocks, and a receipt is mailed."""
    register = request.register
    try:
        link = manage_link_get(register=register, token=token)
        blocked = next(
            (b for b in manage_link_registrations(link=link) if b.number == number), None
        )
        if blocked is None:
            raise NotRegistered
        if request.method == "POST":
            blocked_number_unblock(register=register, token=token, number=number)
            messages.success(
                request,
                _("%(number)s is no longer registered. We have mailed you a receipt.")
                % {"number": format_international(number)},
            )
            return redirect("register:manage_edit", token=token)
    except LinkError as error:
        return link_problem(request, error, again_url="register:manage")
    return render(
        request,
        "register/manage_unblock.html",
        {"link": link, "number": format_international(number), "token": token},
    )
