from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from register.audit_admin import ActionLogInline
from register.desk import (
    blocked_number_change_by_staff,
    blocked_numbers_unblock_by_staff,
    number_block_by_staff,
    staff_api_key_revoke,
)
from register.forms import ChangeCategoriesForm, DeskBlockForm, DeskUnblockForm
from register.models import (
    BlockedNumber,
    BlockRequest,
    Channel,
    EventAction,
    Register,
    RegisterEvent,
    RegisterHost,
    RegisterImport,
    StaffApiKey,
)
from register.phone import format_international, normalise


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

    # The service desk acts for a caller on the phone (SPEC §5): register, change, unblock, each
    # through the services every channel uses, so the rules and the history are the web's.

    def has_add_permission(self, request):
        return request.user.has_perm("register.add_blockednumber")

    def get_urls(self):
        return [
            path(
                "<path:object_id>/phone-change/",
                self.admin_site.admin_view(self.desk_change_view),
                name="register_blockednumber_phone_change",
            ),
            path(
                "<path:object_id>/phone-unblock/",
                self.admin_site.admin_view(self.desk_unblock_view),
                name="register_blockednumber_phone_unblock",
            ),
            *super().get_urls(),
        ]

    def _desk_page(self, request, form, *, title, help_text, submit_label, cancel_url):
        return TemplateResponse(
            request,
            "admin/register/blockednumber/desk_form.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "help": help_text,
                "form": form,
                "submit_label": submit_label,
                "cancel_url": cancel_url,
            },
        )

    def _number_url(self, number: int) -> str:
        return reverse("admin:register_blockednumber_change", args=[number])

    def add_view(self, request, form_url="", extra_context=None):
        """Registers a caller's number: channel phone, dated today, at once (the desk knows
        who is on the line; there is no link to confirm)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        register = request.register
        form = DeskBlockForm(
            request.POST or None, register=register, language=request.LANGUAGE_CODE
        )
        if request.method == "POST" and form.is_valid():
            number = form.cleaned_data["number"]
            outcome = number_block_by_staff(
                register=register,
                number=number,
                categories=form.chosen_categories(),
                email=form.cleaned_data["email"],
                actor=request.user,
                channel=Channel.PHONE,
            )
            shown = format_international(number)
            if number in outcome.blocked:
                message = _("%(number)s is registered.") % {"number": shown}
            elif number in outcome.widened:
                message = _("%(number)s was registered already; the categories were added.") % {
                    "number": shown
                }
            else:
                message = _("%(number)s was registered already for these categories.") % {
                    "number": shown
                }
            self.message_user(request, message, messages.SUCCESS)
            return redirect(self._number_url(number))
        return self._desk_page(
            request,
            form,
            title=_("Register a caller's number"),
            help_text=_(
                "For a person on the phone: the number is registered at once, channel phone."
            ),
            submit_label=_("Register"),
            cancel_url=reverse("admin:register_blockednumber_changelist"),
        )

    def _desk_object(self, request, object_id) -> BlockedNumber:
        blocked = self.get_object(request, object_id)
        if blocked is None:
            raise Http404
        return blocked

    def desk_change_view(self, request, object_id):
        if not request.user.has_perm("register.change_blockednumber"):
            raise PermissionDenied
        blocked = self._desk_object(request, object_id)
        register = request.register
        if not register.has_categories:
            raise Http404
        form = ChangeCategoriesForm(
            request.POST or None,
            register=register,
            language=request.LANGUAGE_CODE,
            current=blocked.category_codes,
        )
        if request.method == "POST" and form.is_valid():
            blocked_number_change_by_staff(
                register=register,
                number=blocked.number,
                categories=form.chosen_categories(),
                actor=request.user,
                channel=Channel.PHONE,
            )
            self.message_user(request, _("The categories are changed."), messages.SUCCESS)
            return redirect(self._number_url(blocked.number))
        return self._desk_page(
            request,
            form,
            title=_("Change the categories of %(number)s") % {"number": blocked},
            help_text=_("For the caller on the phone; recorded with channel phone."),
            submit_label=_("Change"),
            cancel_url=self._number_url(blocked.number),
        )

    def desk_unblock_view(self, request, object_id):
        if not self.has_unblock_permission(request):
            raise PermissionDenied
        blocked = self._desk_object(request, object_id)
        form = DeskUnblockForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            blocked_numbers_unblock_by_staff(
                register=request.register,
                numbers=[blocked.number],
                actor=request.user,
                channel=Channel.PHONE,
            )
            self.message_user(
                request, _("%(number)s is unblocked.") % {"number": blocked}, messages.SUCCESS
            )
            return redirect("admin:register_blockednumber_changelist")
        return self._desk_page(
            request,
            form,
            title=_("Unblock %(number)s") % {"number": blocked},
            help_text=_("For the caller on the phone; recorded with channel phone."),
            submit_label=_("Unblock"),
            cancel_url=self._number_url(blocked.number),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if request.user.has_perm("register.change_blockednumber") and (
            request.register.has_categories
        ):
            extra_context["desk_change_url"] = reverse(
                "admin:register_blockednumber_phone_change", args=[object_id]
            )
        if self.has_unblock_permission(request):
            extra_context["desk_unblock_url"] = reverse(
                "admin:register_blockednumber_phone_unblock", args=[object_id]
            )
        return super().change_view(request, object_id, form_url, extra_context)

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


@admin.register(StaffApiKey)
class StaffApiKeyAdmin(ReadOnlyAdmin):
    """Keys of the operator's own systems (the IVR); made with `create_staff_api_key`, shown
    once. Superusers only: a key acts with its user's role."""

    list_display = ["name", "prefix", "user", "created_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for staff_key in queryset:
            staff_api_key_revoke(staff_key=staff_key, actor=request.user)
        self.message_user(request, _("Revoked."), messages.SUCCESS)


from register import audit_admin  # noqa: E402, F401  the action log's admin, beside the register's
