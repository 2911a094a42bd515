from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from register.models import BlockedNumber, BlockRequest, Register, RegisterEvent
from register.phone import format_international, normalise
from register.services import blocked_numbers_unblock_by_staff


@admin.register(Register)
class RegisterAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "operator", "country", "time_zone"]
    filter_horizontal = ["staff"]

    def get_queryset(self, request):
        registers = super().get_queryset(request)
        if request.user.is_superuser:
            return registers
        return registers.filter(staff=request.user)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False


class NumberSearchMixin:
    """Searching by number accepts any way of writing it (0612345678, +31 6 …)."""

    search_fields = ["number"]
    search_help_text = _("Search by telephone number, written any way.")

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        normalised = normalise(search_term, request.register.country)
        if normalised.number is None:
            return queryset.none(), False
        return queryset.filter(number=normalised.number), False


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and state change only through services, so every change leaves its event."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BlockedNumber)
class BlockedNumberAdmin(NumberSearchMixin, ReadOnlyAdmin):
    list_display = ["international_number", "category_list", "registered_on", "channel"]
    list_filter = ["channel", "registered_on"]
    exclude = ["email"]
    show_full_result_count = False
    # Deleting is not offered: the unblock action writes the history.
    actions = ["unblock"]

    @admin.action(
        description=_("Unblock on the consumer's request (service desk)"),
        permissions=["unblock"],
    )
    def unblock(self, request, queryset):
        # The admin log is the audit trail of who removed what (SPEC §17).
        self.log_deletions(request, queryset)
        removed = blocked_numbers_unblock_by_staff(
            register=request.register, numbers=list(queryset.values_list("number", flat=True))
        )
        self.message_user(
            request,
            ngettext("%(count)d number unblocked.", "%(count)d numbers unblocked.", removed)
            % {"count": removed},
            messages.SUCCESS,
        )

    def has_unblock_permission(self, request):
        return request.user.has_perm("register.delete_blockednumber")

    @admin.display(description=_("number"), ordering="number")
    def international_number(self, obj):
        return format_international(obj.number)

    @admin.display(description=_("categories"))
    def category_list(self, obj):
        if not obj.register.has_categories or obj.categories == -1:
            return _("all")
        return ", ".join(obj.category_codes)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("register")


@admin.register(RegisterEvent)
class RegisterEventAdmin(NumberSearchMixin, ReadOnlyAdmin):
    list_display = ["international_number", "action", "channel", "occurred_at"]
    list_filter = ["action", "channel"]
    show_full_result_count = False

    @admin.display(description=_("number"), ordering="number")
    def international_number(self, obj):
        return format_international(obj.number)


@admin.register(BlockRequest)
class BlockRequestAdmin(ReadOnlyAdmin):
    list_display = ["email", "created_at", "expires_at", "confirmed_at"]
    list_filter = ["confirmed_at"]
    exclude = ["token_hash"]
