"""The staff admin: one register at a time, the one whose host serves it (SPEC §3)."""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.db.models.base import ModelBase
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def is_register_staff(user, register) -> bool:
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    return register is not None and user.staffed_registers.filter(pk=register.pk).exists()


class MissingObjectIsNotFound:
    """Another register's object (or none at all) is a 404, as everywhere else (SPEC §3), rather
    than Django's redirect to the index saying it does not exist."""

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django's one hook for a change, history or delete page whose object is not found.
        raise Http404(f"No {opts.model_name} {object_id!r} in this register.")


class SuperusersOnly:
    """Rows of no register (users, groups, e-mail addresses, second factors, task schedules):
    whoever edits them acts in every register, so register staff do not see them at all."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


SUPERUSERS_ONLY_APPS = frozenset({"auth", "account", "mfa", "socialaccount", "django_celery_beat"})


class RegisterAdminSite(admin.AdminSite):
    """Admin scoped by the request's register: staff of `nl` cannot open `be`'s admin.

    The register middleware has already scoped every register-owned queryset to the host's
    register, so the model admins need no filtering of their own.
    """

    site_title = _("Register administration")
    index_title = _("Administration")

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every model admin answers 404 for a missing object; those of apps that belong to no
        register answer superusers only, whichever app registers them."""
        admin_class = admin_class or admin.ModelAdmin
        if isinstance(model_or_iterable, ModelBase):
            model_or_iterable = [model_or_iterable]
        for model in model_or_iterable:
            mixins = (MissingObjectIsNotFound,)
            if model._meta.app_label in SUPERUSERS_ONLY_APPS:
                mixins = (SuperusersOnly, *mixins)
            wrapped = type(
                admin_class.__name__, (*mixins, admin_class), {"__module__": admin_class.__module__}
            )
            super().register(model, wrapped, **options)

    def has_permission(self, request):
        return is_register_staff(request.user, getattr(request, "register", None))

    def login(self, request, extra_context=None):
        """No login form of the admin's own: staff log in through the portal's (allauth's),
        which is throttled per account and per client and asks for the second factor."""
        if request.user.is_authenticated:
            # Logged in but not staff of this register: sending them to the login page would
            # bring them straight back here.
            raise PermissionDenied
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse(
            "admin:index", current_app=self.name
        )
        query = urlencode({REDIRECT_FIELD_NAME: next_url})
        return redirect(f"{reverse('account_login')}?{query}")

    def admin_view(self, view, cacheable=False):
        """With STAFF_MFA_REQUIRED, staff without an authenticator set one up first."""
        # Imported here: this module is loaded with the app registry, before allauth's models.
        from allauth.mfa.utils import is_mfa_enabled

        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def guarded(request, *args, **kwargs):
            if (
                settings.STAFF_MFA_REQUIRED
                and self.has_permission(request)
                and not is_mfa_enabled(request.user)
            ):
                return redirect("mfa_activate_totp")
            return inner(request, *args, **kwargs)

        return guarded

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
