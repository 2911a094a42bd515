"""Registration files in the staff admin (SPEC §11): per company with their counts, and how
often each company delivers late. Files and reports are written by the processing only; staff
with the revert permission can revert a processed file."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from register.admin import ReadOnlyAdmin
from register.audit_admin import ActionLogInline
from register.errors import DomainError
from uploads.models import RegistrationFile, RegistrationRow
from uploads.selectors import lateness_per_company
from uploads.services import LEGAL_TERM_WORKING_DAYS, registration_file_revert


class LateFilter(admin.SimpleListFilter):
    title = _("late rows")
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [("yes", _("with late rows")), ("no", _("none late"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(late__gt=0)
        if self.value() == "no":
            return queryset.filter(late=0)
        return queryset


class RegistrationRowInline(admin.TabularInline):
    model = RegistrationRow
    fields = ["line", "number", "reason", "requested_on"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RegistrationFile)
class RegistrationFileAdmin(ReadOnlyAdmin):
    list_display = [
        "filename",
        "company",
        "created_at",
        "status",
        "rows_total",
        "registered",
        "already_registered",
        "invalid",
        "late",
        "reverted_at",
    ]
    list_filter = ["status", LateFilter, ("company", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["filename", "company__name", "sha256"]
    list_select_related = ["company"]
    date_hierarchy = "created_at"
    exclude = ["file", "register"]
    inlines = [RegistrationRowInline, ActionLogInline]
    change_list_template = "admin/uploads/registrationfile/change_list.html"
    actions = ["revert"]

    @admin.action(
        description=_("Revert: unblock what the file registered, where nothing happened since"),
        permissions=["revert"],
    )
    def revert(self, request, queryset):
        for registration_file in queryset:
            try:
                reverted = registration_file_revert(
                    file_id=registration_file.pk, reverted_by=request.user
                )
            except DomainError as error:
                self.message_user(request, f"{registration_file}: {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _(
                        "%(file)s reverted: %(reverted)d numbers undone, %(kept)d kept because "
                        "they had another act since."
                    )
                    % {
                        "file": reverted,
                        "reverted": reverted.reverted_numbers,
                        "kept": reverted.revert_kept,
                    },
                    messages.SUCCESS,
                )

    def has_revert_permission(self, request):
        return request.user.has_perm("uploads.revert_registrationfile")

    def get_urls(self):
        return [
            path(
                "lateness/",
                self.admin_site.admin_view(self.lateness_view),
                name="uploads_registrationfile_lateness",
            ),
            *super().get_urls(),
        ]

    def lateness_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = reverse("admin:uploads_registrationfile_changelist")
        companies = [
            {
                **company,
                "rows": company["rows"] or 0,
                "late_rows": company["late_rows"] or 0,
                "files_url": f"{changelist}?company__id__exact={company['company_id']}",
                "late_files_url": (
                    f"{changelist}?company__id__exact={company['company_id']}&late=yes"
                ),
            }
            for company in lateness_per_company()
        ]
        return TemplateResponse(
            request,
            "admin/uploads/registrationfile/lateness.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Late registrations per company"),
                "companies": companies,
                "term_days": LEGAL_TERM_WORKING_DAYS,
            },
        )
