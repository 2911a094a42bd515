"""The current company of a logged-in user, and the guard every company page stands behind.

A user may belong to several companies (SPEC §3, §6). The chosen one is kept in the session, but
the session is only a preference: on every request it is checked against the user's memberships
in the host's register, so a removed member or a company of another register is never current.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse

from licences.models import Membership, Role

SESSION_KEY = "licences.company_id"

# Who may open which company pages. The accounting role sees invoices only: any other company
# page is a 404 for it, as a page of another company would be.
EVERYONE = (Role.OWNER, Role.MEMBER, Role.ACCOUNTING)
STAFF = (Role.OWNER, Role.MEMBER)
OWNERS = (Role.OWNER,)


class CurrentCompanyMiddleware:
    """Sets `request.memberships`, `request.membership` and `request.company`.

    Must come after RegisterMiddleware (the register and its scope) and
    AuthenticationMiddleware (the user).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.memberships = []
        request.membership = None
        request.company = None
        register = getattr(request, "register", None)
        if register is not None and request.user.is_authenticated:
            request.memberships = list(
                Membership.objects.filter(user=request.user, company__register=register)
                .select_related("company")
                .order_by("company__name", "company_id")
            )
            chosen = request.session.get(SESSION_KEY)
            request.membership = next(
                (m for m in request.memberships if m.company_id == chosen),
                request.memberships[0] if request.memberships else None,
            )
            if request.membership is not None:
                request.company = request.membership.company
        return self.get_response(request)


def company_switch(request, *, company_id: int) -> bool:
    """Makes one of the user's own companies current; False when it is not one of them."""
    if not Membership.objects.filter(
        user=request.user, company_id=company_id, company__register=request.register
    ).exists():
        return False
    request.session[SESSION_KEY] = company_id
    return True


def company_required(roles=STAFF):
    """For views of the current company: anonymous users log in first, users without a company
    create one, and a role that may not see the page gets a 404."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("account_login"))
            if request.membership is None:
                return redirect("licences:company_create")
            if request.membership.role not in roles:
                raise Http404
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
