from django.contrib import admin

from campaigns.models import Campaign


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
