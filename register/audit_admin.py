"""The action log in the admin: the register's log with a CSV export by period, and an inline
that shows each object's own log on its page (SPEC §17)."""

from django import forms
from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from register.audit import action_log_csv_rows, actions_in_period
from register.models import ActionLog

SHOWN = ["at", "actor_label", "action", "object_repr", "data"]


class ActionLogInline(GenericTabularInline):
    """An object's log, newest first, at the foot of its admin page."""

    model = ActionLog
    ct_field = "content_type"
    ct_fk_field = "object_id"
    fields = ["at", "actor_label", "action", "data"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("action log")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Only shown, never submitted: leaving the inline out of a POST keeps the parent's form
        # valid without the inline's management form (a form posted by a script or a test, or
        # re-rendered after an error, shows no log).
        if request.method != "GET":
            return False
        return super().has_view_permission(request, obj)


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("from"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("until"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The period ends before it starts."))
        return data


@admin.register(ActionLog)
class ActionLogAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_label", "action", "object_repr"]
    list_filter = ["action"]
    search_fields = ["actor_label", "object_repr", "object_id"]
    date_hierarchy = "at"
    change_list_template = "admin/register/actionlog/change_list.html"
    readonly_fields = [*SHOWN, "content_type", "object_id"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        return [path("export/", export, name="register_actionlog_export"), *super().get_urls()]

    def export_view(self, request):
        """GET: the period form; with a valid period, the period's log as a CSV download."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = request.register.today()
        form = PeriodForm(
            request.GET or None,
            initial={"start": today.replace(day=1), "end": today},
        )
        if form.is_valid():
            entries = actions_in_period(
                register=request.register,
                start=form.cleaned_data["start"],
                end=form.cleaned_data["end"],
            )
            name = f"action-log-{request.register.slug}-{form.cleaned_data['start']}.csv"
            response = StreamingHttpResponse(
                action_log_csv_rows(entries), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Export the action log"),
        }
        return TemplateResponse(request, "admin/register/actionlog/export.html", context)
