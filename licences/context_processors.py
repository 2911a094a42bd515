from django.utils.functional import SimpleLazyObject

from licences.models import LicenceProduct, ProductKind, Role


def company(request):
    """The current company and the user's other companies, for the portal's header."""
    membership = getattr(request, "membership", None)
    return {
        "company": getattr(request, "company", None),
        "membership": membership,
        "memberships": getattr(request, "memberships", []),
        "is_owner": membership is not None and membership.role == Role.OWNER,
        "is_accounting": membership is not None and membership.role == Role.ACCOUNTING,
        # Registration files exist only in registers that sell the upload licence (nl).
        "register_takes_uploads": SimpleLazyObject(
            lambda: LicenceProduct.objects.filter(kind=ProductKind.UPLOAD, active=True).exists()
        ),
    }
