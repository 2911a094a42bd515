from licences.models import Role


def company(request):
    """The current company and the user's other companies, for the portal's header."""
    membership = getattr(request, "membership", None)
    return {
        "company": getattr(request, "company", None),
        "membership": membership,
        "memberships": getattr(request, "memberships", []),
        "is_owner": membership is not None and membership.role == Role.OWNER,
        "is_accounting": membership is not None and membership.role == Role.ACCOUNTING,
    }
