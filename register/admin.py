from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from register.audit_admin import ActionLogInline
from register.models import (
    BlockedNumber,
    BlockRequest,
    Channel,
    EventAction,
    Register,
    RegisterEvent,
    RegisterHost,
    RegisterImport,
)
from register.phone import format_international, normalise
from register.services import blocked_numbers_unblock_by_staff


class RegisterHostFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if kept and sum(bool(data.get("primary")) for data in kept) != 1:
            raise ValidationError(_("Mark exactly one host name as primary."))


class RegisterHostInline(admin.TabularInline):
    """Which register a host serves decides whose data it shows: superusers only change it."""

    model = RegisterHost
    formset = RegisterHostFormSet
    fields = ["hostname", "primary"]
    extra = 0
    min_num = 1
    validate_min = True

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return True


@admin.register(Register)
class RegisterAdmin(admin.ModelAdmin):
    """Register staff may see (and, with the permission, change) the settings of the host's
    register; who its staff are and which hosts it answers on, superusers decide."""

    list_display = ["name", "slug", "operator", "country", "time_zone", "host_names"]
    filter_horizontal = ["staff"]
    inlines = [RegisterHostInline]

    def get_queryset(self, request):
        registers = super().get_queryset(request).prefetch_related("hosts")
        if request.user.is_superuser:
            return registers
        return registers.filter(pk=request.register.pk)

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return []
        return ["staff"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "staff":
            # Only staff can log in to the admin: the list stays short and leaks no customers.
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("host names"))
    def host_names(self, obj):
        return ", ".join(obj.hostnames)


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
    readonly_fields = ["history"]
    show_full_result_count = False
    # Deleting is not offered: the unblock action writes the history.
    actions = ["unblock"]
    inlines = [ActionLogInline]

    @admin.action(
        description=_("Unblock on the consumer's request (service desk)"),
        permissions=["unblock"],
    )
    def unblock(self, request, queryset):
        # The admin log is the audit trail of who removed what (SPEC §17).
        self.log_deletions(request, queryset)
        removed = blocked_numbers_unblock_by_staff(
            register=request.register,
            numbers=list(queryset.values_list("number", flat=True)),
            actor=request.user,
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

    @admin.display(description=_("history"))
    def history(self, obj):
        """Every change to the number, oldest first: a block its import still holds (see
        RegisterImport) comes before the events written since."""
        changes = [
            (event.occurred_at, event.get_action_display(), event.get_channel_display())
            for event in RegisterEvent.objects.filter(
                register=obj.register, number=obj.number
            ).order_by("occurred_at", "id")
        ]
        if obj.imported_in is not None:
            changes.insert(
                0,
                (
                    obj.imported_in.occurred_at,
                    EventAction.BLOCK.label,
                    Channel.IMPORT.label,
                ),
            )
        return format_html_join(
            "\n",
            "<div>{} {} ({})</div>",
            (
                (f"{timezone.localtime(at):%Y-%m-%d %H:%M}", action, channel)
                for at, action, channel in changes
            ),
        )


@admin.register(RegisterImport)
class RegisterImportAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "file_name", "imported_by", "loaded", "skipped"]
    show_full_result_count = False


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


from register import audit_admin  # noqa: E402, F401  the action log's admin, beside the register's
