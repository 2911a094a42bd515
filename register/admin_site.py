"""The staff admin: one register at a time, the one whose host serves it (SPEC §3)."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


def is_register_staff(user, register) -> bool:
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    return register is not None and user.staffed_registers.filter(pk=register.pk).exists()


class RegisterAdminSite(admin.AdminSite):
    """Admin scoped by the request's register: staff of `nl` cannot open `be`'s admin.

    The register middleware has already scoped every register-owned queryset to the host's
    register, so the model admins need no filtering of their own.
    """

    site_title = _("Register administration")
    index_title = _("Administration")

    def has_permission(self, request):
        return is_register_staff(request.user, getattr(request, "register", None))

    def each_context(self, request):
        context = super().each_context(request)
        register = getattr(request, "register", None)
        if register is not None:
            context["site_header"] = _("%(register)s — administration") % {
                "register": register.name
            }
        return context


class RegisterAdminConfig(AdminConfig):
    default_site = "register.admin_site.RegisterAdminSite"
