from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from campaigns.models import CallFile, Campaign
from register.admin import ReadOnlyAdmin


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Campaigns are the companies' own: staff look, and correct a name when asked."""

    list_display = [
        "name",
        "company",
        "purpose",
        "service_provider",
        "provider_status",
        "created_at",
    ]
    list_filter = ["purpose", "provider_status"]
    search_fields = ["name", "company__name", "service_provider__name"]
    list_select_related = ["company", "service_provider"]
    fields = ["name", "company", "purpose", "service_provider", "provider_status", "created_at"]
    readonly_fields = ["company", "purpose", "service_provider", "provider_status", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CallFile)
class CallFileAdmin(ReadOnlyAdmin):
    """Scrubs are records of what a company did and proof of it: staff read, never change."""

    list_display = [
        "filename",
        "company",
        "campaign",
        "status",
        "rows_total",
        "credits_charged",
        "valid_until",
        "created_at",
    ]
    list_filter = ["status", "kind", "created_at"]
    search_fields = ["filename", "sha256", "company__name", "campaign__name"]
    list_select_related = ["company", "campaign"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["company", "campaign", "uploaded_by", "filename", "sha256", "size"]}),
        (
            _("How the file is read"),
            {
                "fields": [
                    "kind",
                    "encoding",
                    "delimiter",
                    "has_header",
                    "phone_column",
                    "opt_in_column",
                    "leave_out_duplicates",
                ]
            },
        ),
        (
            _("Outcome"),
            {
                "fields": [
                    "status",
                    "progress",
                    "error_code",
                    "error_message",
                    "rows_total",
                    "rows_blocked",
                    "rows_callable",
                    "rows_invalid",
                    "rows_out_of_scope",
                    "rows_left_out",
                    "credits_charged",
                    "register_as_of",
                    "valid_until",
                    "certificate",
                ]
            },
        ),
        (
            _("Times"),
            {"fields": ["created_at", "started_at", "finished_at", "files_deleted_at"]},
        ),
    ]
