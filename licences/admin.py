"""Staff admin of companies, the catalogue, licences, credits and API keys (SPEC §3, §7).

Querysets are already scoped to the host's register by the middleware; rows added here get that
register. Money and access changes go through the services, never through raw edits.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from licences.models import (
    ApiKey,
    Company,
    CreditAccount,
    CreditEntry,
    Licence,
    LicenceProduct,
    Membership,
    UploadLicenceRequest,
    UploadLicenceRequestStatus,
)
from licences.selectors import cancellation_deadline
from licences.services import (
    api_key_revoke,
    licence_cancel,
    upload_licence_decline,
    upload_licence_grant,
)
from register.admin import ReadOnlyAdmin
from register.audit import log_action
from register.audit_admin import ActionLogInline
from register.errors import DomainError


class RegisterOwnedAdmin(admin.ModelAdmin):
    """Hides the register field and fills it with the register of the admin's host."""

    exclude = ["register"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        register = request.register

        class WithRegister(form):
            """The model's checks of a new object need its register (e.g. a company's chamber
            of commerce number, unique in it)."""

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                if self.instance.register_id is None:
                    self.instance.register = register

        return WithRegister

    def save_model(self, request, obj, form, change):
        if not change:
            obj.register = request.register
        super().save_model(request, obj, form, change)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Company)
class CompanyAdmin(RegisterOwnedAdmin):
    list_display = [
        "name",
        "company_type",
        "employee_band",
        "chamber_number",
        "city",
        "phone",
        "created_at",
    ]
    list_filter = ["company_type", "employee_band"]
    search_fields = ["name", "chamber_number", "vat_id", "billing_email"]
    inlines = [MembershipInline, ActionLogInline]

    # Staff edit companies and members here as forms, not through the services: the log entries
    # are written beside the saves, inside the admin's transaction.

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and not form.changed_data:
            return
        log_action(
            register=obj.register,
            actor=request.user,
            action="company.changed" if change else "company.created",
            target=obj,
            data={
                "changed": {
                    field: {"from": form.initial.get(field), "to": form.cleaned_data.get(field)}
                    for field in form.changed_data
                }
            },
        )

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is not Membership:
            return
        company = form.instance
        for member_form in formset.forms:
            role_before = member_form.initial.get("role")
            if member_form in formset.deleted_forms:
                action, data = "member.removed", {"role": role_before}
            elif not member_form.has_changed():
                continue
            elif member_form not in formset.initial_forms or "user" in member_form.changed_data:
                action, data = "member.added", {"role": member_form.cleaned_data["role"]}
            elif "role" in member_form.changed_data:
                action = "member.role_changed"
                data = {"from": role_before, "to": member_form.cleaned_data["role"]}
            else:
                continue
            log_action(
                register=company.register,
                actor=request.user,
                action=action,
                target=company,
                data={"email": member_form.instance.user.email, **data},
            )


@admin.register(LicenceProduct)
class LicenceProductAdmin(RegisterOwnedAdmin):
    list_display = [
        "code",
        "kind",
        "price",
        "credits",
        "term",
        "company_type",
        "employee_band",
        "renews",
        "active",
        "for_sale",
        "position",
    ]
    list_filter = ["kind", "term", "active", "for_sale"]
    list_editable = ["active", "position"]

    def has_delete_permission(self, request, obj=None):
        # Licences and invoices refer to products: retire one by taking it off sale.
        return False


@admin.register(Licence)
class LicenceAdmin(ReadOnlyAdmin):
    """Licences come from paid orders, grants (`grant_licence`) and renewals; staff cancel here.
    Filter by source "tacit renewal" for the renewals; "renewal of" links each to its period."""

    list_display = [
        "company",
        "product",
        "campaign",
        "status",
        "source",
        "starts_on",
        "ends_on",
        "renews",
        "cancel_by",
        "renewal_of",
    ]
    list_filter = ["status", "product", "source", "renews"]
    search_fields = ["company__name", "reference"]
    list_select_related = ["company", "product", "campaign", "renewal_of"]
    date_hierarchy = "starts_on"
    actions = ["cancel_licences"]
    inlines = [ActionLogInline]

    @admin.display(description=_("cancel at the latest on"))
    def cancel_by(self, obj):
        return cancellation_deadline(obj)

    def has_cancel_permission(self, request):
        # The admin is read-only (licences change through services), so the action asks for
        # the model's change permission itself: viewing licences is not enough to cancel one.
        return request.user.has_perm("licences.change_licence")

    @admin.action(
        description=_("Cancel: stop the renewal (usable until the end date)"),
        permissions=["cancel"],
    )
    def cancel_licences(self, request, queryset):
        for licence in queryset:
            try:
                licence_cancel(licence=licence, actor=request.user)
            except DomainError as error:
                self.message_user(request, f"{licence}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, _("%(licence)s cancelled.") % {"licence": licence})


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "company", "balance"]
    search_fields = ["company__name", "campaign__name"]
    list_select_related = ["campaign", "company"]


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    """Append-only: a correction is a new entry, written by a service."""

    list_display = ["created_at", "account", "delta", "balance_after", "reason", "reference"]
    list_filter = ["reason"]
    search_fields = ["reference", "account__campaign__name", "account__company__name"]
    list_select_related = ["account__campaign"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["name", "prefix", "company", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "company__name"]
    exclude = ["key_hash"]
    actions = ["revoke"]
    inlines = [ActionLogInline]

    def has_revoke_permission(self, request):
        return request.user.has_perm("licences.change_apikey")

    @admin.action(description=_("Revoke the selected keys"), permissions=["revoke"])
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_key_revoke(api_key=api_key, actor=request.user)
        count = len(queryset)
        self.message_user(
            request,
            ngettext("%(count)d key revoked.", "%(count)d keys revoked.", count) % {"count": count},
        )


@admin.register(UploadLicenceRequest)
class UploadLicenceRequestAdmin(ReadOnlyAdmin):
    """Companies ask for the upload licence in the portal; staff grant or decline it here
    (SPEC §11). Granting creates the licence through `upload_licence_grant`, recording who."""

    list_display = [
        "company",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "licence",
    ]
    list_filter = ["status"]
    search_fields = ["company__name", "requested_by__email"]
    list_select_related = ["company", "requested_by", "decided_by", "licence"]
    inlines = [ActionLogInline]
    actions = ["grant", "decline"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("register")

    def _decide(self, request, queryset, decide, done_message):
        for licence_request in queryset.filter(status=UploadLicenceRequestStatus.PENDING):
            try:
                decide(licence_request)
            except DomainError as error:
                self.message_user(request, f"{licence_request}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, done_message % {"company": licence_request.company})

    @admin.action(description=_("Grant the upload licence"), permissions=["decide"])
    def grant(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda licence_request: upload_licence_grant(
                licence_request=licence_request, granted_by=request.user
            ),
            _("%(company)s now holds the upload licence."),
        )

    @admin.action(description=_("Decline the request"), permissions=["decide"])
    def decline(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda licence_request: upload_licence_decline(
                licence_request=licence_request, declined_by=request.user
            ),
            _("The request of %(company)s is declined."),
        )

    def has_decide_permission(self, request):
        return request.user.has_perm("licences.change_uploadlicencerequest")
